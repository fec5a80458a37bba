package issuerscript

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"kpos/firmware/emv/tlv"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseAndRun(t *testing.T) {
	cases := []struct {
		name    string
		scripts string
		kind    byte
		sws     []uint16 // the card's answers, in order
		want    []string // results
	}{
		{"one command performed", "71 0E 9F1804 01020304 86 05 8418000000", 0x71, []uint16{0x9000}, []string{"2001020304"}},
		{"warning counts as performed", "72 07 86 05 8424000000", 0x72, []uint16{0x6283}, []string{"2000000000"}},
		{"second command fails", "71 0E 86 05 8418000000 86 05 8418000000", 0x71, []uint16{0x9000, 0x6A82}, []string{"1200000000"}},
		{"short command", "71 04 86 02 8418", 0x71, nil, []string{"1100000000"}},
		{"unknown element", "71 09 86 05 8418000000 5A00", 0x71, nil, []string{"1000000000"}},
		{"other kind left", "72 07 86 05 8418000000", 0x71, nil, nil},
		{"two scripts", "71 07 86 05 8418000000 71 07 86 05 8418000000", 0x71, []uint16{0x9000, 0x6985}, []string{"2000000000", "1100000000"}},
	}
	for _, c := range cases {
		scripts, err := Parse(mustHex(c.scripts), 0x71)
		if c.kind == 0x72 {
			scripts, err = Parse(mustHex(c.scripts), 0x72)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sws := c.sws
		var got []string
		for _, sc := range scripts {
			res, ok, err := sc.Run(func([]byte) (uint16, error) {
				sw := sws[0]
				sws = sws[1:]
				return sw, nil
			})
			if err != nil || ok != (res[0] == 0x20) {
				t.Fatalf("%s: %X %t %v", c.name, res, ok, err)
			}
			got = append(got, fmt.Sprintf("%X", res))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || len(sws) != 0 {
			t.Errorf("%s: %v, want %v (%d answers left)", c.name, got, c.want, len(sws))
		}
	}
	if _, err := Parse(mustHex("71 09 86"), 0x71); err == nil {
		t.Error("bad TLV parsed")
	}
	tooMany := mustHex("71 5A" + strings.Repeat("86 04 84180000", 15))
	sc, _ := Parse(tooMany, 0x71)
	if len(sc) != 1 || sc[0].Malformed {
		t.Errorf("15 commands: %+v", sc)
	}
	boom := errors.New("card gone")
	if _, _, err := sc[0].Run(func([]byte) (uint16, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
}

// FuzzParse feeds arbitrary script bytes to the parser and runs what it
// finds against a card that accepts everything.
func FuzzParse(f *testing.F) {
	f.Add(mustHex("71 0E 9F1804 01020304 86 05 8418000000"), true)
	f.Add(mustHex("72 07 86 05 8424000000"), false)
	f.Fuzz(func(t *testing.T, b []byte, before bool) {
		kind := 0x72
		if before {
			kind = 0x71
		}
		scripts, err := Parse(b, tlv.Tag(kind))
		if err != nil {
			return
		}
		for _, sc := range scripts {
			sent := 0
			res, ok, err := sc.Run(func(cmd []byte) (uint16, error) { sent++; return 0x9000, nil })
			if err != nil || sent > maxCommands || ok != (res[0] == 0x20) {
				t.Fatalf("%X %t %v after %d commands", res, ok, err, sent)
			}
		}
	})
}
