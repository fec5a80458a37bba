// Package seal is the journal's cryptography at rest: the AEAD of the
// journal's key, the sealing of the cardholder data PCI DSS allows to keep
// (PAN, expiry, PAN sequence number), the sealing of sensitive
// authentication data under a key of its own, and the side file of those
// keys, each in a fixed slot overwritten in place so that erasing a slot
// erases every copy of the data it opened (cryptographic erase, NIST SP
// 800-88 Rev. 1 §2.6). The byte layouts here are the journal's on-disk
// format. It knows nothing of bbolt: which slot holds what, and when a
// slot is free, is the journal's to record.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"kpos/firmware/journal/entry"
)

// NewAEAD is AES-GCM under key.
func NewAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

// SlotAAD binds a sealed slot to its place, and SADAAD SAD to its slot and
// trace.
func SlotAAD(slot uint32) []byte { return append([]byte("slot"), u32(slot)...) }

// SADAAD binds sealed SAD to its slot and trace.
func SADAAD(slot, trace uint32) []byte {
	return append(append([]byte("sad"), u32(slot)...), u32(trace)...)
}

// Card seals the PAN, expiry and PAN sequence number of t.Secret into
// t.Sealed, under aead (the journal's key), bound to the trace number.
func Card(aead cipher.AEAD, t *entry.Txn) error {
	kept := entry.Sensitive{PAN: t.Secret.PAN, Expiry: t.Secret.Expiry, PANSeq: t.Secret.PANSeq}
	if kept.PAN == "" && kept.Expiry == "" && kept.PANSeq == "" {
		t.Sealed = nil
		return nil
	}
	plain, err := json.Marshal(kept)
	if err != nil {
		return err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	t.Sealed = aead.Seal(nonce, nonce, plain, u32(t.Trace))
	clear(plain)
	return nil
}

// OpenCard fills t.Secret from t.Sealed.
func OpenCard(aead cipher.AEAD, t *entry.Txn) error {
	if len(t.Sealed) == 0 {
		return nil
	}
	n := aead.NonceSize()
	if len(t.Sealed) < n {
		return fmt.Errorf("journal: trace %06d: sealed data truncated", t.Trace)
	}
	plain, err := aead.Open(nil, t.Sealed[:n], t.Sealed[n:], u32(t.Trace))
	if err != nil {
		return fmt.Errorf("journal: trace %06d: sealed data does not open", t.Trace)
	}
	defer clear(plain)
	return json.Unmarshal(plain, &t.Secret)
}

// SAD is the part of the card data that must go once a transaction is
// final.
type SAD struct {
	Track2  []byte `json:"t2,omitempty"`
	ICCData []byte `json:"icc,omitempty"`
}

// SealSAD seals s under the key of slot (aead), bound to slot and trace.
func SealSAD(aead cipher.AEAD, slot, trace uint32, s SAD) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plain, SADAAD(slot, trace)), nil
}

// OpenSAD opens what SealSAD sealed.
func OpenSAD(aead cipher.AEAD, slot, trace uint32, sealed []byte) (SAD, error) {
	n := aead.NonceSize()
	if len(sealed) < n {
		return SAD{}, fmt.Errorf("journal: trace %06d: sealed card data truncated", trace)
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], SADAAD(slot, trace))
	if err != nil {
		return SAD{}, fmt.Errorf("journal: trace %06d: sealed card data does not open", trace)
	}
	defer clear(plain)
	var s SAD
	if err := json.Unmarshal(plain, &s); err != nil {
		return SAD{}, fmt.Errorf("journal: trace %06d: %w", trace, err)
	}
	return s, nil
}
