package acquirer

import (
	"strings"
	"testing"
)

// FuzzParseTPDUAndHeader: the routing TPDU and the message header may come
// from the acquirer's binding parameters. No text may panic; what parses
// prints back as the same hex.
func FuzzParseTPDUAndHeader(f *testing.F) {
	for _, s := range []string{"6000030000", "603100310100", "", "zz", "60000300000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tp, err := ParseTPDU(s); err == nil && !strings.EqualFold(tp.String(), s) {
			t.Fatalf("TPDU %q prints as %s", s, tp)
		}
		if h, err := ParseHeader(s); err == nil && len(h) != 6 {
			t.Fatalf("header %q: %v", s, h)
		}
	})
}
