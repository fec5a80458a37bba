package acquirer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

func TestGBKMerchantName(t *testing.T) {
	c := NewCodec()
	m := c.NewMessage()
	m.MTI("0810")
	if err := m.Field(43, "测试商户 KPOS Test Shop"); err != nil {
		t.Fatal(err)
	}
	body, err := c.Pack(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	// MTI 2 + bitmap 8 + 40 bytes of GBK padded with spaces.
	if len(body) != 50 || body[49] != ' ' {
		t.Fatalf("body %X", body)
	}
	if !bytes.HasPrefix(body[10:], []byte{0xB2, 0xE2, 0xCA, 0xD4}) { // 测试 in GBK
		t.Fatalf("field 43 not GBK: %X", body[10:18])
	}
	back, err := c.Unpack(body)
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := back.GetString(43); s != "测试商户 KPOS Test Shop" {
		t.Fatalf("field 43 %q", s)
	}
	// A name longer than 40 GBK bytes is refused, not truncated.
	m.Field(43, "测试商户测试商户测试商户测试商户测试商户测试商户")
	if _, err := c.Pack(m, nil); err == nil {
		t.Fatal("an over-long merchant name packed")
	}
}

func TestFraming(t *testing.T) {
	tpdu, _ := ParseTPDU("6000030000")
	hdr, _ := ParseHeader("603100310100")
	body, _ := hex.DecodeString("08000020000000C00012000003313030303031363138383032313030313032313031363200110000000100300003303120")
	var buf bytes.Buffer
	if err := WriteFrame(&buf, Frame{TPDU: tpdu, Header: hdr, Body: body}); err != nil {
		t.Fatal(err)
	}
	wire := buf.Bytes()
	if wire[0] != 0 || int(wire[1]) != 11+len(body) {
		t.Fatalf("length prefix %X", wire[:2])
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"whole", wire, nil},
		{"empty stream", nil, io.EOF},
		{"cut in length", wire[:1], io.ErrUnexpectedEOF},
		{"cut in body", wire[:20], ErrFrame},
		{"too long", []byte{0xFF, 0xFF}, ErrFrame},
		{"too short", []byte{0x00, 0x05, 1, 2, 3, 4, 5}, ErrFrame},
		{"not a transaction TPDU", append([]byte{wire[0], wire[1], 0x61}, wire[3:]...), ErrFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFrame(bytes.NewReader(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if f.TPDU != tpdu || f.Header != hdr || !bytes.Equal(f.Body, body) {
					t.Fatalf("frame %v %v %X", f.TPDU, f.Header, f.Body)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
	if got := tpdu.Reply().String(); got != "6000000003" {
		t.Fatalf("reply TPDU %s", got)
	}
	if h := hdr.WithRequirement(RequireSignOn); h.Requirement() != RequireSignOn || h[2]&0xF0 != hdr[2]&0xF0 {
		t.Fatalf("requirement %v", h)
	}
}

// timeoutReader fails as a connection past its deadline does.
type timeoutReader struct{}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func (timeoutReader) Read([]byte) (int, error) { return 0, timeoutErr{} }

func TestReadFrameKeepsTimeouts(t *testing.T) {
	_, err := ReadFrame(timeoutReader{})
	var te interface{ Timeout() bool }
	if !errors.As(err, &te) || !te.Timeout() || errors.Is(err, ErrFrame) {
		t.Fatalf("err %v: a timeout must stay a timeout", err)
	}
}

// FuzzReadFrame feeds the framing reader arbitrary streams: it must never
// panic, and whatever it accepts must write back to the same bytes.
func FuzzReadFrame(f *testing.F) {
	samples, _ := loadSamples(f)
	for _, s := range samples {
		if w, err := hex.DecodeString(s.Hex); err == nil && s.HasLengthPrefix {
			f.Add(w)
		}
	}
	f.Add([]byte{0x00, 0x15, 0x60})
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, in []byte) {
		fr, err := ReadFrame(bytes.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteFrame(&buf, fr); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), in[:buf.Len()]) {
			t.Fatalf("rewritten frame differs")
		}
	})
}

// FuzzUnpack feeds the dialect arbitrary bodies, as a host (or an attacker
// on the line) could: no panic, and an accepted body packs again into bytes
// that unpack to the same fields.
func FuzzUnpack(f *testing.F) {
	samples, _ := loadSamples(f)
	for _, s := range samples {
		if w, err := hex.DecodeString(s.Hex); err == nil {
			if s.HasLengthPrefix {
				w = w[2:]
			}
			if len(w) > s.HeaderLen {
				f.Add(w[s.HeaderLen:])
			}
		}
	}
	c := NewCodec()
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := c.Unpack(body)
		if err != nil {
			return
		}
		again, err := m.Pack()
		if err != nil {
			return // e.g. text that is not GBK-representable after lossy decoding
		}
		m2, err := c.Unpack(again)
		if err != nil {
			t.Fatalf("repacked body does not unpack: %v", err)
		}
		for id := 0; id <= 64; id++ {
			a, _ := m.GetBytes(id)
			b, _ := m2.GetBytes(id)
			if !bytes.Equal(a, b) {
				t.Fatalf("field %d changed across a repack", id)
			}
		}
		_ = VerifyMAC(m, body, rejectMAC{})
	})
}

type rejectMAC struct{}

func (rejectMAC) MAC([]byte) ([]byte, error)  { return make([]byte, MACLen), nil }
func (rejectMAC) VerifyMAC(_, _ []byte) error { return errors.New("rejected") }
