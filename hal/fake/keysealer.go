package fake

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
)

// KeySealer is a sealing device with its secrets in memory, like a TPM's
// storage: Seal hands out a random handle and keeps the key; Unseal knows
// only the handles it gave out. Set Fail to make both fail.
type KeySealer struct {
	mu    sync.Mutex
	keys  map[string][]byte
	Fail  error
	Calls int
}

// ErrNotSealedHere reports a handle this sealer never gave out (another
// device's, or tampered).
var ErrNotSealedHere = errors.New("fake: sealed on another device")

// NewKeySealer returns an empty sealer.
func NewKeySealer() *KeySealer { return &KeySealer{keys: map[string][]byte{}} }

// Seal keeps key and returns its handle.
func (s *KeySealer) Seal(ctx context.Context, key []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	if s.Fail != nil {
		return nil, s.Fail
	}
	h := make([]byte, 16)
	if _, err := rand.Read(h); err != nil {
		return nil, err
	}
	s.keys[hex.EncodeToString(h)] = append([]byte(nil), key...)
	return h, nil
}

// Unseal returns the key kept under sealed.
func (s *KeySealer) Unseal(ctx context.Context, sealed []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls++
	if s.Fail != nil {
		return nil, s.Fail
	}
	k, ok := s.keys[hex.EncodeToString(sealed)]
	if !ok {
		return nil, ErrNotSealedHere
	}
	return append([]byte(nil), k...), nil
}
