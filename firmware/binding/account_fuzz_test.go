package binding

import (
	"strings"
	"testing"

	"kpos/hal"
)

// FuzzParseAccountNumber: the settlement card number is typed or scanned.
// No text may panic, and no error carries the digits typed.
func FuzzParseAccountNumber(f *testing.F) {
	for _, s := range []string{"6222 0212 3456 7890 128", "6222-0212-3456-7890-129", "", "12345678901", "62220212345678901280000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		p, err := ParseAccountNumber(typed)
		digits := strings.NewReplacer(" ", "", "-", "").Replace(typed)
		if err != nil {
			if len(digits) >= 6 && strings.Contains(err.Error(), digits) {
				t.Fatalf("the error carries the card number: %v", err)
			}
			return
		}
		if p.Digits() != digits || !hal.LuhnValid(digits) {
			t.Fatalf("accepted %q as %s", typed, p.Masked())
		}
	})
}
