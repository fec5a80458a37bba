package binding

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Alphabet is the K code's 32 characters: digits and upper-case letters
// without 0, O, 1 and I, which are easy to confuse on paper and on a keypad.
// A character's value is its index.
const Alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// KCodeLen is the number of characters in a K code, check character included.
const KCodeLen = 16

// Field widths, in characters: bank, serial, secret, check.
const (
	bankChars   = 2 // 10 bits: the three-digit bank code 000–999
	serialChars = 5 // 25 bits: the bank's issue serial number
	secretChars = 8 // 40 bits: random, the part that makes the code a secret
)

// MaxSerial is the largest serial number a K code can carry.
const MaxSerial = 1<<(5*serialChars) - 1

// Errors of K code parsing; every parse error wraps ErrKCode and one of these.
var (
	ErrKCode        = errors.New("binding: not a valid K code")
	ErrKCodeLength  = errors.New("binding: K code has the wrong length")
	ErrKCodeChar    = errors.New("binding: K code has a character that is never used")
	ErrKCodeCheck   = errors.New("binding: K code check character does not match (typo?)")
	ErrKCodeQR      = errors.New("binding: not a valid K-code QR")
	ErrExpired      = errors.New("binding: expired")
	ErrForeignBank  = errors.New("binding: K code of another bank")
	ErrUnknownBank  = errors.New("binding: K code of no known bank")
	errSecretLength = errors.New("binding: K code secret must be 40 bits")
)

// KCode is a parsed, checked K code. Its String, GoString and every fmt verb
// show only the bank and serial part; Text returns the whole code for the key
// derivation and the host message.
type KCode struct {
	Bank   string    // three-digit bank code, e.g. "999"
	Serial uint32    // the bank's serial number of this code
	Expiry time.Time // from the QR form: the last day the code can be used; zero when typed
	text   string    // 16 characters, canonical
}

// IsZero reports whether k holds no code.
func (k KCode) IsZero() bool { return k.text == "" }

// Text returns the code's 16 characters without grouping: the form given to
// the transport key derivation and sent to the host. Never display or log it.
func (k KCode) Text() string { return k.text }

// Grouped returns the code as the bank's letter prints it, XXXX-XXXX-XXXX-XXXX.
// It is as secret as Text.
func (k KCode) Grouped() string { return group(k.text) }

// Masked shows the bank and serial characters and hides the secret and the
// check character: "ABCD-EFG*-****-****".
func (k KCode) Masked() string {
	if k.text == "" {
		return ""
	}
	keep := bankChars + serialChars
	return group(k.text[:keep] + strings.Repeat("*", KCodeLen-keep))
}

// String returns the masked code with its bank.
func (k KCode) String() string {
	if k.text == "" {
		return "K code(none)"
	}
	return fmt.Sprintf("K code %s (bank %s, serial %d)", k.Masked(), k.Bank, k.Serial)
}

// GoString keeps %#v masked.
func (k KCode) GoString() string { return k.String() }

// Format prints the masked form for every verb.
func (k KCode) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", k.String())
		return
	}
	fmt.Fprint(f, k.String())
}

func group(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// gfMul multiplies in GF(2^5) with the polynomial x^5 + x^2 + 1.
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		b >>= 1
		a <<= 1
		if a&0x20 != 0 {
			a ^= 0x25
		}
	}
	return p & 0x1F
}

// checkOp is the quasigroup behind the check character: x∘y = 2·(x ⊕ y) in
// GF(32). It is totally anti-symmetric ((c∘x)∘y = (c∘y)∘x only when x = y) and
// has x∘x = 0; docs/kcode.md gives the proof and the test checks it
// exhaustively.
func checkOp(x, y byte) byte { return gfMul(2, x^y) }

// checkValue runs Damm's algorithm over the character values in s.
func checkValue(vals []byte) byte {
	var interim byte
	for _, v := range vals {
		interim = checkOp(interim, v)
	}
	return interim
}

// charValue returns the value of an Alphabet character, or -1.
func charValue(c byte) int { return strings.IndexByte(Alphabet, c) }

