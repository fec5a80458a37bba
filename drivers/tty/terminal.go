// Package tty drives a customer- or merchant-facing character terminal on a
// serial line or pseudo-terminal: a text display that shows hal.Screen (title,
// lines, and QR codes drawn in half-block characters) and a keyboard whose
// bytes become hal.Key presses. One Terminal is both the hal.Display and the
// hal.Keypad, since one line carries both directions. The hil board puts it
// on a pty that a test drives.
//
// It must not know what a screen means or which key does what in a dialogue:
// that is the firmware's ui.
package tty

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"kpos/drivers/serialport"
	"kpos/hal"
)

// Config is what a board file says about its terminal.
type Config struct {
	Device   string        // serial device or pty, e.g. "/dev/ttyS1"
	Baud     int           // 115200 when zero
	Columns  int           // display width in characters; 32 when zero
	Rows     int           // display height in rows, the title's included; 10 when zero
	Plain    bool          // no ANSI escapes: a form feed starts each screen
	GB18030  bool          // the display takes GB18030 text instead of UTF-8
	ShowID   bool          // show each screen's ID in its title, for tests and HIL
	InvertQR bool          // draw light QR modules as blocks (light-on-dark displays)
	EscDelay time.Duration // how long after ESC a sequence may continue; 50 ms when zero
}

// Size is the display's text area, the defaults applied.
func (c Config) Size() (columns, rows int) {
	d := c.withDefaults()
	return d.Columns, d.Rows
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.Columns == 0 {
		c.Columns = 32
	}
	if c.Rows == 0 {
		c.Rows = 10
	}
	if c.EscDelay <= 0 {
		c.EscDelay = 50 * time.Millisecond
	}
	return c
}

// ScreenStart is what begins every screen on an ANSI terminal: cursor home,
// clear screen. ScreenEnd closes it.
const ScreenStart = "\x1b[H\x1b[2J"

// Terminal is a display and keypad on one line.
type Terminal struct {
	cfg    Config
	rw     io.ReadWriter
	closer io.Closer

	wmu sync.Mutex // one screen at a time

	kmu  sync.Mutex // one Key caller at a time; guards dec and keys
	dec  KeyDecoder
	keys []hal.Key

	bytes   chan byte
	done    chan struct{}
	readErr error // set before done closes
}

var (
	_ hal.Display = (*Terminal)(nil)
	_ hal.Keypad  = (*Terminal)(nil)
)

// Open opens cfg.Device (8N1) and returns a terminal that owns it.
func Open(cfg Config) (*Terminal, error) {
	cfg = cfg.withDefaults()
	port, err := serialport.Open(cfg.Device, cfg.Baud, 0)
	if err != nil {
		return nil, fmt.Errorf("tty: %w", err)
	}
	t := New(port, cfg)
	t.closer = port
	return t, nil
}

// New returns a terminal on rw, which the caller owns; the terminal reads rw
// until it fails.
func New(rw io.ReadWriter, cfg Config) *Terminal {
	t := &Terminal{
		cfg:   cfg.withDefaults(),
		rw:    rw,
		bytes: make(chan byte, 256),
		done:  make(chan struct{}),
	}
	go t.readLoop()
	return t
}

// Close closes the line if Open opened it.
func (t *Terminal) Close() error {
	if t.closer == nil {
		return nil
	}
	if err := t.closer.Close(); err != nil {
		return fmt.Errorf("tty: close: %w", err)
	}
	return nil
}

func (t *Terminal) readLoop() {
	buf := make([]byte, 64)
	for {
		n, err := t.rw.Read(buf)
		for _, b := range buf[:n] {
			t.bytes <- b // blocks while nobody reads keys: the line's own flow control
		}
		if err != nil {
			t.readErr = err
			close(t.done)
			return
		}
	}
}

// Show draws s, replacing what was on the display.
func (t *Terminal) Show(ctx context.Context, s hal.Screen) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tty: show %q: %w", s.ID, err)
	}
	rows, err := Render(s, t.cfg.Columns, t.cfg.ShowID, t.cfg.InvertQR)
	if err != nil {
		return err
	}
	start, end := ScreenStart, ScreenEnd
	if t.cfg.Plain {
		start, end = "\f", ""
	}
	out := []byte(start + strings.Join(rows, "\r\n") + "\r\n" + end)
	if t.cfg.GB18030 {
		if out, err = simplifiedchinese.GB18030.NewEncoder().Bytes(out); err != nil {
			return fmt.Errorf("tty: show %q: GB18030: %w", s.ID, err)
		}
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if _, err := t.rw.Write(out); err != nil {
		return fmt.Errorf("tty: show %q: %w", s.ID, err)
	}
	return nil
}

// Flush forgets keys pressed but not yet read, so that a prompt (a PIN
// entry) starts from what is typed after it is shown.
func (t *Terminal) Flush() {
	t.kmu.Lock()
	defer t.kmu.Unlock()
	t.keys = nil
	t.dec = KeyDecoder{}
	for {
		select {
		case <-t.bytes:
		default:
			return
		}
	}
}

// ErrClosed reports that the line ended (the device went away).
var ErrClosed = errors.New("tty: line closed")

// Key returns the next key pressed, or ctx's error.
func (t *Terminal) Key(ctx context.Context) (hal.Key, error) {
	t.kmu.Lock()
	defer t.kmu.Unlock()
	var esc *time.Timer
	defer func() {
		if esc != nil {
			esc.Stop()
		}
	}()
	for {
		if len(t.keys) > 0 {
			k := t.keys[0]
			t.keys = t.keys[1:]
			return k, nil
		}
		var escC <-chan time.Time
		if t.dec.Pending() {
			if esc == nil {
				esc = time.NewTimer(t.cfg.EscDelay)
			} else {
				esc.Reset(t.cfg.EscDelay)
			}
			escC = esc.C
		}
		select {
		case b := <-t.bytes:
			t.keys = append(t.keys, t.dec.Feed(b)...)
		case <-escC:
			t.keys = append(t.keys, t.dec.Flush()...)
		case <-t.done:
			// Bytes read before the end still count.
			select {
			case b := <-t.bytes:
				t.keys = append(t.keys, t.dec.Feed(b)...)
				continue
			default:
			}
			t.keys = append(t.keys, t.dec.Flush()...)
			if len(t.keys) > 0 {
				continue
			}
			return 0, fmt.Errorf("%w: %w", ErrClosed, t.readErr)
		case <-ctx.Done():
			return 0, fmt.Errorf("tty: key: %w", ctx.Err())
		}
	}
}
