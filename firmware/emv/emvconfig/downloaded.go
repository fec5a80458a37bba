package emvconfig

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/tlv"
)

// Downloaded is what the acquirer last sent the terminal for its kernel:
// the CA public keys (the CUP CA public key download, network codes 370 to
// 372) and the IC card parameters of each application (380 to 382). It is
// kept durably beside the configuration files and joins them: a key with
// the RID and index of a file key replaces it; an application's parameters
// replace those of the file's application with the same AID, or add one.
// Each download replaces its own half; SaveDownloaded writes both halves
// as given.
type Downloaded struct {
	CAKeys []capk.Key
	AIDs   []DownloadedAID
}

// DownloadedAID is one application's IC card parameters as downloaded.
// Amounts are in minor units.
type DownloadedAID struct {
	AID                                  []byte
	Partial                              bool
	Version                              [2]byte
	TACDefault, TACOnline, TACDenial     [5]byte
	FloorLimit, RandomThreshold          int64
	RandomTarget, RandomMax              int
	DDOL                                 []byte // raw DOL
	CLFloorLimit, CLTxnLimit, CLCVMLimit int64
}

// downloadedFile is the form on disk: the keys as the configuration files
// write them, so that loading checks them the same way.
type downloadedFile struct {
	CAKeys []capkJSON `json:"ca_keys"`
	AIDs   []aidJSON  `json:"aids,omitempty"`
}

type aidJSON struct {
	AID             string `json:"aid"`
	Partial         bool   `json:"partial,omitempty"`
	Version         string `json:"version"`
	TACDefault      string `json:"tac_default"`
	TACOnline       string `json:"tac_online"`
	TACDenial       string `json:"tac_denial"`
	FloorLimit      int64  `json:"floor_limit"`
	RandomThreshold int64  `json:"random_threshold,omitempty"`
	RandomTarget    int    `json:"random_target_percent,omitempty"`
	RandomMax       int    `json:"random_max_percent,omitempty"`
	DDOL            string `json:"default_ddol,omitempty"`
	CLFloorLimit    int64  `json:"cl_floor_limit"`
	CLTxnLimit      int64  `json:"cl_txn_limit"`
	CLCVMLimit      int64  `json:"cl_cvm_limit"`
}

