// Package serialscan drives a QR/bar code scanner module on a serial line:
// the module decodes codes itself and sends each one's text terminated by CR,
// LF or CR LF. It works in trigger mode (the driver sends the module's
// trigger command for each scan) or in continuous mode (the module reads
// whatever it sees), and implements hal.Scanner.
//
// It must not know what a code means (payment code, K code, merchant QR): it
// returns the text, or hal.ErrScanUnreadable for lines that are not a clean
// decode (garbage, overlong, the module's no-read message).
package serialscan

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"kpos/hal"
)

// Errors wrapped with hal.ErrScanUnreadable, for callers that want the detail.
var (
	ErrTooLong = errors.New("serialscan: line too long")
	ErrGarbage = errors.New("serialscan: line is not clean text")
	ErrNoRead  = errors.New("serialscan: module reported no read")
)

// Result is one line from the module: its text, or why it was rejected.
type Result struct {
	Text string
	Err  error // wraps hal.ErrScanUnreadable when set
}

// LineParser splits the module's byte stream into lines and checks them. It
// is not safe for concurrent use.
type LineParser struct {
	max      int
	noRead   []byte
	buf      []byte
	overlong bool
}

// NewLineParser returns a parser that rejects lines longer than maxLen bytes
// and lines equal to noRead (the module's no-read message, none when empty).
func NewLineParser(maxLen int, noRead string) *LineParser {
	if maxLen <= 0 {
		maxLen = 1024
	}
	return &LineParser{max: maxLen, noRead: []byte(noRead)}
}

// Feed consumes data and returns the lines it completed. Empty lines (the
// LF of a CR LF) produce nothing.
func (p *LineParser) Feed(data []byte) []Result {
	var out []Result
	for _, c := range data {
		if c != '\r' && c != '\n' {
			if p.overlong {
				continue
			}
			if len(p.buf) >= p.max {
				p.overlong = true
				p.buf = p.buf[:0]
				continue
			}
			p.buf = append(p.buf, c)
			continue
		}
		switch {
		case p.overlong:
			out = append(out, Result{Err: fmt.Errorf("%w (%w): more than %d bytes", ErrTooLong, hal.ErrScanUnreadable, p.max)})
			p.overlong = false
		case len(p.buf) > 0:
			out = append(out, check(p.buf, p.noRead))
			p.buf = p.buf[:0]
		}
	}
	return out
}

// Pending returns how many bytes of an unfinished line are buffered.
func (p *LineParser) Pending() int { return len(p.buf) }

func check(line, noRead []byte) Result {
	if len(noRead) > 0 && bytes.Equal(line, noRead) {
		return Result{Err: fmt.Errorf("%w (%w)", ErrNoRead, hal.ErrScanUnreadable)}
	}
	if !utf8.Valid(line) {
		return Result{Err: fmt.Errorf("%w (%w): not UTF-8", ErrGarbage, hal.ErrScanUnreadable)}
	}
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7F {
			return Result{Err: fmt.Errorf("%w (%w): control byte %#02x", ErrGarbage, hal.ErrScanUnreadable, c)}
		}
	}
	return Result{Text: string(line)}
}
