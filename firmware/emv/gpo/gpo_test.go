package gpo

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/tlv"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseAFL(t *testing.T) {
	for _, afl := range []string{"080102", "00010100", "08000100", "08020100", "08010103", "F8010100", "09010100"} {
		if _, err := ParseAFL(mustHex(afl)); !errors.Is(err, ErrAFL) {
			t.Errorf("AFL %s accepted: %v", afl, err)
		}
	}
	got, err := ParseAFL(mustHex("08010201 10010300 F0010100"))
	if err != nil || len(got) != 3 || got[0] != (Entry{SFI: 1, First: 1, Last: 2, ODA: 1}) || got[2].SFI != 30 {
		t.Errorf("valid AFL: %+v, %v", got, err)
	}
	if got, err := ParseAFL(nil); err != nil || got != nil {
		t.Errorf("empty AFL: %+v, %v", got, err)
	}
}

func TestParseResponse(t *testing.T) {
	cases := []struct {
		name string
		resp string
		aip  string
		bad  bool
	}{
		{"format 1", "80 06 1C00 08010100", "1C00", false},
		{"format 1 too short", "80 01 1C", "", true},
		{"format 2", "77 0A 82021C00 9404 08010100", "1C00", false},
		{"other template", "70 04 82021C00", "", true},
		{"not TLV", "77 0A 82", "", true},
	}
	for _, c := range cases {
		elems, err := ParseResponse(mustHex(c.resp))
		if c.bad {
			if !errors.Is(err, apdu.ErrCardResponse) {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		aip, ok := tlv.Find(elems, 0x82)
		if err != nil || !ok || hex.EncodeToString(aip.Value) != strings.ToLower(c.aip) {
			t.Errorf("%s: %+v, %v", c.name, elems, err)
		}
	}
}

// FuzzParseResponse feeds arbitrary GPO responses to the parser and the
// AFL they carry to ParseAFL.
func FuzzParseResponse(f *testing.F) {
	f.Add(mustHex("80 06 1C00 08010100"))
	f.Add(mustHex("77 0A 82021C00 9404 08010100"))
	f.Fuzz(func(t *testing.T, data []byte) {
		elems, err := ParseResponse(data)
		if err != nil {
			return
		}
		if afl, ok := tlv.Find(elems, 0x94); ok {
			entries, err := ParseAFL(afl.Value)
			if err == nil && len(entries)*4 != len(afl.Value) {
				t.Fatalf("%d entries from %d bytes", len(entries), len(afl.Value))
			}
		}
	})
}
