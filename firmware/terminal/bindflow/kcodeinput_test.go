package bindflow

import (
	"strings"
	"testing"

	"kpos/hal"
)

func TestKCodeInput(t *testing.T) {
	k := func(s string) []hal.Key {
		var out []hal.Key
		for _, w := range strings.Fields(s) {
			switch w {
			case "F1":
				out = append(out, KeyAlpha)
			case "CLR":
				out = append(out, hal.KeyClear)
			case "CAN":
				out = append(out, hal.KeyCancel)
			default:
				for _, r := range w {
					out = append(out, hal.Key(r))
				}
			}
		}
		return out
	}
	cases := []struct {
		keys, text, display string
	}{
		{"", "", "____-____-____-____"},
		{"2", "2", "2"},
		{"2 F1", "A", "A"},
		{"2 F1 F1 F1 F1", "2", "2"},
		{"9 F1 F1 F1 F1", "Z", "Z"},
		{"7 F1 F1 F1 F1", "S", "S"},
		{"4 F1 F1 F1", "4", "4"},
		{"6 F1 F1", "N", "N"},
		{"F1 2", "2", "2"},
		{"2 3 CLR", "2", "2"},
		{"2 3 CAN 4", "4", "4"},
		{"z 9 2 2", "Z922", "Z922"},
		{"2 2 2 2 3 3 3 3 4", "222233334", "2222-333*-4"},
		{"2 2 2 2 3 3 3 3 4 5 6 7 8 9 2 3 4 5 6 7 8 9 2", "22223333456789234567", "2222-333*-****-****-***7"},
	}
	for _, c := range cases {
		var in kcodeInput
		submitted := false
		for _, key := range k(c.keys) {
			submitted = in.press(key) || submitted
		}
		if submitted || in.text() != c.text || in.display() != c.display {
			t.Errorf("%q: text %q display %q submitted %v; want %q %q", c.keys, in.text(), in.display(), submitted, c.text, c.display)
		}
	}
	var in kcodeInput
	if !in.press(hal.KeyEnter) {
		t.Error("ENTER does not submit")
	}
}
