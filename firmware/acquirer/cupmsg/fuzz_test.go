package cupmsg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/moov-io/iso8583"
)

// FuzzFields feeds the sub-field and framing parsers arbitrary text: no
// panic, and what parses packs back to a form that parses to the same value.
func FuzzFields(f *testing.F) {
	for _, s := range []string{"22000727000600070", "0000006000000030000000010000011", "1002156C000000000100",
		"0000010000421122", "01020000   48020000", "A1018281234567890123456", "6000030000", "603100310100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseField60(s); err == nil {
			if w, err := ParseField60(v.String()); err != nil || w.Batch != v.Batch || w.MsgType != v.MsgType {
				t.Fatalf("field 60 %q: %+v then %+v %v", s, v, w, err)
			}
		}
		if v, err := ParseField61(s); err == nil {
			if w, err := ParseField61(v.String()); err != nil || w.Trace != v.Trace || w.Batch != v.Batch {
				t.Fatalf("field 61 %q", s)
			}
		}
		if v, err := ParseField48(s); err == nil {
			if w, err := ParseField48(v.String()); err != nil || w.Domestic != v.Domestic {
				t.Fatalf("field 48 %q", s)
			}
		}
		if v, err := ParseField54(s); err == nil {
			if w, err := ParseField54(v.String()); err != nil || w.Amount != v.Amount {
				t.Fatalf("field 54 %q", s)
			}
		}
		if issuer, acq := ParseField44(s); len(issuer) > 11 || len(acq) > 11 || issuer != strings.TrimSpace(issuer) {
			t.Fatalf("field 44 %q: %q %q", s, issuer, acq)
		}
		if v, err := ParseTags([]byte(s)); err == nil {
			if b, err := v.Bytes(); err != nil || string(b) != s {
				t.Fatalf("tags %q re-encode to %q %v", s, b, err)
			}
		}
		if tp, err := ParseTPDU(s); err == nil && !strings.EqualFold(tp.String(), s) {
			t.Fatalf("TPDU %q prints as %s", s, tp)
		}
		if h, err := ParseHeader(s); err == nil && !strings.EqualFold(h.String(), s) {
			t.Fatalf("header %q prints as %s", s, h)
		}
	})
}

// FuzzMessages feeds frames and bodies from the line: a frame that parses
// writes back to the same bytes, and a body that unpacks goes through each
// typed message (Unmarshal, Marshal, Pack) to bytes that go through it again
// unchanged.
func FuzzMessages(f *testing.F) {
	raw, err := os.ReadFile("../testdata/typed-messages.json")
	if err != nil {
		f.Fatal(err)
	}
	var samples map[string]string
	if err := json.Unmarshal(raw, &samples); err != nil {
		f.Fatal(err)
	}
	for _, h := range samples {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	c := NewCodec()
	f.Fuzz(func(t *testing.T, b []byte) {
		if fr, err := ParseFrame(b); err == nil && !bytes.Equal(fr.Bytes(), b) {
			t.Fatalf("frame %X writes back as %X", b, fr.Bytes())
		}
		m, err := c.Unpack(b)
		if err != nil {
			return
		}
		for _, typed := range []func() any{
			func() any { return &Request{} }, func() any { return &Reversal{} }, func() any { return &Response{} },
		} {
			once, ok := throughStruct(t, c, m, typed())
			if !ok {
				continue
			}
			m2, err := c.Unpack(once)
			if err != nil {
				t.Fatalf("%T: packed message does not unpack: %v", typed(), err)
			}
			twice, ok := throughStruct(t, c, m2, typed())
			if !ok || !bytes.Equal(once, twice) {
				t.Fatalf("%T: %X then %X", typed(), once, twice)
			}
		}
	})
}

// throughStruct reads m into v, marshals v and packs it; false when the
// message has no field v names or v's fields do not pack (text that is
// not GBK after a lossy decoding, a fixed field the library padded).
func throughStruct(t *testing.T, c *Codec, m *iso8583.Message, v any) ([]byte, bool) {
	t.Helper()
	if err := Unmarshal(m, v); err != nil {
		return nil, false
	}
	again, err := c.Marshal(v)
	if err != nil {
		t.Fatalf("%T: marshal: %v", v, err)
	}
	out, err := c.Pack(again, nil)
	if err != nil {
		return nil, false
	}
	return out, true
}
