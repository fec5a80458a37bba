package bindflow

import (
	"strings"

	"kpos/hal"
)

// The K-code input method of a numeric keypad (docs/kcode.md, "typing a K
// code"): a digit key types its digit; F1 (the ALPHA key) turns the last
// character into the next letter printed on the same key, round to the
// digit again, as on a telephone (2 ABC, 3 DEF, 4 GH, 5 JKL, 6 MN, 7 PQRS,
// 8 TUV, 9 WXYZ; I and O are left out because K codes never use them).
// "Z" is 9 then F1 four times. CLEAR deletes the last character, CANCEL
// all of them, ENTER submits. A keypad that has letter keys may send them
// as lower-case runes ('a'…'z'), which type the letter directly; upper-case
// runes are taken by the function keys (MENU is 'M').
var letterKeys = map[rune]string{
	'2': "2ABC", '3': "3DEF", '4': "4GH", '5': "5JKL", '6': "6MN", '7': "7PQRS", '8': "8TUV", '9': "9WXYZ",
}

// KeyAlpha is the key that cycles the last character through its key's
// letters.
const KeyAlpha = hal.KeyF1

// kcodeMaxInput bounds what the merchant can type: a few characters more
// than a K code, so that an overlong code is reported rather than cut.
const kcodeMaxInput = 20

// kcodeInput is a K code being typed.
type kcodeInput struct{ buf []rune }

// press applies one key and reports whether ENTER submitted the input.
func (in *kcodeInput) press(k hal.Key) bool {
	r := rune(k)
	switch {
	case k == hal.KeyEnter:
		return true
	case k == hal.KeyClear:
		if len(in.buf) > 0 {
			in.buf = in.buf[:len(in.buf)-1]
		}
	case k == hal.KeyCancel:
		in.buf = in.buf[:0]
	case k == KeyAlpha:
		if len(in.buf) > 0 {
			in.buf[len(in.buf)-1] = nextLetter(in.buf[len(in.buf)-1])
		}
	case k.IsDigit() || (r >= 'a' && r <= 'z'):
		if len(in.buf) < kcodeMaxInput {
			in.buf = append(in.buf, []rune(strings.ToUpper(string(r)))...)
		}
	}
	return false
}

// nextLetter is the character after c on the key that carries it.
func nextLetter(c rune) rune {
	for _, cycle := range letterKeys {
		if i := strings.IndexRune(cycle, c); i >= 0 {
			rs := []rune(cycle)
			return rs[(i+1)%len(rs)]
		}
	}
	return c
}

func (in *kcodeInput) len() int     { return len(in.buf) }
func (in *kcodeInput) text() string { return string(in.buf) }

// display shows what is typed grouped by four. The bank and serial part
// (the first seven characters) and the character just typed are shown; the
// secret part is starred, as the binding's masked form does.
func (in *kcodeInput) display() string {
	if len(in.buf) == 0 {
		return "____-____-____-____"
	}
	var b strings.Builder
	for i, c := range in.buf {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		if i >= 7 && i != len(in.buf)-1 {
			c = '*'
		}
		b.WriteRune(c)
	}
	return b.String()
}
