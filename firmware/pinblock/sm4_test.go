package pinblock

import (
	"bytes"
	"encoding/hex"
	"testing"
)

type sizer int

func (s sizer) ClearBlockLen() int { return int(s) }

func TestFormatSM4(t *testing.T) {
	// PIN 1234, PAN 4321987654321098: the format 0 account field is
	// 0000 198765432109, so the block is 041234FFFFFFFFFF || FF..FF XOR it.
	got, err := FormatSM4([]byte("1234"), "4321987654321098")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := hex.DecodeString("041234FFFFFFFFFF" + "FFFFE6789ABCDEF6")
	if !bytes.Equal(got[:], want) {
		t.Fatalf("SM4 block %X, want %X", got, want)
	}
	pin, err := DecodeSM4(got[:], "4321987654321098")
	if err != nil || string(pin) != "1234" {
		t.Fatalf("decode: %q %v", pin, err)
	}
	if _, err := DecodeSM4(got[:], "4321987654321106"); err == nil {
		t.Fatal("decoded under another PAN")
	}
	if _, err := DecodeSM4(got[:8], "4321987654321098"); err == nil {
		t.Fatal("decoded an 8-byte block")
	}
	for _, c := range []struct {
		cipher any
		n      int
	}{{sizer(16), 16}, {sizer(8), 8}, {nil, 8}, {struct{}{}, 8}} {
		b, err := ForCipher([]byte("123456"), "6217001234567890122", c.cipher)
		if err != nil || len(b) != c.n {
			t.Fatalf("ForCipher(%T): %d bytes, %v", c.cipher, len(b), err)
		}
	}
}
