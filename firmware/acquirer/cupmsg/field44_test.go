package cupmsg

import "testing"

func TestField44(t *testing.T) {
	for _, c := range []struct{ issuer, acquirer, wire string }{
		{"01020000", "48020000", "01020000   48020000"},
		{"", "48020000", "           48020000"},
		{"01020000", "", "01020000"},
		{"", "", ""},
	} {
		if got := Field44(c.issuer, c.acquirer); got != c.wire {
			t.Errorf("Field44(%q, %q) = %q want %q", c.issuer, c.acquirer, got, c.wire)
		}
		if i, a := ParseField44(c.wire); i != c.issuer || a != c.acquirer {
			t.Errorf("ParseField44(%q) = %q, %q", c.wire, i, a)
		}
	}
	// Longer than the dialect's 22 characters, or short: what is there.
	if i, a := ParseField44("0102000000048020000000XYZ"); i != "01020000000" || a != "48020000000" {
		t.Errorf("long field 44: %q %q", i, a)
	}
}
