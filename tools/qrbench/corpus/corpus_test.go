package corpus

import (
	"bytes"
	"strings"
	"testing"

	"kpos/firmware/qr"
)

// The payloads are what the terminal's own parsers accept: merchant codes
// parse as EMVCo MPM (CRC included), payment codes classify as the wallet
// they imitate.
func TestPayloadsAreRealistic(t *testing.T) {
	ps := Payloads(3, 60)
	if again := Payloads(3, 60); strings.Join(again, "\n") != strings.Join(ps, "\n") {
		t.Fatal("payloads differ for the same seed")
	}
	counts := map[string]int{}
	for _, p := range ps {
		switch {
		case strings.HasPrefix(p, "000201"):
			if _, err := qr.ParseMPM(p); err != nil {
				t.Errorf("MPM %q: %v", p, err)
			}
			counts["mpm"]++
		case strings.Contains(p, "://"):
			counts["url"]++
		default:
			c, err := qr.Classify(p)
			if err != nil {
				t.Errorf("payment code %q: %v", p, err)
				continue
			}
			counts[c.Kind.String()]++
		}
	}
	for _, k := range []string{"mpm", "url", "UnionPay", "WeChat Pay", "Alipay"} {
		if counts[k] == 0 {
			t.Errorf("no %s payloads in %v", k, counts)
		}
	}
}

// Both encoders give valid symbols, and frames are deterministic for a seed
// and differ between variants.
func TestSymbolsAndFrames(t *testing.T) {
	p := Payloads(1, 1)[0]
	enc := NewEncoder()
	a, err := enc.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GoEncoder().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	// gozxing encodes in one mode, qrencode mixes modes: its symbol is
	// never the larger one.
	for _, n := range []int{a.N, b.N} {
		if n < 21 || (n-17)%4 != 0 {
			t.Errorf("symbol of %d modules is not a QR size", n)
		}
	}
	if enc.Name == "qrencode" && a.N > b.N {
		t.Errorf("qrencode gave %d modules, gozxing %d", a.N, b.N)
	}
	seen := map[string]Variant{}
	for _, v := range Variants {
		f := Generate(a, p, v, 1, 3)
		g := Generate(a, p, v, 1, 3)
		if !bytes.Equal(f.Pix, g.Pix) || len(f.Pix) != Width*Height {
			t.Fatalf("%s: frame not deterministic", v)
		}
		if prev, ok := seen[string(f.Pix)]; ok {
			t.Errorf("%s and %s gave the same frame", v, prev)
		}
		seen[string(f.Pix)] = v
		if f.Param == "" || f.Payload != p {
			t.Errorf("%s: frame %+v", v, f.Param)
		}
	}
}

func TestCRC16(t *testing.T) {
	// CRC-16/CCITT-FALSE check value.
	if got := crc16("123456789"); got != "29B1" {
		t.Errorf("crc16 = %s, want 29B1", got)
	}
}

// Every charset sample is representable in its character set, and a code
// without an ECI carries exactly those bytes (gozxing's reader, told the
// set, gives the text back).
func TestCharsetSamples(t *testing.T) {
	for _, v := range CharsetVariants {
		for _, s := range samples[v] {
			b, err := s.Bytes()
			if err != nil {
				t.Fatalf("%s: %v", v, err)
			}
			if s.Charset != "UTF-8" && bytes.Equal(b, []byte(s.Text)) {
				t.Errorf("%s %q: bytes are the UTF-8 text", v, s.Text)
			}
			if _, err := EncodeSample(s); err != nil {
				t.Errorf("%s %q: %v", v, s.Text, err)
			}
		}
	}
}

// Screen frames are deterministic and differ from the camera's.
func TestScreenFrames(t *testing.T) {
	p := Payloads(2, 1)[0]
	sym, err := NewEncoder().Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	clean := Generate(sym, p, Clean, 2, 0)
	for _, v := range ScreenVariants {
		a, b := Generate(sym, p, v, 2, 0), Generate(sym, p, v, 2, 0)
		if !bytes.Equal(a.Pix, b.Pix) {
			t.Errorf("%s: frames differ for the same seed", v)
		}
		if bytes.Equal(a.Pix, clean.Pix) {
			t.Errorf("%s: frame is the clean one", v)
		}
	}
}
