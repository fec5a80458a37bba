package console

import (
	"encoding/json"
	"strings"
	"testing"

	"kpos/firmware/console/command"
)

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"card 6222021234567890128 ok", "card 622202*********0128 ok"},
		{"pan=4761739001010119;", "pan=476173******0119;"},
		{"6222021234567890127", "6222021234567890127"}, // fails Luhn: not a PAN
		{"rrn 633012000001 trace 000001", "rrn 633012000001 trace 000001"},
		{"tmk 11111111111111112222222222222222 end", "tmk [redacted] end"},
		{"key=0123456789abcdefFEDCBA9876543210AA", "key=[redacted]"},
		{"kcv 82E136", "kcv 82E136"},
		{"abc6222021234567890128def", "abc622202*********0128def"},
		{"测试 6250998765432109871", "测试 625099*********9871"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := command.Redact(tt.in); got != tt.want {
			t.Errorf("command.Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if f := findSecrets(command.Redact(tt.in)); len(f) > 0 {
			t.Errorf("command.Redact(%q) still holds %v", tt.in, f)
		}
	}
}

// The transcript scanner must catch what it is there to catch.
func TestFindSecrets(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"sale 6222021234567890128 approved", 1},
		{"visa 4761739001010119", 1},
		{"TMK 11111111111111112222222222222222", 1},
		{"pin block 0412AC89ABCDEF67 and 0123456789ABCDEFFEDCBA9876543210", 1},
		{"masked 622202*********0128, kcv D2B91C, rrn 633012000001", 0},
		{"timestamp 20261122093000123", 0}, // 17 digits failing Luhn
		{strings.Repeat("9", 25), 0},       // longer than any PAN
	}
	for _, tt := range tests {
		if got := findSecrets(tt.text); len(got) != tt.want {
			t.Errorf("%q: found %v, want %d", tt.text, got, tt.want)
		}
	}
}

func TestRedactJSON(t *testing.T) {
	in := map[string]any{
		"text":                "card 6222021234567890128",
		"number":              json.Number("4761739001010119"),
		"plain":               42,
		"list":                []string{"0123456789ABCDEFFEDCBA9876543210"},
		"6250998765432109871": true,
	}
	b, err := command.RedactJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("redacted JSON does not parse: %v\n%s", err, b)
	}
	if f := findSecrets(string(b)); len(f) > 0 {
		t.Errorf("secrets left: %v\n%s", f, b)
	}
	if back["number"] != "476173******0119" || back["plain"] != float64(42) || back["text"] != "card 622202*********0128" {
		t.Errorf("redacted: %s", b)
	}
}
