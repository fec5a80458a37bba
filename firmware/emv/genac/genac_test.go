package genac

import (
	"bytes"
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

func TestParseResponse(t *testing.T) {
	cases := []struct {
		name  string
		data  string
		elems int
		ac    string
		bad   bool
	}{
		{"format 1", "80 12 80 0001 1122334455667788 07010103600000", 4, "1122334455667788", false},
		{"format 1 without IAD", "80 0B 40 0001 1122334455667788", 3, "1122334455667788", false},
		{"format 1 too short", "80 0A 40 0001 11223344556677", 0, "", true},
		{"format 2", "77 0F 9F2701 80 9F3602 0001 9F2603 112233", 3, "112233", false},
		{"other template", "70 03 9F2700", 0, "", true},
		{"not TLV", "80", 0, "", true},
	}
	for _, c := range cases {
		_, elems, err := ParseResponse(mustHex(c.data))
		if c.bad {
			if !errors.Is(err, apdu.ErrCardResponse) {
				t.Errorf("%s: error %v", c.name, err)
			}
			continue
		}
		if err != nil || len(elems) != c.elems {
			t.Fatalf("%s: %d elements, %v", c.name, len(elems), err)
		}
		if ac, ok := tlv.Find(elems, 0x9F26); !ok || !bytes.Equal(ac.Value, mustHex(c.ac)) {
			t.Errorf("%s: AC %X", c.name, ac.Value)
		}
	}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		p1     byte
		cid    []byte
		atc    []byte
		hasAC  bool
		wantOK bool
	}{
		{"TC for TC", TC, []byte{0x40}, []byte{0, 1}, true, true},
		{"AAC for TC", TC, []byte{0x00}, []byte{0, 1}, true, true},
		{"ARQC for TC", TC, []byte{0x80}, []byte{0, 1}, true, true},
		{"TC for ARQC", ARQC, []byte{0x40}, []byte{0, 1}, true, false},
		{"TC for AAC", AAC, []byte{0x40}, []byte{0, 1}, true, false},
		{"RFU", TC, []byte{0xC0}, []byte{0, 1}, true, false},
		{"no CID", TC, nil, []byte{0, 1}, true, false},
		{"short ATC", TC, []byte{0x40}, []byte{1}, true, false},
		{"no AC", TC, []byte{0x40}, []byte{0, 1}, false, false},
		{"no AC under CDA", TC | P1CDA, []byte{0x40}, []byte{0, 1}, false, true},
		{"no AC, CDA, AAC", TC | P1CDA, []byte{0x00}, []byte{0, 1}, false, false},
	}
	for _, c := range cases {
		cid, err := Check(c.p1, c.cid, c.atc, c.hasAC)
		if (err == nil) != c.wantOK || err != nil && !errors.Is(err, apdu.ErrCardResponse) {
			t.Errorf("%s: %v", c.name, err)
		}
		if err == nil && cid != c.cid[0] {
			t.Errorf("%s: CID %02X", c.name, cid)
		}
	}
}

func TestARC(t *testing.T) {
	for code, want := range map[string]string{"00": "00", "5": "5 ", "": "  ", "\x01A": " A", "Z3X": "Z3"} {
		if got := string(ARC(code)); got != want {
			t.Errorf("ARC(%q) = %q, want %q", code, got, want)
		}
	}
}

// FuzzParseResponse feeds arbitrary GENERATE AC responses to the parser
// and the check.
func FuzzParseResponse(f *testing.F) {
	f.Add(mustHex("80 12 80 0001 1122334455667788 07010103600000"), byte(0x80))
	f.Add(mustHex("77 0F 9F2701 80 9F3602 0001 9F2603 112233"), byte(0x50))
	f.Fuzz(func(t *testing.T, data []byte, p1 byte) {
		_, elems, err := ParseResponse(data)
		if err != nil {
			return
		}
		var cid, atc []byte
		hasAC := false
		for _, e := range elems {
			switch e.Tag {
			case 0x9F27:
				cid = e.Value
			case 0x9F36:
				atc = e.Value
			case 0x9F26:
				hasAC = true
			}
		}
		if c, err := Check(p1, cid, atc, hasAC); err == nil && c&RFU == RFU {
			t.Fatalf("RFU cryptogram %02X accepted", c)
		}
	})
}
