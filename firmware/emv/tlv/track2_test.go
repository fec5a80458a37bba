package tlv

import "testing"

func TestTrack2(t *testing.T) {
	cases := []struct {
		in       []byte
		pan, exp string
	}{
		{[]byte{0x62, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0xD2, 0x81, 0x22, 0x01, 0x1F}, "6212345678901234", "2812"},
		{[]byte{0x62, 0x12, 0xD2, 0x8F}, "6212", ""},
		{[]byte{0x62, 0x12, 0xD2, 0xA1, 0x20}, "6212", ""},
		{[]byte{0x62, 0x12}, "6212", ""},
	}
	for _, c := range cases {
		if pan, exp := Track2PAN(c.in), Track2Expiry(c.in); pan != c.pan || exp != c.exp {
			t.Errorf("%X: %q %q, want %q %q", c.in, pan, exp, c.pan, c.exp)
		}
	}
}
