package emv

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Downloaded is the set of CA public keys the acquirer last sent the
// terminal (the CUP CA public key download, network codes 370 to 372). It
// is kept durably beside the configuration files and joins them: a key
// with the RID and index of a file key replaces it.
type Downloaded struct {
	CAKeys []CAPK
}

// downloadedFile is the form on disk: the keys as the configuration files
// write them, so that loading checks them the same way.
type downloadedFile struct {
	CAKeys []capkJSON `json:"ca_keys"`
}

type capkJSON struct {
	RID      string `json:"rid"`
	Index    string `json:"index"`
	Modulus  string `json:"modulus"`
	Exponent string `json:"exponent"`
	SHA1     string `json:"sha1"`
	Expiry   string `json:"expiry,omitempty"` // YYYY-MM-DD
	Kind     string `json:"kind"`
	Scheme   string `json:"scheme,omitempty"`
}

// ErrDownloaded reports a downloaded set that cannot be used: a key whose
// checksum does not match, or a damaged file.
var ErrDownloaded = errors.New("emv: downloaded parameters unusable")

// LoadDownloaded reads the downloaded set at path; no file is an empty
// set. Every key's checksum is verified.
func LoadDownloaded(path string) (Downloaded, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Downloaded{}, nil
	}
	if err != nil {
		return Downloaded{}, fmt.Errorf("emv: downloaded: %w", err)
	}
	var f downloadedFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return Downloaded{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
	}
	var d Downloaded
	for _, e := range f.CAKeys {
		k, err := capkEntry{RID: e.RID, Index: e.Index, Modulus: e.Modulus, Exponent: e.Exponent, SHA1: e.SHA1,
			Expiry: e.Expiry, Kind: e.Kind, Scheme: e.Scheme}.key()
		if err != nil {
			return Downloaded{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
		}
		if k.ComputeChecksum() != k.Checksum {
			return Downloaded{}, fmt.Errorf("%w: capk %X/%02X: %w", ErrDownloaded, k.RID, k.Index, ErrCAPKChecksum)
		}
		d.CAKeys = append(d.CAKeys, k)
	}
	return d, nil
}

// SaveDownloaded replaces the downloaded set at path as a whole: every key
// is checked first, then the set is written to a temporary file beside
// path, synced, and renamed over it, and the directory synced. Until the
// rename the old set stays complete; a power cut never leaves half a set.
func SaveDownloaded(path string, d Downloaded) error {
	var f downloadedFile
	for _, k := range d.CAKeys {
		if k.ComputeChecksum() != k.Checksum {
			return fmt.Errorf("%w: capk %X/%02X: %w", ErrDownloaded, k.RID, k.Index, ErrCAPKChecksum)
		}
		e := capkJSON{RID: strings.ToUpper(hex.EncodeToString(k.RID[:])), Index: fmt.Sprintf("%02X", k.Index),
			Modulus: strings.ToUpper(hex.EncodeToString(k.Modulus)), Exponent: strings.ToUpper(hex.EncodeToString(k.Exponent)),
			SHA1: strings.ToUpper(hex.EncodeToString(k.Checksum[:])), Kind: "live", Scheme: k.Scheme}
		if k.Test {
			e.Kind = "test"
		}
		if !k.Expiry.IsZero() {
			e.Expiry = k.Expiry.Format("2006-01-02")
		}
		f.CAKeys = append(f.CAKeys, e)
	}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; removes a failed attempt
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("emv: downloaded: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the rename itself reaches the disk
		d.Close()
	}
	return nil
}

// WithDownloaded returns a copy of c whose CA key store holds the file
// keys and the downloaded ones, a downloaded key replacing a file key with
// the same RID and index. c itself is left as it was.
func (c Config) WithDownloaded(d Downloaded) (Config, error) {
	store := NewCAPKStore()
	replaced := map[capkID]bool{}
	for _, k := range d.CAKeys {
		replaced[capkID{k.RID, k.Index}] = true
		if err := store.Add(k); err != nil {
			return Config{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
		}
	}
	for _, k := range c.CAPKs.List() {
		if replaced[capkID{k.RID, k.Index}] {
			continue
		}
		if err := store.Add(k); err != nil {
			return Config{}, err
		}
	}
	out := c
	out.CAPKs = store
	return out, nil
}
