package qr

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func FuzzParseMPM(f *testing.F) {
	f.Add(readPayload(f, "emvco-mpm-appendix-a.txt"))
	f.Add(readPayload(f, "bcb-brcode-manual.txt"))
	for _, amount := range []string{"", "0.01"} {
		p, err := terminalMPM(amount).Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add("000201")
	f.Fuzz(func(t *testing.T, payload string) {
		checkMPM(t, payload)
		// The same text with a correct checksum reaches the structure checks.
		checkMPM(t, withCRC(strings.TrimSuffix(payload, "6304")))
	})
}

func checkMPM(t *testing.T, payload string) {
	{
		m, err := ParseMPM(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCRC) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		// Whatever parses encodes again, and the encoding parses back to the same.
		enc, err := m.Encode()
		if err != nil {
			t.Fatalf("parsed payload does not encode: %v\n%q", err, payload)
		}
		again, err := ParseMPM(enc)
		if err != nil {
			t.Fatalf("encoding does not parse: %v\n%q", err, enc)
		}
		if !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip changed the payload\n%+v\n%+v", m, again)
		}
	}
}

func FuzzParseCPM(f *testing.F) {
	raw, err := base64.StdEncoding.DecodeString(readPayload(f, "emvco-cpm-example.txt"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte{0x85, 0x05, 'C', 'P', 'V', '0', '1', 0x61, 0x00})
	f.Add([]byte{0x85, 0x82, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseCPM(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(c.Apps) == 0 {
			t.Fatal("accepted without an application template")
		}
		_ = c.String()
	})
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{
		readPayload(f, "emvco-cpm-example.txt"), readPayload(f, "alipay-cpm-sample.txt"),
		readPayload(f, "emvco-mpm-appendix-a.txt"), "6225880123456789012", "101234567890123456",
		kcodeQR("999:2345-6789-ABCD-EFGH:20991231"), "https://example.com/", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Classify(text)
		if err != nil {
			if c.Kind != 0 {
				t.Fatalf("error with a kind: %v %v", c.Kind, err)
			}
			if !errors.Is(err, ErrNotPaymentCode) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrCRC) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if c.Kind < KindUnionPay || c.Kind > KindKCode {
			t.Fatalf("unknown kind %v", c.Kind)
		}
		if c.Kind == KindEMVCPM && c.CPM == nil {
			t.Fatal("EMV code without its parse")
		}
		if len(c.Text()) >= 9 && strings.Contains(c.String(), c.Text()) {
			t.Fatalf("String shows the code: %s", c.String())
		}
	})
}
