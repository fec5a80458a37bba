package keys

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"sync"
)

// cipherCache keeps the block ciphers (key schedules) of recently used keys,
// so that a MAC or a PIN block does not rebuild the 3DES or SM4 schedule of
// the same working key every time: a host serving many terminals, or a
// terminal computing a MAC per message, uses a handful of keys over and
// over.
//
// Entries are found by a SHA-256 of a secret drawn once per process, the
// algorithm and the key, so the map itself holds no key bytes; the
// schedules it keeps are as secret as the keys they come from, which this
// process already holds. The cache is bounded: when it is full it is
// emptied, so a long-running host that sees ever new keys keeps at most
// cacheSize schedules.
type cipherCache struct {
	mu     sync.Mutex
	secret [32]byte
	seeded bool
	m      map[[32]byte]cipher.Block
}

const cacheSize = 1024

var ciphers cipherCache

// get returns the cached block cipher of key under alg, or builds one with
// build and keeps it.
func (c *cipherCache) get(alg Algorithm, key []byte, build func() (cipher.Block, error)) (cipher.Block, error) {
	c.mu.Lock()
	if !c.seeded {
		if _, err := rand.Read(c.secret[:]); err != nil {
			c.mu.Unlock()
			return build() // no secret, no cache: never fail for it
		}
		c.seeded = true
		c.m = make(map[[32]byte]cipher.Block)
	}
	secret := c.secret
	c.mu.Unlock()
	// SHA-256 of secret, algorithm and key, in a buffer on the stack: a
	// salted hash is enough to keep key bytes out of the map, and costs a
	// fraction of the schedule it saves.
	var buf [32 + 8 + 32]byte
	if len(key) > 32 || len(alg) > 8 {
		return build()
	}
	copy(buf[:], secret[:])
	copy(buf[32:40], alg) // a fixed-width field: no two (alg, key) pairs share bytes
	n := 40 + copy(buf[40:], key)
	id := sha256.Sum256(buf[:n])
	clear(buf[:])

	c.mu.Lock()
	b, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= cacheSize {
		clear(c.m)
	}
	c.m[id] = b
	c.mu.Unlock()
	return b, nil
}
