package console

import (
	"strconv"
	"unicode/utf8"
)

// The line editor (golang.org/x/term) understands one spelling of each
// editing key. Terminals send others: the sequences below are those of
// xterm, VT100/VT220 (ECMA-48 CSI and SS3 forms), the Linux console, rxvt,
// GNU screen, tmux, and of picocom and minicom, which pass the local
// terminal's bytes through unchanged. The key normaliser rewrites each to
// the editor's spelling, drops every other escape sequence whole (function
// keys, Insert, Page Up/Down), and takes the terminal's cursor-position
// report (the answer to ESC[6n) out of the input.
const (
	edHome      = "\x01" // ^A in the editor
	edEnd       = "\x05" // ^E
	edDelete    = "\x1b[3~"
	edWordLeft  = "\x1b[1;3D"
	edWordRight = "\x1b[1;3C"
	edUp        = "\x1b[A"
	edDown      = "\x1b[B"
	edRight     = "\x1b[C"
	edLeft      = "\x1b[D"
)

// HomeKey is the control key for start of line besides Home and ^A, which
// is the escape key of picocom, minicom and screen: ^O ("origin"), unused
// by all three.
const HomeKey = 0x0f

// keySequences maps what terminals send to what the editor understands.
var keySequences = map[string]string{
	// Home: VT220, Linux console, screen and tmux; rxvt; xterm in normal
	// and in application cursor mode.
	"\x1b[1~": edHome, "\x1b[7~": edHome, "\x1b[H": edHome, "\x1bOH": edHome,
	// End, in the same forms.
	"\x1b[4~": edEnd, "\x1b[8~": edEnd, "\x1b[F": edEnd, "\x1bOF": edEnd,
	// Delete (forward): VT220 "Remove", every emulator since.
	"\x1b[3~": edDelete,
	// Ctrl-Left and Ctrl-Right: xterm and tmux (modifier 5), older xterm,
	// rxvt (SS3 lower case); Alt-Left/Right (modifier 3); and Meta-b and
	// Meta-f as readline spells them.
	"\x1b[1;5D": edWordLeft, "\x1b[5D": edWordLeft, "\x1bOd": edWordLeft, "\x1b[1;3D": edWordLeft, "\x1bb": edWordLeft,
	"\x1b[1;5C": edWordRight, "\x1b[5C": edWordRight, "\x1bOc": edWordRight, "\x1b[1;3C": edWordRight, "\x1bf": edWordRight,
	// Arrows in normal (CSI) and application (SS3) cursor mode.
	"\x1b[A": edUp, "\x1b[B": edDown, "\x1b[C": edRight, "\x1b[D": edLeft,
	"\x1bOA": edUp, "\x1bOB": edDown, "\x1bOC": edRight, "\x1bOD": edLeft,
}

// runeBad stands for a byte that is not text: the symbol for SUBSTITUTE,
// ASCII's own mark for a character received in error. (Not U+FFFD, which
// the editor takes for an incomplete character and waits on.) The editor
// shows it, and a line holding it is refused as a whole with one error
// (see execLine).
const runeBad = '\u2426'

// keyNormaliser rewrites raw terminal input for the editor. It keeps the
// state of a sequence or UTF-8 character split across reads.
type keyNormaliser struct {
	seq    []byte // an escape sequence under way
	utf    []byte // a multi-byte character under way
	lastCR bool   // the previous byte was CR: a following LF is the same Enter
	// noise is set from the first byte of a line that is not text to the
	// line's end: the rest of the line is dropped, not interpreted, so that
	// line noise cannot drive the editor (recall history, redraw, complete)
	// and make the console print many times what it received.
	noise bool
	// cpr receives the columns of a cursor-position report; nil when no
	// report is expected (xterm's Shift-F3 looks like one).
	cpr func(cols int)
}

