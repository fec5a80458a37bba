package hal

import (
	"errors"
	"fmt"
	"strings"
)

// PAN is a primary account number. Its zero value is empty. Every way of
// printing it (String, %v, %s, %q, %+v, %#v, JSON, text marshalling) yields the
// masked form with the first six and last four digits, so a PAN cannot reach a
// log, a screen or an error string in the clear by accident. Code that needs the
// digits (a PIN block, an ISO 8583 field, a card's track) asks for them with
// Digits and takes responsibility for where they go.
type PAN struct {
	digits string
}

// ErrBadPAN reports a PAN that is not 12 to 19 decimal digits.
var ErrBadPAN = errors.New("hal: PAN must be 12 to 19 digits")

// ParsePAN validates s (digits only, 12 to 19 of them) and returns it as a PAN.
// The error never contains the digits.
func ParsePAN(s string) (PAN, error) {
	if len(s) < 12 || len(s) > 19 {
		return PAN{}, ErrBadPAN
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return PAN{}, ErrBadPAN
		}
	}
	return PAN{digits: s}, nil
}

// MustPAN is ParsePAN for test fixtures and constants; it panics on a bad PAN.
func MustPAN(s string) PAN {
	p, err := ParsePAN(s)
	if err != nil {
		panic(err)
	}
	return p
}

// Digits returns the PAN in the clear. Use it only to build protected
// messages (PIN blocks, host fields, card data), never for display or logs.
func (p PAN) Digits() string { return p.digits }

// IsZero reports whether p holds no PAN.
func (p PAN) IsZero() bool { return p.digits == "" }

// Masked returns the first six and last four digits with the middle starred,
// the only form a receipt, a screen or a log may show.
func (p PAN) Masked() string {
	n := len(p.digits)
	if n == 0 {
		return ""
	}
	if n <= 10 {
		return strings.Repeat("*", n)
	}
	return p.digits[:6] + strings.Repeat("*", n-10) + p.digits[n-4:]
}

// Last4 returns the last four digits, for short references on screens.
func (p PAN) Last4() string {
	if len(p.digits) < 4 {
		return ""
	}
	return p.digits[len(p.digits)-4:]
}

// String returns the masked PAN.
func (p PAN) String() string { return p.Masked() }

// GoString returns the masked PAN so that %#v does not leak it.
func (p PAN) GoString() string { return fmt.Sprintf("hal.PAN(%q)", p.Masked()) }

// Format prints the masked PAN for every verb.
func (p PAN) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", p.Masked())
	default:
		fmt.Fprint(f, p.Masked())
	}
}

// MarshalText returns the masked PAN, so JSON and TOML never carry the digits.
func (p PAN) MarshalText() ([]byte, error) { return []byte(p.Masked()), nil }

// Equal reports whether two PANs are the same number.
func (p PAN) Equal(q PAN) bool { return p.digits == q.digits }

// LuhnValid reports whether the decimal digits d end in a correct Luhn
// check digit (ISO/IEC 7812-1 Annex B). It is false for an empty string or
// one with anything but digits.
func LuhnValid(d string) bool {
	if d == "" {
		return false
	}
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if n < 0 || n > 9 {
			return false
		}
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}
