package tty

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"kpos/hal"
)

// ScreenEnd follows every screen on an ANSI terminal (erase below the
// cursor), so that whoever reads the line knows the screen is complete.
const ScreenEnd = "\x1b[J"

// ScreenReader reads, at the other end of the line, the screens a Terminal
// in ANSI mode with UTF-8 text writes: the hil board's tests and tools use it
// to see what the customer would see.
type ScreenReader struct {
	chunks chan []byte
	err    error // set before chunks closes
	buf    []byte
	invert bool
}

// NewScreenReader starts reading r. invertQR must match the Terminal's
// InvertQR.
func NewScreenReader(r io.Reader, invertQR bool) *ScreenReader {
	s := &ScreenReader{chunks: make(chan []byte, 16), invert: invertQR}
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := r.Read(b)
			if n > 0 {
				s.chunks <- b[:n]
			}
			if err != nil {
				s.err = err
				close(s.chunks)
				return
			}
		}
	}()
	return s
}

// Next returns the next whole screen, its QR code decoded back into
// Screen.QR. Lines come back as the display wrapped them.
func (s *ScreenReader) Next(ctx context.Context) (hal.Screen, error) {
	for {
		if i := bytes.Index(s.buf, []byte(ScreenStart)); i >= 0 {
			body := s.buf[i+len(ScreenStart):]
			if j := bytes.Index(body, []byte(ScreenEnd)); j >= 0 {
				text := string(body[:j])
				s.buf = append(s.buf[:0], body[j+len(ScreenEnd):]...)
				return ParseScreen(text, s.invert)
			}
		}
		select {
		case c, ok := <-s.chunks:
			if !ok {
				return hal.Screen{}, fmt.Errorf("tty: screen reader: %w", s.err)
			}
			s.buf = append(s.buf, c...)
		case <-ctx.Done():
			return hal.Screen{}, fmt.Errorf("tty: screen reader: %w", ctx.Err())
		}
	}
}

// ParseScreen turns the text of one screen, as Show wrote it between
// ScreenStart and ScreenEnd, back into a hal.Screen: the ID (when the terminal
// shows IDs), the title, the rows below the rule, and the QR code's payload.
func ParseScreen(text string, invertQR bool) (hal.Screen, error) {
	rows := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	rule := -1
	for i, r := range rows {
		if len(r) >= 8 && strings.Trim(r, "-") == "" {
			rule = i
			break
		}
	}
	if rule < 0 {
		return hal.Screen{}, fmt.Errorf("tty: screen without a rule under its title")
	}
	var s hal.Screen
	// Title rows were split without dropping characters, so they join back.
	s.Title = strings.Join(rows[:rule], "")
	if strings.HasPrefix(s.Title, "[") {
		if id, title, ok := strings.Cut(s.Title[1:], "] "); ok {
			s.ID, s.Title = id, title
		}
	}
	var qr bool
	for _, r := range rows[rule+1:] {
		if strings.ContainsAny(r, "█▀▄") || (qr && strings.Trim(r, " ") == "") {
			qr = true
			continue
		}
		s.Lines = append(s.Lines, r)
	}
	if qr {
		// The quiet zone above the code is a row of spaces.
		for n := len(s.Lines); n > 0 && s.Lines[n-1] != "" && strings.Trim(s.Lines[n-1], " ") == ""; n-- {
			s.Lines = s.Lines[:n-1]
		}
		payload, err := DecodeQR(rows[rule+1:], invertQR)
		if err != nil {
			return s, err
		}
		s.QR = payload
	}
	return s, nil
}
