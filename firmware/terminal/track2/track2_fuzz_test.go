package track2

import (
	"strings"
	"testing"
)

// FuzzParse: track 2 comes from the card (chip tag 57, or the
// magnetic stripe). No input may panic; what is accepted is the input's
// own PAN, a four-digit-long expiry and a three-long service code; and no
// error carries the card number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"6222021234567890128=30122010000000000", "6222021234567890128D3012201", "=", "D", "622202123456789012=301", "1234567890123=3012201\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, t2 []byte) {
		pan, expiry, service, err := Parse(t2)
		sep := strings.IndexAny(string(t2), "=D")
		if err != nil {
			if sep >= 6 && strings.Contains(err.Error(), string(t2[:sep])) {
				t.Fatalf("the error carries the card number: %v", err)
			}
			return
		}
		if sep < 0 || pan.Digits() != string(t2[:sep]) {
			t.Fatalf("PAN %s from %q", pan.Masked(), t2)
		}
		if len(expiry) != 4 || len(service) != 3 {
			t.Fatalf("expiry %q service %q", expiry, service)
		}
	})
}