// step feeds one byte and appends what the editor should see to out.
// Control bytes the caller handles itself (^C, NUL) never reach it.
func (k *keyNormaliser) step(out []byte, c byte) []byte {
	if k.noise {
		cr := k.lastCR
		k.lastCR = c == '\r'
		if c == '\r' || c == '\n' && !cr {
			k.noise, k.lastCR = false, true
			k.seq, k.utf = k.seq[:0], k.utf[:0]
			return append(out, '\r')
		}
		return out
	}
	if len(k.seq) > 0 {
		return k.stepSeq(out, c)
	}
	if len(k.utf) > 0 || c >= 0x80 {
		return k.stepUTF8(out, c)
	}
	cr := k.lastCR
	k.lastCR = c == '\r'
	switch {
	case c == 0x1b:
		k.seq = append(k.seq, c)
		return out
	case c == '\n':
		if cr {
			return out
		}
		k.lastCR = true
		return append(out, '\r')
	case c == HomeKey:
		return append(out, edHome...)
	case c == 0x7f || c >= 0x20:
		return append(out, c)
	}
	switch c {
	case '\r', '\t', 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x0b, 0x0c, 0x0e, 0x10, 0x14, 0x15, 0x17:
		return append(out, c)
	}
	return k.bad(out)
}

// bad marks the line as not text.
func (k *keyNormaliser) bad(out []byte) []byte {
	k.noise = true
	k.seq, k.utf = k.seq[:0], k.utf[:0]
	return utf8.AppendRune(out, runeBad)
}

func (k *keyNormaliser) stepUTF8(out []byte, c byte) []byte {
	k.lastCR = false
	if len(k.utf) > 0 && (c < 0x80 || c >= 0xc0) {
		// The character was cut short: the bytes so far are not text, and
		// c starts afresh.
		out = k.bad(out)
		return k.step(out, c)
	}
	k.utf = append(k.utf, c)
	if !utf8.FullRune(k.utf) {
		return out
	}
	r, n := utf8.DecodeRune(k.utf)
	k.utf = k.utf[:0]
	if r == utf8.RuneError || n == 0 || r >= 0x80 && r < 0xa0 {
		// Invalid, or a C1 control character.
		return k.bad(out)
	}
	return utf8.AppendRune(out, r)
}

// stepSeq continues an escape sequence: ESC [ params intermediates final
// (CSI) or ESC O final (SS3), per ECMA-48 section 5.4, or ESC and one
// character (Meta).
func (k *keyNormaliser) stepSeq(out []byte, c byte) []byte {
	if len(k.seq) == 1 {
		switch {
		case c == '[' || c == 'O':
			k.seq = append(k.seq, c)
			return out
		case c == 0x1b:
			// ESC ESC: the first one was the Escape key alone.
			return out
		case c >= 0x20 && c < 0x7f:
			k.seq = append(k.seq, c)
			return k.endSeq(out)
		}
		k.seq = k.seq[:0]
		return k.step(out, c)
	}
	csi := k.seq[1] == '['
	switch {
	case csi && c >= 0x20 && c <= 0x3f && len(k.seq) < 16:
		k.seq = append(k.seq, c)
		return out
	case c >= 0x40 && c <= 0x7e:
		k.seq = append(k.seq, c)
		return k.endSeq(out)
	}
	// Malformed: drop what was collected and read c afresh.
	k.seq = k.seq[:0]
	return k.step(out, c)
}

func (k *keyNormaliser) endSeq(out []byte) []byte {
	seq := string(k.seq)
	k.seq = k.seq[:0]
	if ed, ok := keySequences[seq]; ok {
		return append(out, ed...)
	}
	if k.cpr != nil {
		if cols, ok := parseCPR(seq); ok {
			k.cpr(cols)
		}
	}
	return out
}

// parseCPR reads a cursor-position report, ESC [ row ; col R (ECMA-48 CPR).
func parseCPR(seq string) (cols int, ok bool) {
	if len(seq) < 6 || seq[:2] != "\x1b[" || seq[len(seq)-1] != 'R' {
		return 0, false
	}
	body := seq[2 : len(seq)-1]
	for i := 0; i < len(body); i++ {
		if body[i] == ';' {
			row, err1 := strconv.Atoi(body[:i])
			col, err2 := strconv.Atoi(body[i+1:])
			if err1 != nil || err2 != nil || row < 1 || col < 1 || col > 1000 {
				return 0, false
			}
			return col, true
		}
	}
	return 0, false
}
