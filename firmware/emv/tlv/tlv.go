// Package tlv parses and builds the BER-TLV data objects and data object
// lists (DOLs) of EMV Book 3 Annex B, strictly: a malformed tag, an
// indefinite or oversized length, a value that runs past its container or
// nesting deeper than MaxDepth is an error, never a panic.
//
// It knows the EMV tag names and formats (for logs and DOL padding) and which
// tags carry cardholder data, so that a debug dump masks them. It knows
// nothing of APDUs, cards, transactions or the terminal.
package tlv

import (
	"errors"
	"fmt"
)

// MaxDepth is how deeply constructed objects may nest.
const MaxDepth = 8

// MaxLength is the largest value length accepted (EMV data never needs more
// than the three-byte form 82 xx xx).
const MaxLength = 0xFFFF

// Errors callers can branch on; returned errors wrap them.
var (
	ErrTruncated = errors.New("tlv: data truncated")
	ErrMalformed = errors.New("tlv: malformed data")
	ErrTooDeep   = errors.New("tlv: nesting too deep")
	ErrTooLong   = errors.New("tlv: length too large")
)

// Tag is a BER-TLV tag of one to three bytes, held as its big-endian value
// (0x5A, 0x9F26, 0xBF0C, 0xDF8101).
type Tag uint32

// Bytes returns the tag's encoding.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	}
	return []byte{byte(t)}
}

// first returns the tag's first byte.
func (t Tag) first() byte {
	switch {
	case t > 0xFFFF:
		return byte(t >> 16)
	case t > 0xFF:
		return byte(t >> 8)
	}
	return byte(t)
}

// Constructed reports whether the tag is a constructed (template) tag.
func (t Tag) Constructed() bool { return t.first()&0x20 != 0 }

// String returns the tag in hex.
func (t Tag) String() string { return fmt.Sprintf("%X", t.Bytes()) }

// TLV is one data object. Children is set for constructed objects, whose
// Value also holds their raw encoding.
type TLV struct {
	Tag      Tag
	Value    []byte
	Children []TLV
}

// ReadTag reads one tag from the front of b and returns it with the number of
// bytes it used.
func ReadTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: tag missing", ErrTruncated)
	}
	t := Tag(b[0])
	if b[0]&0x1F != 0x1F {
		return t, 1, nil
	}
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, fmt.Errorf("%w: tag %X incomplete", ErrTruncated, b[:i])
		}
		if i >= 3 {
			return 0, 0, fmt.Errorf("%w: tag longer than 3 bytes", ErrMalformed)
		}
		if i == 1 && b[1]&0x7F == 0 {
			return 0, 0, fmt.Errorf("%w: tag %02X%02X not minimal", ErrMalformed, b[0], b[1])
		}
		t = t<<8 | Tag(b[i])
		if b[i]&0x80 == 0 {
			return t, i + 1, nil
		}
	}
}

// ReadLength reads one length from the front of b and returns it with the
// number of bytes it used.
func ReadLength(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: length missing", ErrTruncated)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	n := int(b[0] & 0x7F)
	if n == 0 {
		return 0, 0, fmt.Errorf("%w: indefinite length", ErrMalformed)
	}
	if n > 2 {
		return 0, 0, fmt.Errorf("%w: %d length bytes", ErrTooLong, n)
	}
	if len(b) < 1+n {
		return 0, 0, fmt.Errorf("%w: length incomplete", ErrTruncated)
	}
	l := 0
	for _, c := range b[1 : 1+n] {
		l = l<<8 | int(c)
	}
	if l > MaxLength {
		return 0, 0, fmt.Errorf("%w: %d", ErrTooLong, l)
	}
	return l, 1 + n, nil
}

// Parse parses a sequence of data objects, descending into constructed ones.
// Zero bytes between objects (padding, Book 3 Annex B) are skipped.
func Parse(b []byte) ([]TLV, error) {
	return parse(b, 0)
}

func parse(b []byte, depth int) ([]TLV, error) {
	if depth >= MaxDepth {
		return nil, ErrTooDeep
	}
	var out []TLV
	for len(b) > 0 {
		if b[0] == 0x00 {
			b = b[1:]
			continue
		}
		t, n, err := ReadTag(b)
		if err != nil {
			return nil, err
		}
		l, m, err := ReadLength(b[n:])
		if err != nil {
			return nil, fmt.Errorf("tlv: tag %v: %w", t, err)
		}
		start := n + m
		if len(b)-start < l {
			return nil, fmt.Errorf("tlv: tag %v: %w: length %d, %d bytes left", t, ErrTruncated, l, len(b)-start)
		}
		obj := TLV{Tag: t, Value: b[start : start+l : start+l]}
		if t.Constructed() {
			kids, err := parse(obj.Value, depth+1)
			if err != nil {
				return nil, fmt.Errorf("tlv: in %v: %w", t, err)
			}
			obj.Children = kids
		}
		out = append(out, obj)
		b = b[start+l:]
	}
	return out, nil
}

// ParseOne parses b as exactly one data object (trailing zero padding
// allowed) and returns it.
func ParseOne(b []byte) (TLV, error) {
	objs, err := Parse(b)
	if err != nil {
		return TLV{}, err
	}
	if len(objs) != 1 {
		return TLV{}, fmt.Errorf("%w: %d objects where one was expected", ErrMalformed, len(objs))
	}
	return objs[0], nil
}

// Find returns the first object with tag t, searching depth first.
func Find(objs []TLV, t Tag) (TLV, bool) {
	for _, o := range objs {
		if o.Tag == t {
			return o, true
		}
		if r, ok := Find(o.Children, t); ok {
			return r, true
		}
	}
	return TLV{}, false
}

// Walk calls fn for every primitive object, depth first, in order.
func Walk(objs []TLV, fn func(TLV) error) error {
	for _, o := range objs {
		if o.Tag.Constructed() {
			if err := Walk(o.Children, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// AppendLength appends the BER encoding of length l.
func AppendLength(dst []byte, l int) []byte {
	switch {
	case l < 0x80:
		return append(dst, byte(l))
	case l <= 0xFF:
		return append(dst, 0x81, byte(l))
	}
	return append(dst, 0x82, byte(l>>8), byte(l))
}

// Append appends the encoding of tag t with value v to dst.
func Append(dst []byte, t Tag, v []byte) []byte {
	dst = append(dst, t.Bytes()...)
	dst = AppendLength(dst, len(v))
	return append(dst, v...)
}

// Encode returns the encoding of tag t with value v.
func Encode(t Tag, v []byte) []byte { return Append(nil, t, v) }
