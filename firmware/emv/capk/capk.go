package emv

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
)

// CAPK is a certification authority public key (Book 2 11.2).
type CAPK struct {
	RID      [5]byte
	Index    byte
	Modulus  []byte
	Exponent []byte
	Checksum [20]byte  // SHA-1 over RID, index, modulus and exponent
	Expiry   time.Time // zero: no expiry; the key is valid through this day
	Test     bool      // a test key, not for production
	Scheme   string
	// Algorithm is the key algorithm indicator: 00 or 01 RSA, 04 SM2
	// (Modulus then holds the SM2 point X || Y, Exponent is empty).
	Algorithm byte
}

// capkEntry is the TOML form of one key (see docs/emv.md).
type capkEntry struct {
	RID      string `toml:"rid"`
	Index    string `toml:"index"`
	Modulus  string `toml:"modulus"`
	Exponent string `toml:"exponent"`
	SHA1     string `toml:"sha1"`
	Expiry   string `toml:"expiry"` // YYYY-MM-DD, optional
	Kind     string `toml:"kind"`   // "live" or "test"
	Scheme   string `toml:"scheme"`
	Comment  string `toml:"comment"`
	Alg      string `toml:"algorithm"` // "rsa" (default) or "sm2"
}

func (e capkEntry) key() (CAPK, error) {
	if e.Alg != "" && e.Alg != "rsa" {
		return e.sm2Key()
	}
	var k CAPK
	if err := hexInto(k.RID[:], e.RID, "capk rid"); err != nil {
		return k, err
	}
	var idx [1]byte
	if err := hexInto(idx[:], e.Index, "capk index"); err != nil {
		return k, err
	}
	k.Index = idx[0]
	name := fmt.Sprintf("capk %X/%02X", k.RID, k.Index)
	var err error
	if k.Modulus, err = hex.DecodeString(strings.ReplaceAll(e.Modulus, " ", "")); err != nil || len(k.Modulus) < 64 || len(k.Modulus) > 248 {
		return k, fmt.Errorf("%s: modulus must be 64 to 248 bytes of hex", name)
	}
	if k.Exponent, err = hex.DecodeString(e.Exponent); err != nil || !(bytes.Equal(k.Exponent, []byte{3}) || bytes.Equal(k.Exponent, []byte{1, 0, 1})) {
		return k, fmt.Errorf("%s: exponent must be 03 or 010001", name)
	}
	if err := hexInto(k.Checksum[:], e.SHA1, name+" sha1"); err != nil {
		return k, err
	}
	if e.Expiry != "" {
		if k.Expiry, err = time.Parse("2006-01-02", e.Expiry); err != nil {
			return k, fmt.Errorf("%s: expiry must be YYYY-MM-DD", name)
		}
	}
	switch e.Kind {
	case "live":
	case "test":
		k.Test = true
	default:
		return k, fmt.Errorf("%s: kind must be live or test", name)
	}
	k.Scheme = e.Scheme
	return k, nil
}

// ComputeChecksum returns the SHA-1 over RID, index, modulus and exponent.
func (k *CAPK) ComputeChecksum() [20]byte {
	h := sha1.New()
	h.Write(k.RID[:])
	h.Write([]byte{k.Index})
	h.Write(k.Modulus)
	h.Write(k.Exponent)
	var s [20]byte
	copy(s[:], h.Sum(nil))
	return s
}

// Expired reports whether the key has expired by now.
func (k *CAPK) Expired(now time.Time) bool {
	return !k.Expiry.IsZero() && now.After(k.Expiry.AddDate(0, 0, 1))
}

// CAPKStore holds CA public keys by RID and index. It is filled while the
// configuration loads and read-only afterwards.
type CAPKStore struct {
	keys map[capkID]*rsaKey
}

type capkID struct {
	rid [5]byte
	idx byte
}

// rsaKey is a public key ready for recovery.
type rsaKey struct {
	CAPK
	n *big.Int
	e *big.Int
}

// NewCAPKStore returns an empty store.
func NewCAPKStore() *CAPKStore { return &CAPKStore{keys: map[capkID]*rsaKey{}} }

// Add verifies a key's checksum and stores it; a second key with the same
// RID and index is an error.
func (s *CAPKStore) Add(k CAPK) error {
	if sum := k.ComputeChecksum(); sum != k.Checksum {
		return fmt.Errorf("emv: capk %X/%02X: %w", k.RID, k.Index, ErrCAPKChecksum)
	}
	id := capkID{k.RID, k.Index}
	if _, dup := s.keys[id]; dup {
		return fmt.Errorf("emv: capk %X/%02X loaded twice", k.RID, k.Index)
	}
	s.keys[id] = &rsaKey{CAPK: k, n: new(big.Int).SetBytes(k.Modulus), e: new(big.Int).SetBytes(k.Exponent)}
	return nil
}

// Get returns the key for a RID and index.
func (s *CAPKStore) Get(rid []byte, index byte) (CAPK, bool) {
	k := s.get(rid, index)
	if k == nil {
		return CAPK{}, false
	}
	return k.CAPK, true
}

func (s *CAPKStore) get(rid []byte, index byte) *rsaKey {
	if s == nil || len(rid) < 5 {
		return nil
	}
	var id capkID
	copy(id.rid[:], rid[:5])
	id.idx = index
	return s.keys[id]
}

// Len returns the number of keys.
func (s *CAPKStore) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// List returns the keys in RID and index order.
func (s *CAPKStore) List() []CAPK {
	var out []CAPK
	for _, k := range s.keys {
		out = append(out, k.CAPK)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := bytes.Compare(out[i].RID[:], out[j].RID[:]); c != 0 {
			return c < 0
		}
		return out[i].Index < out[j].Index
	})
	return out
}
