package pinblock

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type vector struct {
	Kind         string `json:"kind"`
	PIN          string `json:"pin"`
	PAN          string `json:"pan"`
	Format0Clear string `json:"format0_clear"`
	Format3Clear string `json:"format3_clear"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/vectors/emv-crypto-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Vectors []vector }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	return file.Vectors
}

func TestFormat0PublishedVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.Kind != "iso9564_pinblock" {
			continue
		}
		n++
		got, err := Format0([]byte(v.PIN), v.PAN)
		if err != nil {
			t.Fatal(err)
		}
		if h := strings.ToUpper(hex.EncodeToString(got[:])); h != v.Format0Clear {
			t.Errorf("pin of %d digits: got %s want %s", len(v.PIN), h, v.Format0Clear)
		}
		back, err := Decode(got[:], v.PAN)
		if err != nil || string(back) != v.PIN {
			t.Errorf("decode: %v", err)
		}
	}
	if n == 0 {
		t.Fatal("no format 0 vectors found")
	}
}

func TestFormat3DecodesPublishedVector(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Kind != "iso9564_format3_decode" {
			continue
		}
		block, _ := hex.DecodeString(v.Format3Clear)
		pin, err := Decode(block, v.PAN)
		if err != nil || string(pin) != v.PIN {
			t.Fatalf("format 3 decode: %v", err)
		}
		return
	}
	t.Fatal("no format 3 vector")
}

func TestFormat3RoundTrip(t *testing.T) {
	b, err := Format3([]byte("987654"), "6222021234567890128")
	if err != nil {
		t.Fatal(err)
	}
	pin, err := Decode(b[:], "6222021234567890128")
	if err != nil || !bytes.Equal(pin, []byte("987654")) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		pin, pan string
		want     error
	}{
		{"123", "4321987654321098", ErrPINLength},
		{"1234567890123", "4321987654321098", ErrPINLength},
		{"12a4", "4321987654321098", ErrPINDigit},
		{"1234", "432198765432", ErrPAN},
		{"1234", "43219876543x1098", ErrPAN},
	}
	for _, c := range cases {
		_, err := Format0([]byte(c.pin), c.pan)
		if !errors.Is(err, c.want) {
			t.Errorf("Format0(%q): got %v want %v", c.pin, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.pan) {
			t.Errorf("error leaks the PAN")
		}
	}
	if _, err := Decode(make([]byte, 8), "4321987654321098"); !errors.Is(err, ErrBlock) {
		t.Errorf("zero block: got %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x04, 0x12, 0x2D, 0x78, 0x9A, 0xBC, 0xDE, 0xF6}, "4321987654321098")
	f.Fuzz(func(t *testing.T, block []byte, pan string) {
		pin, err := Decode(block, pan)
		if err != nil {
			return
		}
		again, err := Format0(pin, pan)
		if err == nil && block[0]>>4 == 0 && !bytes.Equal(again[:], block) {
			t.Fatalf("format 0 decode/encode mismatch")
		}
	})
}
