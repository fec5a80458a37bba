package update

import (
	"crypto/ed25519"
	"os"
	"testing"
)

// FuzzParseKeys: the public key that verifies images is read from the
// board's parameter files (and the private key by tools/fwsign). No PEM may
// panic; a key that parses has an Ed25519 key's size and encodes back.
func FuzzParseKeys(f *testing.F) {
	for _, name := range []string{"fwsign-test.pub", "fwsign-test.key"} {
		if b, err := os.ReadFile("../../testdata/update/" + name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"))
	f.Fuzz(func(t *testing.T, pemBytes []byte) {
		if pub, err := ParsePublicKey(pemBytes); err == nil {
			if len(pub) != ed25519.PublicKeySize {
				t.Fatalf("public key of %d bytes", len(pub))
			}
			again, err := MarshalPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := ParsePublicKey(again); err != nil || !back.Equal(pub) {
				t.Fatalf("public key does not round-trip: %v", err)
			}
		}
		if priv, err := ParsePrivateKey(pemBytes); err == nil && len(priv) != ed25519.PrivateKeySize {
			t.Fatalf("private key of %d bytes", len(priv))
		}
	})
}
