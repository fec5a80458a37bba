package keys

import (
	"fmt"
	"sync"

	"kpos/hal"
)

// pinBlockLen is the clear PIN block size each algorithm encrypts: the ISO
// 9564 format 0 block (8 bytes) for 3DES and DUKPT, and the 16-byte UnionPay
// SM4 block (PIN field padded with F to 32 nibbles, XOR eight zero bytes
// followed by the format 0 account field) for SM4.
func pinBlockLen(alg Algorithm) int {
	if alg == AlgSM4 {
		return 16
	}
	return 8
}

// fixedPINCipher encrypts PIN blocks under a fixed working PIN key in ECB.
type fixedPINCipher struct {
	alg Algorithm
	key []byte
}

// NewPINCipher returns a hal.PINCipher that encrypts clear PIN blocks in ECB
// under a fixed PIN key: 3DES (8-byte ISO 9564 format 0 blocks) or SM4
// (16-byte blocks). The key is copied. KeySerial is always nil.
func NewPINCipher(alg Algorithm, pinKey []byte) (hal.PINCipher, error) {
	if _, err := blockCipher(alg, pinKey); err != nil {
		return nil, err
	}
	return &fixedPINCipher{alg: alg, key: append([]byte(nil), pinKey...)}, nil
}

// EncryptPINBlock implements hal.PINCipher.
func (c *fixedPINCipher) EncryptPINBlock(clearBlock []byte) ([]byte, error) {
	return encryptPINBlock(c.alg, c.key, clearBlock)
}

// KeySerial implements hal.PINCipher: fixed keys have no serial.
func (c *fixedPINCipher) KeySerial() []byte { return nil }

func encryptPINBlock(alg Algorithm, key, clearBlock []byte) ([]byte, error) {
	if n := pinBlockLen(alg); len(clearBlock) != n {
		return nil, fmt.Errorf("%w: %s PIN block is %d bytes, want %d", ErrBlockLength, alg, len(clearBlock), n)
	}
	return ecb(alg, key, clearBlock, false)
}

// storePINCipher is the PIN cipher a Store hands to the PIN pad: it always
// uses the store's current PIN key (or DUKPT originator), so a new sign-on
// takes effect at once.
type storePINCipher struct {
	s *Store

	mu      sync.Mutex
	lastKSN []byte
}

// EncryptPINBlock implements hal.PINCipher.
func (c *storePINCipher) EncryptPINBlock(clearBlock []byte) ([]byte, error) {
	enc, ksn, err := c.s.encryptPIN(clearBlock)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.lastKSN = ksn
	c.mu.Unlock()
	return enc, nil
}

// KeySerial implements hal.PINCipher: the DUKPT KSN of the last encryption,
// nil for fixed keys.
func (c *storePINCipher) KeySerial() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastKSN == nil {
		return nil
	}
	return append([]byte(nil), c.lastKSN...)
}

var (
	_ hal.PINCipher = (*fixedPINCipher)(nil)
	_ hal.PINCipher = (*storePINCipher)(nil)
)
