package bindflow

import (
	"strings"
	"testing"

	"kpos/hal"
)

// FuzzKCodeInput presses any keys: the input stays within its bound, only
// ever holds digits and upper-case letters, and its display never shows the
// secret part except the character just typed.
func FuzzKCodeInput(f *testing.F) {
	f.Add([]byte("9\x46\x46\x46\x469222"))
	f.Add([]byte("2a\x08\x1bz\r"))
	f.Fuzz(func(t *testing.T, keys []byte) {
		var in kcodeInput
		for _, b := range keys {
			in.press(hal.Key(b))
		}
		text := in.text()
		if in.len() > kcodeMaxInput {
			t.Fatalf("%d characters kept", in.len())
		}
		for _, r := range text {
			if !(r >= '0' && r <= '9') && !(r >= 'A' && r <= 'Z') {
				t.Fatalf("kept %q", r)
			}
		}
		shown := strings.ReplaceAll(in.display(), "-", "")
		if text == "" {
			return
		}
		for i, r := range shown {
			if i >= 7 && i != len(text)-1 && r != '*' {
				t.Fatalf("display %q shows character %d", in.display(), i)
			}
		}
	})
}
