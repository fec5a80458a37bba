package cupmsg

import (
	"fmt"
	"strings"

	"github.com/moov-io/iso8583/prefix"
)

// bcdLength is the dialect's length prefix of variable fields: the length
// in decimal, right-aligned BCD, two digits a byte (LL in one byte, LLL in
// two with a leading pad nibble). It means exactly what moov-io's
// prefix.BCD.LL and .LLL mean, but packs and unpacks without building a
// BCD coder (two lookup maps) for every field of every message, which was
// a fifth of the host simulator's CPU time.
type bcdLength struct {
	digits int // 2 or 3
}

var (
	bcdLL  prefix.Prefixer = bcdLength{digits: 2}
	bcdLLL prefix.Prefixer = bcdLength{digits: 3}
)

// bytes is the prefix's size on the wire.
func (p bcdLength) bytes() int { return (p.digits + 1) / 2 }

// EncodeLength returns the prefix for dataLen, refusing a length over
// maxLen or one that needs more digits than the prefix has.
func (p bcdLength) EncodeLength(maxLen, dataLen int) ([]byte, error) {
	if dataLen > maxLen {
		return nil, fmt.Errorf("field length: %d is larger than maximum: %d", dataLen, maxLen)
	}
	limit := 1
	for range p.digits {
		limit *= 10
	}
	if dataLen < 0 || dataLen >= limit {
		return nil, fmt.Errorf("number of digits in length: %d exceeds: %d", dataLen, p.digits)
	}
	out := make([]byte, p.bytes())
	v := dataLen
	for i := len(out) - 1; i >= 0; i-- {
		lo := v % 10
		v /= 10
		hi := v % 10
		v /= 10
		out[i] = byte(hi<<4 | lo)
	}
	return out, nil
}

// DecodeLength reads the prefix at the start of data. Every nibble, the
// pad nibble of an odd digit count included, must be a decimal digit (as
// moov-io's BCD decoder requires); the pad's value is ignored.
func (p bcdLength) DecodeLength(maxLen int, data []byte) (int, int, error) {
	n := p.bytes()
	if len(data) < n {
		return 0, 0, fmt.Errorf("not enough data length: %d to read: %d byte digits", n, len(data))
	}
	v := 0
	for i, b := range data[:n] {
		hi, lo := int(b>>4), int(b&0x0F)
		if hi > 9 || lo > 9 {
			return 0, 0, fmt.Errorf("%w in length prefix", errNibble)
		}
		if i > 0 || p.digits%2 == 0 {
			v = v*10 + hi
		}
		v = v*10 + lo
	}
	if v > maxLen {
		return 0, 0, fmt.Errorf("data length: %d is larger than maximum %d", v, maxLen)
	}
	return v, n, nil
}

// Inspect names the prefix as moov-io names its own.
func (p bcdLength) Inspect() string { return "BCD." + strings.Repeat("L", p.digits) }
