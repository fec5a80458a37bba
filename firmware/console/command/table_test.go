package command

import (
	"strings"
	"testing"
)

func TestWrapAndTable(t *testing.T) {
	long := strings.Repeat("word ", 40)
	for _, l := range strings.Split(Wrap(long, Width), "\n") {
		if TextWidth(l) > Width {
			t.Errorf("wrapped line too wide: %q", l)
		}
	}
	tb := Table(Width, []string{"A", "CARD", "NOTE"}, [][]string{{"1", "622202*********0128", strings.Repeat("x", 100)}}, nil, []int{1})
	for _, l := range strings.Split(strings.TrimSpace(tb), "\n") {
		if TextWidth(l) > Width {
			t.Errorf("table line too wide: %q", l)
		}
	}
	if !strings.Contains(tb, "622202*********0128") || !strings.Contains(tb, "x~") {
		t.Errorf("table did not keep the card or cut the note:\n%s", tb)
	}
	// A cut never leaves a PAN fragment that escapes redaction.
	if got := Cut("code 6222021234567890128", 20); strings.Contains(got, "62220212") {
		t.Errorf("cut leaked digits: %q", got)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"status", "settle", "journal", "passwd", "perf", "priv", "param"}
	tests := []struct{ in, want string }{
		{"stauts", "status"}, {"statsu", "status"}, {"jurnal", "journal"}, {"setle", "settle"},
		{"xyzzy", ""}, {"pr", "priv"}, {"jour", "journal"},
	}
	for _, tt := range tests {
		if got := Suggest(tt.in, names); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
