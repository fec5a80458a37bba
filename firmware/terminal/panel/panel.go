// Package panel is the counter's face as every flow of the terminal uses
// it: named screens and keys (firmware/ui), keys and scanned codes fed to a
// step that waits for several things at once and put back when that step
// leaves, digits typed and shown masked, a pause for a key, and printing
// that asks for paper and prints the whole document again.
//
// The sale tables (firmware/terminal), the binding screens, the merchant
// menus and settlement share one Panel, so a key read by one is never lost
// to the next. It knows nothing of transactions, journals or hosts.
package panel

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"kpos/firmware/ui"
	"kpos/hal"
)

// Panel is the display, keypad, scanner, printer and lights of the counter.
type Panel struct {
	UI        *ui.UI
	Keypad    hal.Keypad  // the keypad, with the keys a feed put back
	Scanner   hal.Scanner // the scanner, with the codes a feed put back; nil without one
	Printer   hal.Printer
	Indicator hal.Indicator

	keys  *keyBuffer
	scans *scanBuffer // nil without a scanner
}

// New returns the panel of these devices; scanner may be nil. size is the
// display's text area (zero: no paging).
func New(display hal.Display, keypad hal.Keypad, scanner hal.Scanner, printer hal.Printer, ind hal.Indicator, size ui.Size) *Panel {
	kb := &keyBuffer{keypad: keypad}
	p := &Panel{Keypad: kb, Printer: printer, Indicator: ind, keys: kb}
	if scanner != nil {
		p.scans = &scanBuffer{scanner: scanner}
		p.Scanner = p.scans
	}
	p.UI = ui.New(display, kb).Sized(size)
	return p
}

// HasScanner reports whether the counter can scan codes.
func (p *Panel) HasScanner() bool { return p.scans != nil }

// Scan is one scanned code, or why it could not be read.
type Scan struct {
	Text string
	Err  error
}

// KeyFeed delivers key presses until ctx ends, for a step that waits for
// keys and something else at once. The returned wait blocks until the feed
// has stopped; a key it read after its reader left is put back, so the
// next screen gets it. Cancel ctx, then wait, before reading keys again.
func (p *Panel) KeyFeed(ctx context.Context) (<-chan hal.Key, func()) {
	out := make(chan hal.Key)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			k, err := p.keys.Key(ctx)
			if err != nil {
				return
			}
			select {
			case out <- k:
			case <-ctx.Done():
				p.keys.unread(k)
				return
			}
		}
	}()
	return out, func() { <-done }
}

// ScanFeed delivers scanned codes until ctx ends; without a scanner it
// delivers nothing. wait works as KeyFeed's.
func (p *Panel) ScanFeed(ctx context.Context) (<-chan Scan, func()) {
	out := make(chan Scan)
	if p.scans == nil {
		return out, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			text, err := p.scans.Scan(ctx)
			if ctx.Err() != nil {
				if err == nil {
					p.scans.unread(Scan{Text: text})
				}
				return
			}
			select {
			case out <- Scan{Text: text, Err: err}:
			case <-ctx.Done():
				p.scans.unread(Scan{Text: text, Err: err})
				return
			}
			if err != nil && !errors.Is(err, hal.ErrScanUnreadable) {
				return
			}
		}
	}()
	return out, func() { <-done }
}

// pushback holds what a feed read after its reader had left.
type pushback[T any] struct {
	mu      sync.Mutex
	pending []T
}

func (p *pushback[T]) pop() (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	if len(p.pending) == 0 {
		return zero, false
	}
	v := p.pending[0]
	p.pending = p.pending[1:]
	return v, true
}

func (p *pushback[T]) unread(v T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, v)
}

// keyBuffer is the keypad with keys put back: the feed of a step that
// ended may have read a key meant for the next screen.
type keyBuffer struct {
	pushback[hal.Key]
	keypad hal.Keypad
}

