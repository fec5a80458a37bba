package acquirer

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

type sample struct {
	Name            string `json:"name"`
	Hex             string `json:"hex"`
	HasLengthPrefix bool   `json:"has_length_prefix"`
	HeaderLen       int    `json:"header_len"`
	MABOnly         bool   `json:"mab_only"`
	Source          string `json:"source"`
}

type decodedSample struct {
	Name   string            `json:"name"`
	TPDU   *string           `json:"tpdu"`
	Header *string           `json:"header"`
	Fields map[string]string `json:"fields"`
}

func loadSamples(t testing.TB) ([]sample, map[string]decodedSample) {
	t.Helper()
	var s struct {
		Messages []sample `json:"messages"`
	}
	data, err := os.ReadFile("../../testdata/iso8583/cup-samples.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	var d []decodedSample
	data, err = os.ReadFile("../../testdata/iso8583/cup-samples-decoded.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	byName := map[string]decodedSample{}
	for _, x := range d {
		byName[x.Name] = x
	}
	if len(s.Messages) != 16 || len(byName) != 16 {
		t.Fatalf("want 16 samples and 16 decodings, have %d and %d", len(s.Messages), len(byName))
	}
	return s.Messages, byName
}

// latin1 turns a string that an independent decoder produced by reading
// bytes as Latin-1 back into those bytes.
func latin1(s string) ([]byte, bool) {
	var out []byte
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// sameValue reports whether our field value agrees with the independent
// decoder's rendering of it: equal text, our bytes in hex (binary fields),
// or the same bytes that it rendered as Latin-1 (raw or GBK text).
func sameValue(ours []byte, oursText, theirs string) bool {
	if oursText == theirs || oursText == strings.TrimRight(theirs, " ") || strings.ToUpper(hex.EncodeToString(ours)) == theirs {
		return true
	}
	if b, ok := latin1(theirs); ok {
		if bytes.Equal(b, ours) {
			return true
		}
		if g, err := simplifiedchinese.GBK.NewDecoder().Bytes(b); err == nil && string(g) == oursText {
			return true
		}
	}
	return false
}

func TestPublishedSamplesUnpackAndRepack(t *testing.T) {
	samples, decoded := loadSamples(t)
	codec := NewCodec()
	for _, s := range samples {
		t.Run(s.Name, func(t *testing.T) {
			wire, err := hex.DecodeString(s.Hex)
			if err != nil {
				t.Fatal(err)
			}
			want := decoded[s.Name]
			rest := wire
			if s.HasLengthPrefix {
				declared := int(binary.BigEndian.Uint16(wire))
				rest = wire[2:]
				_, err := ReadFrame(bytes.NewReader(wire))
				if declared != len(rest) {
					// A defect of the source: the framing reader must refuse it.
					if !errors.Is(err, ErrFrame) {
						t.Fatalf("declared %d, have %d: ReadFrame error %v, want ErrFrame", declared, len(rest), err)
					}
				} else if err != nil {
					t.Fatalf("ReadFrame: %v", err)
				}
			}
			var body []byte
			var fr Frame
			if s.HeaderLen == 11 {
				fr, err = ParseFrame(rest)
				if err != nil {
					t.Fatal(err)
				}
				if got := fr.TPDU.String(); want.TPDU == nil || got != strings.ToUpper(*want.TPDU) {
					t.Errorf("TPDU %s, want %v", got, want.TPDU)
				}
				if got := fr.Header.String(); want.Header == nil || got != strings.ToUpper(*want.Header) {
					t.Errorf("header %s, want %v", got, want.Header)
				}
				body = fr.Body
			} else {
				body = rest
			}
			if s.MABOnly {
				// A MAC block: the message up to field 63, field 64 announced
				// by the bitmap but not yet computed.
				body = append(append([]byte(nil), body...), make([]byte, MACLen)...)
			}
			m, err := codec.Unpack(body)
			if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			for id, theirs := range want.Fields {
				num := 0
				if id != "t" {
					if num, err = strconv.Atoi(id); err != nil {
						t.Fatal(err)
					}
				}
				ours, err := m.GetBytes(num)
				if err != nil {
					t.Errorf("field %s: %v", id, err)
					continue
				}
				oursText, _ := m.GetString(num)
				if !sameValue(ours, oursText, theirs) {
					t.Errorf("field %s = %q (%X), independent decoder says %q", id, oursText, ours, theirs)
				}
			}
			// Every field we found is one the independent decoder found.
			for id := 2; id <= 64; id++ {
				if m.Bitmap().IsSet(id) {
					if _, ok := want.Fields[strconv.Itoa(id)]; !ok {
						t.Errorf("field %d present in our unpacking only", id)
					}
				}
			}
			again, err := m.Pack()
			if err != nil {
				t.Fatalf("repack: %v", err)
			}
			if !bytes.Equal(again, body) {
				t.Fatalf("repack differs:\n got %X\nwant %X", again, body)
			}
			if s.HeaderLen == 11 && s.HasLengthPrefix && int(binary.BigEndian.Uint16(wire)) == len(rest) {
				var buf bytes.Buffer
				if err := WriteFrame(&buf, Frame{TPDU: fr.TPDU, Header: fr.Header, Body: again}); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(buf.Bytes(), wire) {
					t.Fatalf("reframed differs:\n got %X\nwant %X", buf.Bytes(), wire)
				}
			}
		})
	}
}

func ExampleCodec_Unpack() {
	body, _ := hex.DecodeString("08000020000000C00012000003313030303031363138383032313030313032313031363200110000000100300003303120")
	m, err := NewCodec().Unpack(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	mti, _ := m.GetMTI()
	stan, _ := m.GetString(11)
	f60, _ := m.GetString(60)
	fmt.Println(mti, stan, f60)
	// Output: 0800 000003 00000001003
}
