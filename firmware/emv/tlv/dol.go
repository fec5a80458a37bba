package tlv

import (
	"fmt"
)

// DOLEntry is one entry of a data object list: a tag and the length the
// card wants its value in.
type DOLEntry struct {
	Tag    Tag
	Length int
}

// DOL is a data object list (PDOL, CDOL1, CDOL2, DDOL, TDOL).
type DOL []DOLEntry

// MaxDOLEntries bounds the entries of one DOL.
const MaxDOLEntries = 64

// ParseDOL parses a data object list: tags each followed by a one-byte
// length (Book 3 5.4).
func ParseDOL(b []byte) (DOL, error) {
	var out DOL
	for len(b) > 0 {
		t, n, err := ReadTag(b)
		if err != nil {
			return nil, fmt.Errorf("tlv: dol: %w", err)
		}
		if len(b) < n+1 {
			return nil, fmt.Errorf("tlv: dol: tag %v: %w: length missing", t, ErrTruncated)
		}
		if b[n] >= 0x80 {
			return nil, fmt.Errorf("tlv: dol: tag %v: %w: length byte %02X", t, ErrMalformed, b[n])
		}
		if len(out) >= MaxDOLEntries {
			return nil, fmt.Errorf("tlv: dol: %w: more than %d entries", ErrTooLong, MaxDOLEntries)
		}
		out = append(out, DOLEntry{Tag: t, Length: int(b[n])})
		b = b[n+1:]
	}
	return out, nil
}

// Len returns the length of the data the DOL asks for.
func (d DOL) Len() int {
	n := 0
	for _, e := range d {
		n += e.Length
	}
	return n
}

// Has reports whether the DOL asks for tag t.
func (d DOL) Has(t Tag) bool {
	for _, e := range d {
		if e.Tag == t {
			return true
		}
	}
	return false
}

// Build concatenates the values the DOL asks for, each fitted to its
// length as Book 3 5.4 says: numeric (n) values are padded with leading
// zeros or lose their leftmost bytes, compressed numeric (cn) values are
// padded with trailing FF, everything else is padded with trailing zeros or
// truncated on the right. A value lookup cannot supply, or a constructed
// tag, is sent as zeros.
func (d DOL) Build(lookup func(Tag) ([]byte, bool)) []byte {
	out := make([]byte, 0, d.Len())
	for _, e := range d {
		v, ok := lookup(e.Tag)
		if !ok || e.Tag.Constructed() {
			out = append(out, make([]byte, e.Length)...)
			continue
		}
		out = append(out, Fit(e.Tag, v, e.Length)...)
	}
	return out
}

// Fit returns v fitted to length l according to tag t's format.
func Fit(t Tag, v []byte, l int) []byte {
	out := make([]byte, l)
	if len(v) == l {
		copy(out, v)
		return out
	}
	switch Lookup(t).Format {
	case FormatN:
		if len(v) > l {
			copy(out, v[len(v)-l:])
		} else {
			copy(out[l-len(v):], v)
		}
	case FormatCN:
		for i := range out {
			out[i] = 0xFF
		}
		copy(out, v)
	default:
		copy(out, v)
	}
	return out
}
