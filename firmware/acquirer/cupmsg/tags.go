package cupmsg

import (
	"fmt"
	"strconv"
)

// Tag is one entry of the private data the dialect carries in fields 59 and
// 62 for activation, parameters and QR payments: a 2-character tag, a
// 3-digit decimal length and the value (all ASCII tag and length, value as
// bytes).
type Tag struct {
	ID    string
	Value []byte
}

// Tags is an ordered list of private-data entries.
type Tags []Tag

// Add appends a text value.
func (t *Tags) Add(id, value string) { *t = append(*t, Tag{ID: id, Value: []byte(value)}) }

// AddBytes appends a binary value.
func (t *Tags) AddBytes(id string, value []byte) { *t = append(*t, Tag{ID: id, Value: value}) }

// Get returns the first value with the given tag.
func (t Tags) Get(id string) (string, bool) {
	for _, e := range t {
		if e.ID == id {
			return string(e.Value), true
		}
	}
	return "", false
}

// Bytes encodes the entries.
func (t Tags) Bytes() ([]byte, error) {
	var out []byte
	for _, e := range t {
		if len(e.ID) != 2 || len(e.Value) > 999 {
			return nil, fmt.Errorf("cupmsg: private tag %q: bad tag or value longer than 999", e.ID)
		}
		out = append(out, e.ID...)
		out = append(out, fmt.Sprintf("%03d", len(e.Value))...)
		out = append(out, e.Value...)
	}
	return out, nil
}

// ParseTags decodes private-data entries; trailing or truncated bytes are
// an error.
func ParseTags(b []byte) (Tags, error) {
	var t Tags
	for len(b) > 0 {
		if len(b) < 5 {
			return nil, fmt.Errorf("%w: private data truncated in a tag header", ErrMessage)
		}
		n, err := strconv.Atoi(string(b[2:5]))
		if err != nil || !isDigits(string(b[2:5])) {
			return nil, fmt.Errorf("%w: private data length not decimal", ErrMessage)
		}
		if len(b)-5 < n {
			return nil, fmt.Errorf("%w: private tag %q truncated", ErrMessage, b[:2])
		}
		t = append(t, Tag{ID: string(b[:2]), Value: append([]byte(nil), b[5:5+n]...)})
		b = b[5+n:]
	}
	return t, nil
}
