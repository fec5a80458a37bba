package keys

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/emmansun/gmsm/sm4"

	"kpos/firmware/emvcrypto"
)

// Sentinel errors that callers branch on. Returned errors wrap them.
var (
	// ErrKeyLength reports a key of the wrong length for its algorithm.
	ErrKeyLength = errors.New("keys: wrong key length")
	// ErrKCV reports a key whose check value does not match the one given.
	ErrKCV = errors.New("keys: check value mismatch")
	// ErrMAC reports a message whose MAC does not verify.
	ErrMAC = errors.New("keys: MAC does not verify")
	// ErrNoTMK reports an operation that needs a terminal master key before
	// one is installed.
	ErrNoTMK = errors.New("keys: no terminal master key installed")
	// ErrNoKey reports an operation that needs a working key (or DUKPT key)
	// that is not installed.
	ErrNoKey = errors.New("keys: working key not installed")
	// ErrBlockLength reports data that is not a whole number of cipher blocks
	// or a PIN block of the wrong size.
	ErrBlockLength = errors.New("keys: wrong block length")
	// ErrConfig reports an invalid store configuration.
	ErrConfig = errors.New("keys: invalid configuration")
	// ErrTampered reports a key file that fails authentication: altered,
	// truncated, or written under another device key.
	ErrTampered = errors.New("keys: key file fails authentication")
	// ErrFormat reports a key file or key field that cannot be parsed.
	ErrFormat = errors.New("keys: malformed key data")
	// ErrDUKPTExhausted reports a DUKPT originator whose counter has run out.
	ErrDUKPTExhausted = errors.New("keys: DUKPT key serial counter exhausted")
)

// Algorithm is the block cipher family of a key.
type Algorithm string

// The key algorithms.
const (
	AlgTDES Algorithm = "3DES" // DES/3DES, 8-, 16- or 24-byte keys
	AlgSM4  Algorithm = "SM4"  // SM4 (GB/T 32907), 16-byte keys
)

// blockCipher returns the block cipher for key under alg. Key schedules
// are built once per key and kept (see cipherCache); the blocks are safe
// for concurrent use.
func blockCipher(alg Algorithm, key []byte) (cipher.Block, error) {
	if err := checkKeyLength(alg, key); err != nil {
		return nil, err
	}
	return ciphers.get(alg, key, func() (cipher.Block, error) { return newBlockCipher(alg, key) })
}

// checkKeyLength refuses, before any cache look-up, a key that no cipher of
// alg takes.
func checkKeyLength(alg Algorithm, key []byte) error {
	switch alg {
	case AlgTDES:
		if n := len(key); n != 8 && n != 16 && n != 24 {
			return fmt.Errorf("%w: 3DES key is %d bytes, want 8, 16 or 24", ErrKeyLength, n)
		}
	case AlgSM4:
		if len(key) != 16 {
			return fmt.Errorf("%w: SM4 key is %d bytes, want 16", ErrKeyLength, len(key))
		}
	default:
		return fmt.Errorf("%w: unknown algorithm %q", ErrConfig, alg)
	}
	return nil
}

// newBlockCipher builds the block cipher (the key schedule) for key.
func newBlockCipher(alg Algorithm, key []byte) (cipher.Block, error) {
	switch alg {
	case AlgTDES:
		switch len(key) {
		case 8:
			b, err := des.NewCipher(key)
			if err != nil {
				return nil, fmt.Errorf("keys: DES: %w", err)
			}
			return b, nil
		case 16, 24:
			b, err := emvcrypto.TDES(key)
			if err != nil {
				return nil, fmt.Errorf("keys: %w", err)
			}
			return b, nil
		}
		return nil, fmt.Errorf("%w: 3DES key is %d bytes, want 8, 16 or 24", ErrKeyLength, len(key))
	case AlgSM4:
		if len(key) != 16 {
			return nil, fmt.Errorf("%w: SM4 key is %d bytes, want 16", ErrKeyLength, len(key))
		}
		b, err := sm4.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("keys: SM4: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: unknown algorithm %q", ErrConfig, alg)
}

// CheckValue returns the full check block of key under alg: the key
// encrypting one block of zeros (8 bytes for DES/3DES, 16 for SM4). Check
// values on the wire and on screen are a prefix of it (3 bytes by custom for
// 3DES, 4 bytes in UnionPay sign-on, up to 8 for SM4).
func CheckValue(alg Algorithm, key []byte) ([]byte, error) {
	b, err := blockCipher(alg, key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, b.BlockSize())
	b.Encrypt(out, out)
	return out, nil
}

// VerifyCheckValue reports whether kcv (3 bytes or more, a prefix of the
// check block) is the check value of key under alg. It returns an error
// wrapping ErrKCV when it is not.
func VerifyCheckValue(alg Algorithm, key, kcv []byte) error {
	full, err := CheckValue(alg, key)
	if err != nil {
		return err
	}
	if len(kcv) < 3 || len(kcv) > len(full) {
		return fmt.Errorf("%w: check value is %d bytes, want 3 to %d", ErrKCV, len(kcv), len(full))
	}
	if subtle.ConstantTimeCompare(full[:len(kcv)], kcv) != 1 {
		return ErrKCV
	}
	return nil
}

// ecb encrypts or decrypts data (a whole number of blocks) under key in ECB
// mode, returning a new slice.
func ecb(alg Algorithm, key, data []byte, decrypt bool) ([]byte, error) {
	b, err := blockCipher(alg, key)
	if err != nil {
		return nil, err
	}
	n := b.BlockSize()
	if len(data) == 0 || len(data)%n != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a whole number of %d-byte blocks", ErrBlockLength, len(data), n)
	}
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += n {
		if decrypt {
			b.Decrypt(out[i:i+n], data[i:i+n])
		} else {
			b.Encrypt(out[i:i+n], data[i:i+n])
		}
	}
	return out, nil
}

// DecryptKey decrypts a key encrypted in ECB mode under a key-encrypting key
// (the transport key for a TMK, the TMK for working keys).
func DecryptKey(alg Algorithm, kek, encKey []byte) ([]byte, error) {
	return ecb(alg, kek, encKey, true)
}

// EncryptKey encrypts a key in ECB mode under a key-encrypting key, as the
// host does when it delivers a TMK or working keys.
func EncryptKey(alg Algorithm, kek, clearKey []byte) ([]byte, error) {
	return ecb(alg, kek, clearKey, false)
}