// normalize drops spaces and dashes, folds full-width forms and upper-cases.
func normalize(typed string) string {
	var b strings.Builder
	for _, r := range typed {
		switch r {
		case ' ', '-', '\t', '\u3000', '\u2010', '\u2013', '\u2014', '\uff0d':
			continue
		}
		if r >= 0xFF01 && r <= 0xFF5E { // full-width forms from a Chinese input method
			r -= 0xFEE0
		}
		if r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ParseKCode parses a K code as the merchant typed it. Spaces, dashes and
// lower case are accepted. Errors wrap ErrKCode and say what is wrong — the
// length, the position of a character that is never used, or a check
// character that does not match (a typo) — without repeating the code.
func ParseKCode(typed string) (KCode, error) {
	s := normalize(typed)
	if n := len([]rune(s)); n != KCodeLen {
		if n == 0 {
			return KCode{}, fmt.Errorf("%w: %w: nothing entered", ErrKCode, ErrKCodeLength)
		}
		return KCode{}, fmt.Errorf("%w: %w: a K code has %d characters, this has %d", ErrKCode, ErrKCodeLength, KCodeLen, n)
	}
	vals := make([]byte, KCodeLen)
	for i := 0; i < KCodeLen; i++ {
		v := charValue(s[i])
		if v < 0 {
			hint := ""
			switch s[i] {
			case '0', 'O', '1', 'I':
				hint = " (K codes never use 0, O, 1 or I)"
			}
			return KCode{}, fmt.Errorf("%w: %w: character %d%s", ErrKCode, ErrKCodeChar, i+1, hint)
		}
		vals[i] = byte(v)
	}
	if checkValue(vals) != 0 {
		return KCode{}, fmt.Errorf("%w: %w", ErrKCode, ErrKCodeCheck)
	}
	bank := decodeBits(vals[:bankChars])
	if bank > 999 {
		return KCode{}, fmt.Errorf("%w: %w: bank number %d", ErrKCode, ErrUnknownBank, bank)
	}
	return KCode{
		Bank:   fmt.Sprintf("%03d", bank),
		Serial: uint32(decodeBits(vals[bankChars : bankChars+serialChars])),
		text:   s,
	}, nil
}

func decodeBits(vals []byte) uint64 {
	var n uint64
	for _, v := range vals {
		n = n<<5 | uint64(v)
	}
	return n
}

func encodeBits(n uint64, chars int) []byte {
	out := make([]byte, chars)
	for i := chars - 1; i >= 0; i-- {
		out[i] = byte(n & 0x1F)
		n >>= 5
	}
	return out
}

// NewKCode builds the K code for a bank, a serial number and a 40-bit secret,
// with its check character. Banks use it to issue codes; tests to make them.
func NewKCode(bank string, serial uint32, secret uint64) (KCode, error) {
	if len(bank) != 3 || strings.Trim(bank, "0123456789") != "" {
		return KCode{}, fmt.Errorf("binding: bank code %q is not three digits", bank)
	}
	if serial > MaxSerial {
		return KCode{}, fmt.Errorf("binding: serial %d is over the maximum %d", serial, MaxSerial)
	}
	if secret >= 1<<(5*secretChars) {
		return KCode{}, errSecretLength
	}
	b := uint64((int(bank[0]-'0')*10+int(bank[1]-'0'))*10 + int(bank[2]-'0'))
	vals := append(encodeBits(b, bankChars), encodeBits(uint64(serial), serialChars)...)
	vals = append(vals, encodeBits(secret, secretChars)...)
	vals = append(vals, checkValue(vals)) // x∘x = 0, so the interim is the check
	text := make([]byte, KCodeLen)
	for i, v := range vals {
		text[i] = Alphabet[v]
	}
	return KCode{Bank: bank, Serial: serial, text: string(text)}, nil
}

// GenerateKCode makes a K code with a secret read from random (crypto/rand's
// Reader when nil).
func GenerateKCode(bank string, serial uint32, random io.Reader) (KCode, error) {
	if random == nil {
		random = rand.Reader
	}
	var b [5]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return KCode{}, fmt.Errorf("binding: reading randomness for a K code: %w", err)
	}
	var secret uint64
	for _, c := range b {
		secret = secret<<8 | uint64(c)
	}
	return NewKCode(bank, serial, secret)
}
