package tlv

import "testing"

// FuzzParseOne: single data objects come from the card (GENERATE AC and
// GET DATA answers). No input may panic, and an object that parses is one.
func FuzzParseOne(f *testing.F) {
	f.Add([]byte{0x9F, 0x36, 0x02, 0x00, 0x01})
	f.Add([]byte{0x77, 0x04, 0x9F, 0x27, 0x01, 0x80, 0x00, 0x00})
	f.Add([]byte{0x9F})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseOne(b)
		if err != nil {
			return
		}
		if o.Tag == 0 {
			t.Fatalf("parsed an object without a tag from % X", b)
		}
	})
}
