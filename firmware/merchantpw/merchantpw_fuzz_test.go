package merchantpw

import (
	"strings"
	"testing"
)

// FuzzParseHash: the password file is read from disk, which a thief with
// the storage may have edited; no input may panic or ask for a cost above
// MaxIterations.
func FuzzParseHash(f *testing.F) {
	f.Add("pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$" + strings.Repeat("ab", 32))
	f.Add("00112233445566778899aabbccddeeff:" + strings.Repeat("ab", 32))
	f.Add("pbkdf2-sha256$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if h.iter < 1 || h.iter > MaxIterations || len(h.sum) != 32 || len(h.salt) < 8 {
			t.Fatalf("accepted %+v", h)
		}
		if again, err := parseHash(h.String()); err != nil || again.String() != h.String() {
			t.Fatalf("round trip %q: %v", h.String(), err)
		}
	})
}
