package keys

import (
	"bytes"
	"crypto/cipher"
	"fmt"
	"testing"
)

func TestCipherCache(t *testing.T) {
	k1 := bytes.Repeat([]byte{0x11}, 16)
	k2 := bytes.Repeat([]byte{0x22}, 16)
	a, err := blockCipher(AlgTDES, k1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := blockCipher(AlgTDES, k1)
	if a != b {
		t.Error("the same key built its schedule twice")
	}
	c, _ := blockCipher(AlgTDES, k2)
	if c == a {
		t.Error("two keys share a schedule")
	}
	s, _ := blockCipher(AlgSM4, k1)
	if s == a || s.BlockSize() != 16 {
		t.Error("SM4 and 3DES of the same bytes share a schedule")
	}
	// What the cached block computes is what a fresh one computes.
	fresh, _ := newBlockCipher(AlgTDES, k2)
	var x, y [8]byte
	c.Encrypt(x[:], []byte("12345678"))
	fresh.Encrypt(y[:], []byte("12345678"))
	if x != y {
		t.Error("cached schedule encrypts differently")
	}
	if _, err := blockCipher(AlgTDES, make([]byte, 15)); err == nil {
		t.Error("a 15-byte 3DES key was accepted")
	}
	// Bounded: after many keys the cache holds at most cacheSize.
	for i := range cacheSize + 10 {
		if _, err := blockCipher(AlgTDES, []byte(fmt.Sprintf("key%013d", i))); err != nil {
			t.Fatal(err)
		}
	}
	ciphers.mu.Lock()
	n := len(ciphers.m)
	ciphers.mu.Unlock()
	if n > cacheSize {
		t.Errorf("cache holds %d schedules, bound %d", n, cacheSize)
	}
	var _ cipher.Block = a
}