// check refuses parameters the kernel cannot use.
func (a DownloadedAID) check() error {
	if len(a.AID) < 5 || len(a.AID) > 16 {
		return fmt.Errorf("%w: AID of %d bytes", ErrDownloaded, len(a.AID))
	}
	if a.RandomTarget < 0 || a.RandomTarget > 99 || a.RandomMax < a.RandomTarget || a.RandomMax > 99 ||
		a.FloorLimit < 0 || a.RandomThreshold < 0 || a.CLFloorLimit < 0 || a.CLTxnLimit < 0 || a.CLCVMLimit < 0 {
		return fmt.Errorf("%w: aid %X: limits out of range", ErrDownloaded, a.AID)
	}
	if _, err := tlv.ParseDOL(a.DDOL); err != nil {
		return fmt.Errorf("%w: aid %X: default DDOL: %w", ErrDownloaded, a.AID, err)
	}
	return nil
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
	// Algorithm is "sm2" for an SM2 key (JR/T 0025), absent for RSA.
	Algorithm string `json:"algorithm,omitempty"`
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
			Expiry: e.Expiry, Kind: e.Kind, Scheme: e.Scheme, Alg: e.Algorithm}.key()
		if err != nil {
			return Downloaded{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
		}
		if k.ComputeChecksum() != k.Checksum {
			return Downloaded{}, fmt.Errorf("%w: capk %X/%02X: %w", ErrDownloaded, k.RID, k.Index, capk.ErrChecksum)
		}
		d.CAKeys = append(d.CAKeys, k)
	}
	for _, e := range f.AIDs {
		var a DownloadedAID
		var err error
		if a.AID, err = hex.DecodeString(e.AID); err != nil {
			return Downloaded{}, fmt.Errorf("%w: aid %q", ErrDownloaded, e.AID)
		}
		for _, x := range []struct {
			dst []byte
			s   string
		}{{a.Version[:], e.Version}, {a.TACDefault[:], e.TACDefault}, {a.TACOnline[:], e.TACOnline}, {a.TACDenial[:], e.TACDenial}} {
			if err := hexInto(x.dst, x.s, "aid "+e.AID); err != nil {
				return Downloaded{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
			}
		}
		if a.DDOL, err = hex.DecodeString(e.DDOL); err != nil {
			return Downloaded{}, fmt.Errorf("%w: aid %s: default DDOL", ErrDownloaded, e.AID)
		}
		a.Partial, a.FloorLimit, a.RandomThreshold, a.RandomTarget, a.RandomMax = e.Partial, e.FloorLimit, e.RandomThreshold, e.RandomTarget, e.RandomMax
		a.CLFloorLimit, a.CLTxnLimit, a.CLCVMLimit = e.CLFloorLimit, e.CLTxnLimit, e.CLCVMLimit
		if err := a.check(); err != nil {
			return Downloaded{}, err
		}
		d.AIDs = append(d.AIDs, a)
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
			return fmt.Errorf("%w: capk %X/%02X: %w", ErrDownloaded, k.RID, k.Index, capk.ErrChecksum)
		}
		e := capkJSON{RID: strings.ToUpper(hex.EncodeToString(k.RID[:])), Index: fmt.Sprintf("%02X", k.Index),
			Modulus: strings.ToUpper(hex.EncodeToString(k.Modulus)), Exponent: strings.ToUpper(hex.EncodeToString(k.Exponent)),
			SHA1: strings.ToUpper(hex.EncodeToString(k.Checksum[:])), Kind: "live", Scheme: k.Scheme}
		if k.Test {
			e.Kind = "test"
		}
		if k.Algorithm == capk.AlgSM2 {
			e.Algorithm = "sm2"
		}
		if !k.Expiry.IsZero() {
			e.Expiry = k.Expiry.Format("2006-01-02")
		}
		f.CAKeys = append(f.CAKeys, e)
	}
	for _, a := range d.AIDs {
		if err := a.check(); err != nil {
			return err
		}
		f.AIDs = append(f.AIDs, aidJSON{AID: fmt.Sprintf("%X", a.AID), Partial: a.Partial, Version: fmt.Sprintf("%X", a.Version),
			TACDefault: fmt.Sprintf("%X", a.TACDefault), TACOnline: fmt.Sprintf("%X", a.TACOnline), TACDenial: fmt.Sprintf("%X", a.TACDenial),
			FloorLimit: a.FloorLimit, RandomThreshold: a.RandomThreshold, RandomTarget: a.RandomTarget, RandomMax: a.RandomMax,
			DDOL: fmt.Sprintf("%X", a.DDOL), CLFloorLimit: a.CLFloorLimit, CLTxnLimit: a.CLTxnLimit, CLCVMLimit: a.CLCVMLimit})
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
	store := capk.NewStore()
	for _, k := range d.CAKeys {
		if err := store.Add(k); err != nil {
			return Config{}, fmt.Errorf("%w: %w", ErrDownloaded, err)
		}
	}
	for _, k := range c.CAPKs.List() {
		if _, downloaded := store.Get(k.RID[:], k.Index); downloaded {
			continue
		}
		if err := store.Add(k); err != nil {
			return Config{}, err
		}
	}
	out := c
	out.CAPKs = store
	out.AIDs = make([]AIDConfig, 0, len(c.AIDs)+len(d.AIDs))
	out.AIDs = append(out.AIDs, c.AIDs...)
	for _, a := range d.AIDs {
		if err := a.check(); err != nil {
			return Config{}, err
		}
		i := -1
		for j := range out.AIDs {
			if bytes.Equal(out.AIDs[j].AID, a.AID) {
				i = j
			}
		}
		if i < 0 {
			out.AIDs = append(out.AIDs, newDownloadedAID(a.AID))
			i = len(out.AIDs) - 1
		}
		ac := &out.AIDs[i]
		ac.Partial, ac.Versions = a.Partial, [][2]byte{a.Version}
		ac.TACDefault, ac.TACOnline, ac.TACDenial = a.TACDefault, a.TACOnline, a.TACDenial
		ac.FloorLimit, ac.RandomThreshold, ac.RandomTarget, ac.RandomMax = a.FloorLimit, a.RandomThreshold, a.RandomTarget, a.RandomMax
		ac.DefaultDDOL, _ = tlv.ParseDOL(a.DDOL) // checked above
		if ac.Contactless.Enabled {
			ac.Contactless.FloorLimit, ac.Contactless.TxnLimit, ac.Contactless.CVMLimit = a.CLFloorLimit, a.CLTxnLimit, a.CLCVMLimit
		}
	}
	return out, nil
}

// newDownloadedAID is an application the files do not name: its path comes
// from the scheme (RID), contactless with the usual reader qualifiers.
func newDownloadedAID(aid []byte) AIDConfig {
	ac := AIDConfig{AID: bytes.Clone(aid), Kind: KindContact}
	switch {
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x03, 0x33}):
		ac.Kind = KindQPBOC
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x00, 0x03}):
		ac.Kind = KindVisa
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x00, 0x04}):
		ac.Kind = KindMastercard
	}
	if ac.Kind != KindContact {
		ac.Contactless = Contactless{Enabled: true, TTQ: [4]byte{0x36, 0x00, 0x40, 0x00}}
	}
	return ac
}
