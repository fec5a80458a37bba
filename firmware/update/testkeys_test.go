package update

import (
	"crypto/ed25519"
	"os"
	"testing"
)

// testKeys loads the TEST ONLY key pair committed under testdata/update.
func testKeys(tb testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	tb.Helper()
	pubPEM, err := os.ReadFile("../../testdata/update/fwsign-test.pub")
	if err != nil {
		tb.Fatal(err)
	}
	privPEM, err := os.ReadFile("../../testdata/update/fwsign-test.key")
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := ParsePublicKey(pubPEM)
	if err != nil {
		tb.Fatal(err)
	}
	priv, err := ParsePrivateKey(privPEM)
	if err != nil {
		tb.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		tb.Fatal("test key files do not form a pair")
	}
	return pub, priv
}
