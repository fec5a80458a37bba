package tty

import "kpos/hal"

// KeyDecoder turns the bytes a keyboard or terminal sends into hal keys:
//
//	'0'..'9'                  digits
//	CR, LF, CR LF             KeyEnter
//	BS, DEL, 'c', 'C'         KeyClear
//	ESC alone, 'x', 'X'       KeyCancel
//	'.'                       KeyDot
//	'm', 'M'                  KeyMenu
//	'u', 'U', ESC [ A         KeyUp
//	'd', 'D', ESC [ B         KeyDown
//	'f', 'F', ESC O P, ESC [ 1 1 ~   KeyF1
//
// Anything else is ignored. An ESC is a Cancel unless a '[' or 'O' follows
// it at once; the caller says when "at once" has passed by calling Flush.
// The zero value is ready to use; it is not safe for concurrent use.
type KeyDecoder struct {
	seq      []byte // an escape sequence in progress, ESC included
	skipping bool   // an overlong sequence is being dropped up to its final byte
	lastCR   bool   // the previous byte was CR, so an LF now is part of CR LF
}

// maxSeq bounds an escape sequence; longer ones are dropped.
const maxSeq = 8

// Pending reports whether an escape sequence is in progress, so the caller
// should call Flush if no byte follows soon.
func (d *KeyDecoder) Pending() bool { return len(d.seq) > 0 || d.skipping }

// Feed consumes one byte and returns the keys it completes.
func (d *KeyDecoder) Feed(b byte) []hal.Key {
	crlf := d.lastCR && b == '\n'
	d.lastCR = b == '\r'
	if d.skipping {
		d.skipping = b < 0x40 || b > 0x7E
		return nil
	}
	if len(d.seq) > 0 {
		return d.escape(b)
	}
	if crlf {
		return nil
	}
	if b >= '0' && b <= '9' {
		return []hal.Key{hal.Key(b)}
	}
	switch b {
	case '\r', '\n':
		return []hal.Key{hal.KeyEnter}
	case 0x08, 0x7F, 'c', 'C':
		return []hal.Key{hal.KeyClear}
	case 'x', 'X':
		return []hal.Key{hal.KeyCancel}
	case '.':
		return []hal.Key{hal.KeyDot}
	case 'm', 'M':
		return []hal.Key{hal.KeyMenu}
	case 'u', 'U':
		return []hal.Key{hal.KeyUp}
	case 'd', 'D':
		return []hal.Key{hal.KeyDown}
	case 'f', 'F':
		return []hal.Key{hal.KeyF1}
	case 0x1B:
		d.seq = append(d.seq[:0], b)
	}
	return nil
}

// Flush ends a pending escape: a lone ESC is Cancel, an unfinished sequence
// is dropped.
func (d *KeyDecoder) Flush() []hal.Key {
	lone := len(d.seq) == 1
	d.seq = d.seq[:0]
	d.skipping = false
	if lone {
		return []hal.Key{hal.KeyCancel}
	}
	return nil
}

func (d *KeyDecoder) escape(b byte) []hal.Key {
	if len(d.seq) == 1 {
		if b == '[' || b == 'O' {
			d.seq = append(d.seq, b)
			return nil
		}
		// ESC then an ordinary byte: Cancel, then the byte itself.
		keys := d.Flush()
		d.lastCR = false
		return append(keys, d.Feed(b)...)
	}
	d.seq = append(d.seq, b)
	if b < 0x40 || b > 0x7E { // parameter or intermediate byte
		if len(d.seq) >= maxSeq {
			d.seq = d.seq[:0]
			d.skipping = true
		}
		return nil
	}
	seq := string(d.seq)
	d.seq = d.seq[:0]
	switch seq {
	case "\x1b[A", "\x1bOA":
		return []hal.Key{hal.KeyUp}
	case "\x1b[B", "\x1bOB":
		return []hal.Key{hal.KeyDown}
	case "\x1bOP", "\x1b[11~":
		return []hal.Key{hal.KeyF1}
	}
	return nil
}
