package layout

import (
	"bytes"
	"testing"
	"time"
)

// The key encodings are the file format: a journal written before must
// find its records with these bytes.
func TestKeysAreTheFileFormat(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"trace", TxnKey(0x010203), []byte{0, 1, 2, 3}},
		{"seq", U64(258), []byte{0, 0, 0, 0, 0, 0, 1, 2}},
		{"day", DayKey(at, time.FixedZone("CST", 8*3600)), []byte("20270101")},
		{"rrn", RRNKey("123456789012", 7), append([]byte("123456789012\x00"), 0, 0, 0, 7)},
		{"orig", OrigKey(5, 6), []byte{0, 0, 0, 5, 0, 0, 0, 6}},
		{"records", Records, []byte("records")},
		{"slots", Slots, []byte("sad-slots")},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	if Version != 2 || PageSize != 4096 {
		t.Errorf("version %d, page size %d", Version, PageSize)
	}
}
