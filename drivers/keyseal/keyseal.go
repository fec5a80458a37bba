// Package keyseal seals the terminal's device key with a hardware-unique
// secret the board exposes: a fuse or OTP row read through the kernel's
// nvmem interface, or a key a TEE or the bootloader leaves in a root-only
// file. The sealing key is HKDF-SHA256 (RFC 5869) of that secret; the device
// key is sealed with AES-256-GCM under it. A copy of the sealed file is
// useless without the board it came from.
//
// It implements hal.KeySealer and knows nothing of what the key protects.
package keyseal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"kpos/hal"
)

// magic opens every sealed key; the byte after it is the format version.
const magic = "KPOSSEAL"

const version = 1

// minSecret is the shortest hardware secret accepted: 128 bits.
const minSecret = 16

// Errors a caller can branch on.
var (
	ErrSecret   = errors.New("keyseal: hardware secret unusable")
	ErrTampered = errors.New("keyseal: sealed key tampered with, or sealed on another device")
)

// HUK seals with the hardware-unique secret read from SecretPath.
type HUK struct {
	SecretPath string
}

var _ hal.KeySealer = HUK{}

// kek derives the sealing key from the secret. The secret file must not be
// readable by group or others: a secret anyone can read protects nothing.
func (h HUK) kek() ([]byte, error) {
	st, err := os.Stat(h.SecretPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecret, err)
	}
	if st.Mode().Perm()&0o044 != 0 {
		return nil, fmt.Errorf("%w: %s is readable by group or others (%v)", ErrSecret, h.SecretPath, st.Mode().Perm())
	}
	secret, err := os.ReadFile(h.SecretPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSecret, err)
	}
	if len(secret) < minSecret || bytes.Count(secret, []byte{0}) == len(secret) || bytes.Count(secret, []byte{0xFF}) == len(secret) {
		// Blank fuses read as all zeros or all ones.
		return nil, fmt.Errorf("%w: %d bytes, blank or shorter than %d", ErrSecret, len(secret), minSecret)
	}
	return hkdf.Key(sha256.New, secret, []byte(magic), "kpos device key sealing v1", 32)
}

func (h HUK) aead() (cipher.AEAD, error) {
	k, err := h.kek()
	if err != nil {
		return nil, err
	}
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	return cipher.NewGCM(b)
}

// Seal returns key sealed: magic, version, nonce, ciphertext and tag.
func (h HUK) Seal(_ context.Context, key []byte) ([]byte, error) {
	a, err := h.aead()
	if err != nil {
		return nil, err
	}
	hdr := append([]byte(magic), version)
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	out := append(append(hdr, nonce...), a.Seal(nil, nonce, key, hdr)...)
	return out, nil
}

// Unseal opens what Seal returned on this board.
func (h HUK) Unseal(_ context.Context, sealed []byte) ([]byte, error) {
	a, err := h.aead()
	if err != nil {
		return nil, err
	}
	n := len(magic) + 1
	if len(sealed) < n+a.NonceSize()+a.Overhead() || string(sealed[:len(magic)]) != magic || sealed[len(magic)] != version {
		return nil, ErrTampered
	}
	key, err := a.Open(nil, sealed[n:n+a.NonceSize()], sealed[n+a.NonceSize():], sealed[:n])
	if err != nil {
		return nil, ErrTampered
	}
	return key, nil
}
