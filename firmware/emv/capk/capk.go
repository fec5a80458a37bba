// Package capk is the terminal's store of certification authority public
// keys (EMV Book 2 11.2, with the SM2 keys of the UnionPay CA key list) and
// the certificate chain of offline data authentication built on them: the
// issuer and ICC public keys recovered from their certificates and the
// signed static and dynamic data checked under them (Book 2 5 and 6, JR/T
// 0025.17 for SM2).
//
// It knows nothing of a card session, the TVR or the terminal's
// configuration files: the kernel hands it the data objects the card sent
// and turns its errors into TVR bits.
package capk

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"
)

// Key is a certification authority public key (Book 2 11.2).
type Key struct {
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

// ComputeChecksum returns the SHA-1 over RID, index, modulus and exponent.
func (k *Key) ComputeChecksum() [20]byte {
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
func (k *Key) Expired(now time.Time) bool {
	return !k.Expiry.IsZero() && now.After(k.Expiry.AddDate(0, 0, 1))
}

// ErrChecksum reports a CA public key whose checksum does not match.
var ErrChecksum = errors.New("emv: CA public key checksum mismatch")

// Store holds CA public keys by RID and index. It is filled while the
// configuration loads and read-only afterwards.
type Store struct {
	keys map[keyID]*PublicKey
}

type keyID struct {
	rid [5]byte
	idx byte
}

// PublicKey is a public key ready for recovery.
type PublicKey struct {
	Key
	n *big.Int
	e *big.Int
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{keys: map[keyID]*PublicKey{}} }

// Add verifies a key's checksum and stores it; a second key with the same
// RID and index is an error.
func (s *Store) Add(k Key) error {
	if sum := k.ComputeChecksum(); sum != k.Checksum {
		return fmt.Errorf("emv: capk %X/%02X: %w", k.RID, k.Index, ErrChecksum)
	}
	id := keyID{k.RID, k.Index}
	if _, dup := s.keys[id]; dup {
		return fmt.Errorf("emv: capk %X/%02X loaded twice", k.RID, k.Index)
	}
	s.keys[id] = &PublicKey{Key: k, n: new(big.Int).SetBytes(k.Modulus), e: new(big.Int).SetBytes(k.Exponent)}
	return nil
}

// Get returns the key for a RID and index.
func (s *Store) Get(rid []byte, index byte) (Key, bool) {
	k := s.Lookup(rid, index)
	if k == nil {
		return Key{}, false
	}
	return k.Key, true
}

func (s *Store) Lookup(rid []byte, index byte) *PublicKey {
	if s == nil || len(rid) < 5 {
		return nil
	}
	var id keyID
	copy(id.rid[:], rid[:5])
	id.idx = index
	return s.keys[id]
}

// Len returns the number of keys.
func (s *Store) Len() int {
	if s == nil {
		return 0
	}
	return len(s.keys)
}

// List returns the keys in RID and index order.
func (s *Store) List() []Key {
	var out []Key
	for _, k := range s.keys {
		out = append(out, k.Key)
	}
	sort.Slice(out, func(i, j int) bool {
		if c := bytes.Compare(out[i].RID[:], out[j].RID[:]); c != 0 {
			return c < 0
		}
		return out[i].Index < out[j].Index
	})
	return out
}
