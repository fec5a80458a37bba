package pinblock

import (
	"bytes"
	"testing"
)

// DecodeSM4 reads a decrypted block from a terminal (the host side): any
// block it accepts must be the one FormatSM4 builds for that PIN.
func FuzzDecodeSM4(f *testing.F) {
	b, _ := FormatSM4([]byte("1234"), "4321987654321098")
	f.Add(b[:], "4321987654321098")
	f.Add(make([]byte, 16), "6217001234567890122")
	f.Fuzz(func(t *testing.T, block []byte, pan string) {
		pin, err := DecodeSM4(block, pan)
		if err != nil {
			return
		}
		again, err := FormatSM4(pin, pan)
		if err != nil || !bytes.Equal(again[:], block) {
			t.Fatalf("SM4 decode/encode mismatch")
		}
	})
}
