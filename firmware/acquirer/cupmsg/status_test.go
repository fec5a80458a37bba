package cupmsg

import (
	"testing"

	"kpos/firmware/emv/tlv"
)

// caKeyEntry is one CA key of a status answer: RID, index, expiry.
func caKeyEntry(index byte) []byte {
	var e []byte
	e = tlv.Append(e, 0x9F06, []byte{0xA0, 0, 0, 3, 0x33})
	e = tlv.Append(e, 0x9F22, []byte{index})
	return tlv.Append(e, 0xDF05, []byte("20351231"))
}

func TestParseStatus(t *testing.T) {
	two := append(caKeyEntry(1), caKeyEntry(2)...)
	for _, c := range []struct {
		name    string
		f62     []byte
		more    bool
		entries int
		ok      bool
	}{
		{"none", []byte("0"), false, 0, true},
		{"last", append([]byte("1"), two...), false, 2, true},
		{"more", append([]byte("2"), caKeyEntry(1)...), true, 1, true},
		{"empty field", nil, false, 0, false},
		{"unknown status", append([]byte("3"), two...), false, 0, false},
		{"more without entries", []byte("2"), false, 0, false},
		{"half an entry", append(append([]byte("1"), caKeyEntry(1)...), tlv.Encode(0x9F06, []byte{0xA0, 0, 0, 3, 0x33})...), false, 0, false},
		{"broken TLV", append([]byte("1"), 0x9F), false, 0, false},
	} {
		more, entries, err := ParseStatus(c.f62, 3)
		if (err == nil) != c.ok || more != c.more || len(entries) != c.entries {
			t.Errorf("%s: more %v, %d entries, %v", c.name, more, len(entries), err)
		}
	}
}

// FuzzParseStatus: a status answer from the host never panics the parser,
// and what it accepts is whole entries.
func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("0"), 3)
	f.Add(append([]byte("1"), caKeyEntry(1)...), 3)
	f.Add(append([]byte("2"), tlv.Encode(0x9F06, []byte{0xA0, 0, 0, 3, 0x33, 1, 1})...), 1)
	f.Fuzz(func(t *testing.T, f62 []byte, width int) {
		if width < 1 || width > 8 {
			return
		}
		more, entries, err := ParseStatus(f62, width)
		if err != nil {
			return
		}
		if more && len(entries) == 0 {
			t.Fatal("more follow, with nothing on this page")
		}
		for _, e := range entries {
			if len(e) != width {
				t.Fatalf("an entry of %d objects, want %d", len(e), width)
			}
		}
	})
}

// TestStatusPage: the host's status answer pages by field 62's size and
// refuses a request that does not say where to start.
func TestStatusPage(t *testing.T) {
	entries := [][]byte{make([]byte, 500), make([]byte, 400), make([]byte, 200)}
	for _, c := range []struct {
		req  string
		want byte
		n    int
		ok   bool
	}{
		{"100", StatusMore, 900, true},
		{"102", StatusLast, 200, true},
		{"103", StatusNone, 0, true},
		{"200", 0, 0, false},
		{"1", 0, 0, false},
		{"1A0", 0, 0, false},
	} {
		got, ok := StatusPage([]byte(c.req), entries)
		if ok != c.ok || (ok && (got[0] != c.want || len(got)-1 != c.n)) {
			t.Errorf("%q: %q… (%d bytes), %v", c.req, got[:min(len(got), 1)], len(got), ok)
		}
	}
}
