package qr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func kcodeQR(body string) string {
	s := KCodePrefix + body + ":"
	return s + CRC16Hex(s)
}

func TestClassify(t *testing.T) {
	cpm := readPayload(t, "emvco-cpm-example.txt")
	alipay := readPayload(t, "alipay-cpm-sample.txt")
	mpm := readPayload(t, "emvco-mpm-appendix-a.txt")
	kq := kcodeQR("999:2345-6789-ABCD-EFGH:20991231")
	tests := []struct {
		name   string
		text   string
		kind   Kind
		masked string
		err    error
		says   string // part of the error message
	}{
		{"UnionPay", "6225880123456789012", KindUnionPay, "6225***********9012", nil, ""},
		{"UnionPay with scanner CR LF", "6225880123456789012\r\n", KindUnionPay, "6225***********9012", nil, ""},
		{"WeChat 10", "101234567890123456", KindWeChat, "1012**********3456", nil, ""},
		{"WeChat 15", "151234567890123456", KindWeChat, "1512**********3456", nil, ""},
		{"Alipay published sample", alipay, KindAlipay, "2510****************2345", nil, ""},
		{"Alipay 16", "2800000000000001", KindAlipay, "2800********0001", nil, ""},
		{"Alipay 30 prefix 24 digits", "301234567890123456789012", KindAlipay, "3012****************9012", nil, ""},
		{"EMV CPM published", cpm, KindEMVCPM, "123456******3458", nil, ""},
		{"K-code QR", kq, KindKCode, "", nil, ""},
		{"UnionPay truncated", "622588012345678901", 0, "", ErrNotPaymentCode, "truncated"},
		{"WeChat truncated", "10123456789012345", 0, "", ErrNotPaymentCode, "WeChat"},
		{"Alipay too long", "2512345678901234567890123", 0, "", ErrNotPaymentCode, "Alipay"},
		{"unknown digits", "991234567890123456", 0, "", ErrNotPaymentCode, "no known payment scheme"},
		{"WeChat prefix 16", "161234567890123456", 0, "", ErrNotPaymentCode, "no known"},
		{"URL", "https://qr.alipay.com/fkx12345", 0, "", ErrNotPaymentCode, "web address"},
		{"weixin URL", "weixin://wxpay/bizpayurl?pr=abc", 0, "", ErrNotPaymentCode, "web address"},
		{"merchant-presented", mpm, 0, "", ErrNotPaymentCode, "merchant-presented"},
		{"EMV CPM truncated", cpm[:40], 0, "", ErrNotPaymentCode, "damaged"},
		{"text", "hello world", 0, "", ErrNotPaymentCode, "unknown"},
		{"empty", "  \r\n", 0, "", ErrNotPaymentCode, "empty"},
		{"K-code QR damaged", strings.Replace(kq, "2345", "2346", 1), 0, "", ErrCRC, ""},
		{"K-code QR truncated", kq[:len(kq)-3], 0, "", ErrMalformed, "truncated"},
		{"K-code QR other version", "KPOS2:999:x:y:ABCD", 0, "", ErrNotPaymentCode, "version"},
		{"huge", strings.Repeat("6", 5000), 0, "", ErrNotPaymentCode, "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Classify(tt.text)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Classify error = %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.says) {
					t.Errorf("error %q does not say %q", err, tt.says)
				}
				if c.Kind.Payment() {
					t.Errorf("a rejected code came back as payment kind %v", c.Kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("Classify: %v", err)
			}
			if c.Kind != tt.kind {
				t.Fatalf("kind = %v, want %v", c.Kind, tt.kind)
			}
			if c.Text() != strings.TrimSpace(tt.text) {
				t.Errorf("Text() = %q", c.Text())
			}
			if tt.masked != "" && c.Masked() != tt.masked {
				t.Errorf("Masked() = %q, want %q", c.Masked(), tt.masked)
			}
			// The code never reaches a formatted string in the clear.
			for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
				if s := fmt.Sprintf(verb, c); strings.Contains(s, c.Text()) {
					t.Errorf("%s shows the code: %s", verb, s)
				}
			}
		})
	}
}

func TestKindPayment(t *testing.T) {
	for _, k := range []Kind{KindUnionPay, KindWeChat, KindAlipay, KindEMVCPM} {
		if !k.Payment() {
			t.Errorf("%v is not a payment", k)
		}
	}
	for _, k := range []Kind{0, KindKCode, 99} {
		if k.Payment() {
			t.Errorf("%v is a payment", k)
		}
	}
}

// BenchmarkClassify measures classifying a scanned EMV consumer code, the
// slowest kind (base64 and BER-TLV).
func BenchmarkClassify(b *testing.B) {
	text := readPayload(b, "emvco-cpm-example.txt")
	for b.Loop() {
		if _, err := Classify(text); err != nil {
			b.Fatal(err)
		}
	}
}
