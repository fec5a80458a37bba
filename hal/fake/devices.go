package fake

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"kpos/hal"
)

// Scanner returns queued codes (or errors such as hal.ErrScanUnreadable).
type Scanner struct {
	codes *queue[scanResult]
}

type scanResult struct {
	text string
	err  error
}

var _ hal.Scanner = (*Scanner)(nil)

// NewScanner returns a scanner that sees nothing until codes are queued.
func NewScanner() *Scanner { return &Scanner{codes: newQueue[scanResult]()} }

// Show queues a readable code.
func (s *Scanner) Show(text string) { s.codes.push(scanResult{text: text}) }

// ShowError queues a failed read, such as a blurred code.
func (s *Scanner) ShowError(err error) { s.codes.push(scanResult{err: err}) }

// Scan returns the next queued code.
func (s *Scanner) Scan(ctx context.Context) (string, error) {
	r, err := next(ctx, s.codes)
	if err != nil {
		return "", err
	}
	return r.text, r.err
}

// Printer keeps what it printed and reports a status the test sets. Printing
// with paper out or cover open fails as a real printer would.
type Printer struct {
	mu      sync.Mutex
	status  hal.PrinterStatus
	docs    []hal.Document
	printed chan struct{}
	// OnPrint, when set, is called with each printed document (the sim board
	// shows it in the terminal window and saves it to a file).
	OnPrint func(hal.Document)
}

var _ hal.Printer = (*Printer)(nil)

// NewPrinter returns a ready printer.
func NewPrinter() *Printer { return &Printer{printed: make(chan struct{})} }

// SetStatus sets what Status reports from now on.
func (p *Printer) SetStatus(s hal.PrinterStatus) {
	p.mu.Lock()
	p.status = s
	p.mu.Unlock()
}

// Print records doc unless the printer is not ready.
func (p *Printer) Print(ctx context.Context, doc hal.Document) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	s := p.status
	if s.PaperOut {
		p.mu.Unlock()
		return hal.ErrPaperOut
	}
	if s.CoverOpen {
		p.mu.Unlock()
		return hal.ErrCoverOpen
	}
	if s.Error {
		p.mu.Unlock()
		return fmt.Errorf("%w: %s", hal.ErrPrinter, s.Detail)
	}
	p.docs = append(p.docs, doc)
	close(p.printed)
	p.printed = make(chan struct{})
	hook := p.OnPrint
	p.mu.Unlock()
	if hook != nil {
		hook(doc)
	}
	return nil
}

// Status returns the status set by the test.
func (p *Printer) Status(ctx context.Context) (hal.PrinterStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status, nil
}

// Documents returns everything printed so far.
func (p *Printer) Documents() []hal.Document {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hal.Document(nil), p.docs...)
}

// Text returns all printed lines joined by newlines, QR payloads as "[QR ...]".
func (p *Printer) Text() string {
	var b strings.Builder
	for _, d := range p.Documents() {
		for _, l := range d.Lines {
			if l.QR != "" {
				fmt.Fprintf(&b, "[QR %s]\n", l.QR)
				continue
			}
			b.WriteString(l.Text)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// Link dials through a function the board or test supplies, such as a
// loopback dial or an in-process pipe to the host simulator.
type Link struct {
	mu     sync.Mutex
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	status hal.LinkStatus
	down   error
	dials  int
}

var _ hal.Link = (*Link)(nil)

// NewLink returns a link that dials with dial (net.Dialer when nil).
func NewLink(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Link {
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	return &Link{dial: dial, status: hal.LinkStatus{Up: true, Registered: true, Signal: 24, Operator: "SIM"}}
}

// SetDown makes dials fail with err (nil brings the link back).
func (l *Link) SetDown(err error) {
	l.mu.Lock()
	l.down = err
	l.status.Up = err == nil
	l.mu.Unlock()
}

// Dial connects unless the link is down.
func (l *Link) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	l.mu.Lock()
	down, dial := l.down, l.dial
	l.dials++
	l.mu.Unlock()
	if down != nil {
		return nil, down
	}
	return dial(ctx, network, addr)
}

// Dials returns how many times Dial was called.
func (l *Link) Dials() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dials
}

// Status returns the scripted status.
func (l *Link) Status(ctx context.Context) (hal.LinkStatus, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, nil
}

// Display keeps every screen shown and lets a test wait for one.
type Display struct {
	mu      sync.Mutex
	screens []hal.Screen
	changed chan struct{}
	// OnShow, when set, is called with each screen (the sim board draws it).
	OnShow func(hal.Screen)
}

var _ hal.Display = (*Display)(nil)

// NewDisplay returns a blank display.
func NewDisplay() *Display { return &Display{changed: make(chan struct{})} }

// Show records s.
func (d *Display) Show(ctx context.Context, s hal.Screen) error {
	d.mu.Lock()
	d.screens = append(d.screens, s)
	close(d.changed)
	d.changed = make(chan struct{})
	hook := d.OnShow
	d.mu.Unlock()
	if hook != nil {
		hook(s)
	}
	return nil
}

// Current returns the screen shown last.
func (d *Display) Current() hal.Screen {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.screens) == 0 {
		return hal.Screen{}
	}
	return d.screens[len(d.screens)-1]
}

// History returns every screen shown so far.
func (d *Display) History() []hal.Screen {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]hal.Screen(nil), d.screens...)
}

// WaitFor blocks until a screen shown at index from or later satisfies match,
// and returns that screen and the index after it.
func (d *Display) WaitFor(ctx context.Context, from int, match func(hal.Screen) bool) (hal.Screen, int, error) {
	for {
		d.mu.Lock()
		for i := from; i < len(d.screens); i++ {
			if match(d.screens[i]) {
				s := d.screens[i]
				d.mu.Unlock()
				return s, i + 1, nil
			}
		}
		from = len(d.screens)
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return hal.Screen{}, from, ctx.Err()
		case <-changed:
		}
	}
}

// Keypad returns queued key presses.
type Keypad struct {
	keys *queue[hal.Key]
}

var _ hal.Keypad = (*Keypad)(nil)

// NewKeypad returns a keypad with nothing pressed.
func NewKeypad() *Keypad { return &Keypad{keys: newQueue[hal.Key]()} }

// Press queues key presses.
func (k *Keypad) Press(keys ...hal.Key) { k.keys.push(keys...) }

// Type queues the digits (and '.') of s.
func (k *Keypad) Type(s string) {
	for _, r := range s {
		k.keys.push(hal.Key(r))
	}
}

// Key returns the next queued key.
func (k *Keypad) Key(ctx context.Context) (hal.Key, error) { return next(ctx, k.keys) }

// Pending returns the number of keys not yet read.
func (k *Keypad) Pending() int { return k.keys.len() }

// Indicator records signals and beeps.
type Indicator struct {
	mu      sync.Mutex
	signals []hal.Signal
	beeps   []time.Duration
}

var _ hal.Indicator = (*Indicator)(nil)

// Signal records s.
func (i *Indicator) Signal(ctx context.Context, s hal.Signal) error {
	i.mu.Lock()
	i.signals = append(i.signals, s)
	i.mu.Unlock()
	return nil
}

// Beep records d.
func (i *Indicator) Beep(ctx context.Context, d time.Duration) error {
	i.mu.Lock()
	i.beeps = append(i.beeps, d)
	i.mu.Unlock()
	return nil
}

// Signals returns the signals so far.
func (i *Indicator) Signals() []hal.Signal {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]hal.Signal(nil), i.signals...)
}
