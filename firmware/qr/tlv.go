package qr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// DataObject is one ID-length-value element of an EMVCo merchant-presented
// payload: a two-digit ID, a two-digit length counted in characters (not
// bytes), and the value.
type DataObject struct {
	ID    string
	Value string
}

// maxValueLen is the longest value a two-digit length can announce.
const maxValueLen = 99

// parseObjects splits s into data objects. It checks only the ID-length-value
// framing; meaning is checked by the caller.
func parseObjects(s string) ([]DataObject, error) {
	if !utf8.ValidString(s) {
		return nil, malformed("not valid UTF-8 text")
	}
	var out []DataObject
	rest := s
	pos := 0 // characters consumed, for messages
	for len(rest) > 0 {
		if len(rest) < 4 {
			return nil, malformed("truncated data object at character %d", pos)
		}
		id, l := rest[:2], rest[2:4]
		if !isDigits(id) {
			return nil, malformed("ID %q at character %d is not two digits", id, pos)
		}
		if !isDigits(l) {
			return nil, fieldErr(id, malformed("length %q is not two digits", l))
		}
		n := int(l[0]-'0')*10 + int(l[1]-'0')
		if n == 0 {
			return nil, fieldErr(id, malformed("zero length"))
		}
		rest = rest[4:]
		pos += 4
		// Advance n characters.
		end := 0
		for i := 0; i < n; i++ {
			if end >= len(rest) {
				return nil, fieldErr(id, malformed("value announces %d characters, only %d left (truncated?)", n, i))
			}
			_, size := utf8.DecodeRuneInString(rest[end:])
			end += size
		}
		out = append(out, DataObject{ID: id, Value: rest[:end]})
		rest = rest[end:]
		pos += n
	}
	return out, nil
}

// encodeObject appends one data object to b.
func encodeObject(b *strings.Builder, id, value string) error {
	n := utf8.RuneCountInString(value)
	if n == 0 {
		return fieldErr(id, malformed("empty value"))
	}
	if n > maxValueLen {
		return fieldErr(id, malformed("value is %d characters, at most %d fit", n, maxValueLen))
	}
	if len(id) != 2 || !isDigits(id) {
		return malformed("ID %q is not two digits", id)
	}
	fmt.Fprintf(b, "%s%02d%s", id, n, value)
	return nil
}

func encodeObjects(objs []DataObject) (string, error) {
	var b strings.Builder
	for _, o := range objs {
		if err := encodeObject(&b, o.ID, o.Value); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpperHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}
