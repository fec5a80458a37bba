package qr

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// Kind is what a scanned consumer-side code is.
type Kind int

// The kinds of code the terminal accepts from a scanner.
const (
	KindUnionPay Kind = iota + 1 // UnionPay (云闪付) payment code: 19 digits starting 62
	KindWeChat                   // WeChat Pay payment code: 18 digits starting 10 to 15
	KindAlipay                   // Alipay payment code: 16 to 24 digits starting 25 to 30
	KindEMVCPM                   // EMVCo consumer-presented code: base64 of BER-TLV opening 85 "CPV01"
	KindKCode                    // a bank's K-code QR letter: binding, not a payment
)

func (k Kind) String() string {
	switch k {
	case KindUnionPay:
		return "UnionPay"
	case KindWeChat:
		return "WeChat Pay"
	case KindAlipay:
		return "Alipay"
	case KindEMVCPM:
		return "EMV QR"
	case KindKCode:
		return "K code"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Payment reports whether a code of this kind pays: every kind except the
// K-code QR, which binds a terminal.
func (k Kind) Payment() bool { return k >= KindUnionPay && k <= KindEMVCPM }

// KCodePrefix opens every K-code QR (see the binding package and
// docs/kcode.md for the whole format).
const KCodePrefix = "KPOS1:"

// Code is a classified scanned code. Its text is a bearer credential: String,
// GoString and every fmt verb show only the masked form. Text returns it for
// the host message.
type Code struct {
	Kind Kind
	CPM  *CPM // set for KindEMVCPM
	text string
}

// Text returns the code as scanned (trimmed), for the upstream request or,
// for a K-code QR, for the binding package. Never display or log it.
func (c Code) Text() string { return c.text }

// Masked returns the form screens and receipts show: the first four and last
// four characters of a numeric payment code, the masked account of an EMV
// code, the bank and masked code of a K-code QR.
func (c Code) Masked() string {
	switch c.Kind {
	case KindEMVCPM:
		if c.CPM != nil {
			return c.CPM.Account()
		}
		return ""
	case KindKCode:
		return MaskCode(strings.TrimPrefix(c.text, KCodePrefix), 8)
	}
	return MaskCode(c.text, 4)
}

// MaskCode keeps the first keep and last four characters of s and stars the
// rest; a string too short to keep anything is starred entirely.
func MaskCode(s string, keep int) string {
	n := len(s)
	if n <= keep+4 {
		return strings.Repeat("*", n)
	}
	return s[:keep] + strings.Repeat("*", n-keep-4) + s[n-4:]
}

// String returns the kind and the masked code.
func (c Code) String() string {
	if c.Kind == KindEMVCPM && c.CPM != nil {
		return c.CPM.String()
	}
	return c.Kind.String() + " " + c.Masked()
}

// GoString masks %#v.
func (c Code) GoString() string { return "qr.Code(" + c.String() + ")" }

// Format prints the masked form for every verb.
func (c Code) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", c.String())
		return
	}
	fmt.Fprint(f, c.String())
}

// maxScanLen bounds what Classify looks at.
const maxScanLen = 1024

// Classify decides what a scanned consumer-side code is. It accepts UnionPay,
// WeChat Pay and Alipay payment codes, EMVCo consumer-presented codes (parsed
// with ParseCPMText) and K-code QR letters (envelope and CRC checked; the
// binding package checks the rest). Everything else — web addresses,
// merchant-presented codes, foreign or truncated codes — fails with an error
// wrapping ErrNotPaymentCode that says what was seen. An unknown code is never
// a payment.
func Classify(text string) (Code, error) {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return Code{}, notPayment("empty code")
	case len(t) > maxScanLen:
		return Code{}, notPayment("code of %d characters is far too long for a payment code", len(t))
	case isDigits(t):
		return classifyDigits(t)
	case strings.HasPrefix(t, KCodePrefix):
		if err := CheckKCodeEnvelope(t); err != nil {
			return Code{}, err
		}
		return Code{Kind: KindKCode, text: t}, nil
	case strings.HasPrefix(strings.ToUpper(t), "KPOS"):
		return Code{}, notPayment("a K-code QR of an unknown version")
	case strings.Contains(t, "://") || strings.HasPrefix(strings.ToLower(t), "www."):
		return Code{}, notPayment("a web address (a merchant's or a shop's code, not a customer's payment code)")
	case strings.HasPrefix(t, "000201"):
		return Code{}, notPayment("a merchant-presented code: the customer scans it with their app, the terminal does not")
	}
	if raw, err := base64.StdEncoding.DecodeString(t); err == nil && len(raw) > 0 && raw[0] == 0x85 {
		cpm, err := ParseCPM(raw)
		if err != nil {
			return Code{}, fmt.Errorf("%w: damaged EMV consumer-presented code: %w", ErrNotPaymentCode, err)
		}
		return Code{Kind: KindEMVCPM, CPM: &cpm, text: t}, nil
	}
	return Code{}, notPayment("an unknown code")
}

func classifyDigits(t string) (Code, error) {
	n := len(t)
	p2 := t[:min(2, n)]
	switch {
	case p2 == "62":
		if n == 19 {
			return Code{Kind: KindUnionPay, text: t}, nil
		}
		return Code{}, notPayment("looks like a UnionPay payment code but has %d digits, not 19 (truncated?)", n)
	case p2 >= "10" && p2 <= "15":
		if n == 18 {
			return Code{Kind: KindWeChat, text: t}, nil
		}
		return Code{}, notPayment("looks like a WeChat Pay payment code but has %d digits, not 18 (truncated?)", n)
	case p2 >= "25" && p2 <= "30":
		if n >= 16 && n <= 24 {
			return Code{Kind: KindAlipay, text: t}, nil
		}
		return Code{}, notPayment("looks like an Alipay payment code but has %d digits, not 16 to 24 (truncated?)", n)
	}
	return Code{}, notPayment("a %d-digit number of no known payment scheme", n)
}

func notPayment(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrNotPaymentCode, fmt.Sprintf(format, args...))
}

// CheckKCodeEnvelope checks the envelope every K-code QR shares: the prefix
// KCodePrefix and a last ':'-separated field holding CRC16Hex of everything
// before it, separator included. It says nothing about the fields inside.
func CheckKCodeEnvelope(t string) error {
	if !strings.HasPrefix(t, KCodePrefix) {
		return malformed("K-code QR does not start with %s", KCodePrefix)
	}
	i := strings.LastIndexByte(t, ':')
	crc := t[i+1:]
	if len(crc) != 4 || !isUpperHex(crc) {
		return malformed("K-code QR does not end with a four-digit checksum (truncated?)")
	}
	if want := CRC16Hex(t[:i+1]); want != crc {
		return fmt.Errorf("%w: K-code QR says %s, contents give %s", ErrCRC, crc, want)
	}
	return nil
}
