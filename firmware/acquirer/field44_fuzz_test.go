package acquirer

import (
	"strings"
	"testing"
)

// FuzzParseField44: field 44 comes from the host as it likes. No text may
// panic, and each half is at most its 11 positions, trimmed.
func FuzzParseField44(f *testing.F) {
	for _, s := range []string{"", "01020000   48020000   ", "0102", "010200001234567890123456789", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		issuer, acq := ParseField44(s)
		if len(issuer) > 11 || len(acq) > 11 {
			t.Fatalf("%q: issuer %q acquirer %q", s, issuer, acq)
		}
		if issuer != strings.TrimSpace(issuer) || acq != strings.TrimSpace(acq) {
			t.Fatalf("%q: untrimmed %q %q", s, issuer, acq)
		}
	})
}
