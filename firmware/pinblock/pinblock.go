// Package pinblock builds and reads ISO 9564 clear PIN blocks (formats 0 and
// 3). It is the one place that sees PIN digits, and it is meant to be called
// only from inside a PIN pad: callers wipe what it returns once encrypted.
//
// It knows nothing of keys or encryption; a hal.PINCipher does that.
package pinblock

import (
	"crypto/rand"
	"errors"
	"fmt"
)

// Errors for bad input. They never contain PIN or PAN digits.
var (
	ErrPINLength = errors.New("pinblock: PIN must be 4 to 12 digits")
	ErrPINDigit  = errors.New("pinblock: PIN must be decimal digits")
	ErrPAN       = errors.New("pinblock: PAN must be at least 13 digits")
	ErrBlock     = errors.New("pinblock: malformed PIN block")
)

// Format0 returns the ISO 9564 format 0 clear PIN block for pin (ASCII digits)
// and the account number pan (ASCII digits, check digit included).
func Format0(pin []byte, pan string) ([8]byte, error) {
	return build(0x0, pin, pan, func(int) byte { return 0xF })
}

// Format3 returns the ISO 9564 format 3 clear PIN block: like format 0, with
// a random fill of nibbles A..F.
func Format3(pin []byte, pan string) ([8]byte, error) {
	var buf [14]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return [8]byte{}, fmt.Errorf("pinblock: random fill: %w", err)
	}
	return build(0x3, pin, pan, func(i int) byte { return 0xA + buf[i]%6 })
}

func build(format byte, pin []byte, pan string, fill func(int) byte) ([8]byte, error) {
	var block [8]byte
	if len(pin) < 4 || len(pin) > 12 {
		return block, ErrPINLength
	}
	var nibbles [16]byte
	nibbles[0] = format
	nibbles[1] = byte(len(pin))
	for i, c := range pin {
		if c < '0' || c > '9' {
			return block, ErrPINDigit
		}
		nibbles[2+i] = c - '0'
	}
	for i := 2 + len(pin); i < 16; i++ {
		nibbles[i] = fill(i - 2)
	}
	acct, err := accountField(pan)
	if err != nil {
		return block, err
	}
	for i := range block {
		block[i] = (nibbles[2*i]<<4 | nibbles[2*i+1]) ^ acct[i]
		nibbles[2*i], nibbles[2*i+1] = 0, 0
	}
	return block, nil
}

// accountField is 0000 followed by the 12 rightmost PAN digits excluding the
// check digit, packed in BCD.
func accountField(pan string) ([8]byte, error) {
	var acct [8]byte
	if len(pan) < 13 {
		return acct, ErrPAN
	}
	digits := pan[len(pan)-13 : len(pan)-1]
	for i := 0; i < 12; i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return acct, ErrPAN
		}
		n := c - '0'
		pos := 4 + i
		if pos%2 == 0 {
			acct[pos/2] |= n << 4
		} else {
			acct[pos/2] |= n
		}
	}
	return acct, nil
}

// Decode recovers the PIN digits from a clear format 0 or 3 block, for the
// host simulator and for tests. The caller wipes the result.
func Decode(block []byte, pan string) ([]byte, error) {
	if len(block) != 8 {
		return nil, ErrBlock
	}
	acct, err := accountField(pan)
	if err != nil {
		return nil, err
	}
	var clear [8]byte
	for i := range clear {
		clear[i] = block[i] ^ acct[i]
	}
	format, n := clear[0]>>4, int(clear[0]&0x0F)
	if (format != 0 && format != 3) || n < 4 || n > 12 {
		return nil, ErrBlock
	}
	pin := make([]byte, n)
	for i := 0; i < n; i++ {
		pos := 2 + i
		b := clear[pos/2]
		var d byte
		if pos%2 == 0 {
			d = b >> 4
		} else {
			d = b & 0x0F
		}
		if d > 9 {
			return nil, ErrBlock
		}
		pin[i] = '0' + d
	}
	for pos := 2 + n; pos < 16; pos++ {
		b := clear[pos/2]
		d := b & 0x0F
		if pos%2 == 0 {
			d = b >> 4
		}
		if (format == 0 && d != 0xF) || (format == 3 && d < 0xA) {
			return nil, ErrBlock
		}
	}
	return pin, nil
}

// Wipe zeroes b.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