func (b *keyBuffer) Key(ctx context.Context) (hal.Key, error) {
	if k, ok := b.pop(); ok {
		return k, nil
	}
	return b.keypad.Key(ctx)
}

// scanBuffer is the scanner with codes put back, as keyBuffer.
type scanBuffer struct {
	pushback[Scan]
	scanner hal.Scanner
}

func (b *scanBuffer) Scan(ctx context.Context) (string, error) {
	if r, ok := b.pop(); ok {
		return r.Text, r.Err
	}
	return b.scanner.Scan(ctx)
}

// Mask is how typed digits are shown.
type Mask int

// The masks.
const (
	MaskAll  Mask = iota // a password: stars only
	MaskCard             // a card number: the first six and the digit just typed
	MaskNone             // a trace or reference number: shown as typed
)

// ReadDigits reads up to max digits on screen id, shown masked.
func (p *Panel) ReadDigits(ctx context.Context, id, title string, max int, mask Mask) (string, error) {
	var digits []byte
	for {
		shown := []byte(strings.Repeat("*", len(digits)))
		if mask == MaskNone {
			shown = append(shown[:0], digits...)
		}
		if mask == MaskCard {
			for i := range digits {
				if i < 6 || i == len(digits)-1 {
					shown[i] = digits[i]
				}
			}
		}
		if err := p.UI.Show(ctx, id, title, string(shown), "确认[ENTER] 取消[CANCEL]"); err != nil {
			return "", err
		}
		k, err := p.UI.Key(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case k.IsDigit() && len(digits) < max:
			digits = append(digits, byte(k))
		case k == hal.KeyClear && len(digits) > 0:
			digits = digits[:len(digits)-1]
		case k == hal.KeyCancel:
			return "", ui.ErrCancelled
		case k == hal.KeyEnter && len(digits) > 0:
			return string(digits), nil
		}
	}
}

// AnyKey waits for one key or d.
func (p *Panel) AnyKey(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, _ = p.UI.Key(ctx)
}

// PrintWhole prints doc; when the paper runs out or the cover is open it
// asks for it and prints the whole document again once the printer is
// ready, or gives up when the merchant says so.
func (p *Panel) PrintWhole(ctx context.Context, doc hal.Document) error {
	for {
		err := p.Printer.Print(ctx, doc)
		if err == nil {
			return nil
		}
		if !errors.Is(err, hal.ErrPaperOut) && !errors.Is(err, hal.ErrCoverOpen) {
			return err
		}
		_ = p.Indicator.Signal(ctx, hal.SignalAttention)
		msg := "请装纸 Load paper, then press ENTER"
		if errors.Is(err, hal.ErrCoverOpen) {
			msg = "请合上打印机盖 Close the printer cover, then press ENTER"
		}
		ok, kerr := p.UI.ConfirmAs(ctx, ui.PaperOut, "打印机 Printer", "打印", "不打印", msg)
		if kerr != nil {
			return kerr
		}
		if !ok {
			return err
		}
	}
}

// IgnoreCancel is err, except that the merchant's CANCEL is no error.
func IgnoreCancel(err error) error {
	if errors.Is(err, ui.ErrCancelled) {
		return nil
	}
	return err
}

// IgnoreTimeout is err, except that ctx running out of time is no error.
func IgnoreTimeout(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Prefilled is keypad with keys pressed before a screen replayed first (a
// digit typed on the idle screen is the amount's first).
func Prefilled(keys []hal.Key, keypad hal.Keypad) hal.Keypad {
	return &prefilled{keys: keys, next: keypad}
}

type prefilled struct {
	keys []hal.Key
	next hal.Keypad
}

func (p *prefilled) Key(ctx context.Context) (hal.Key, error) {
	if len(p.keys) > 0 {
		k := p.keys[0]
		p.keys = p.keys[1:]
		return k, nil
	}
	return p.next.Key(ctx)
}
