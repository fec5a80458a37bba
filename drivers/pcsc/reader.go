package pcsc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"kpos/hal"
)

// ErrNoCGO reports a binary built without cgo, which cannot reach pcscd. It
// wraps hal.ErrNoReader.
var ErrNoCGO = fmt.Errorf("pcsc: built without cgo, PC/SC is unavailable: %w", hal.ErrNoReader)

// pnpNotification is the pseudo reader whose state changes when readers
// come or go.
const pnpNotification = `\\?PnP?\Notification`

// Config says which reader to use and what kind of slot it is.
type Config struct {
	// Pattern is a regular expression matched against the PC/SC reader
	// names; the first reader that matches is used. Empty matches any.
	Pattern string
	// Interface is what a card in this reader is: hal.Contact (default) or
	// hal.Contactless. It decides between CardInserted and CardTapped.
	Interface hal.CardInterface
	// Poll bounds each SCardGetStatusChange call (default 500 ms); a
	// cancelled context interrupts a call at once in any case.
	Poll time.Duration
}

// Reader is one PC/SC reader slot. It is safe for one WaitEvent caller at a
// time alongside Present calls from others.
type Reader struct {
	api   api
	re    *regexp.Regexp
	iface hal.CardInterface
	poll  time.Duration

	mu      sync.Mutex
	ctx     pcscContext // nil until established, or after the service went away
	name    string      // the matched reader, "" until found
	known   stateFlag   // the state last reported to the caller
	readers int         // how many readers the last listing showed
	present bool
	card    *Card // the card handed out with the last insert event
}

var _ hal.CardReader = (*Reader)(nil)

// newReader builds a Reader on a PC/SC implementation. It does not contact
// the service; the first call does.
func newReader(a api, cfg Config) (*Reader, error) {
	re, err := regexp.Compile(cfg.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pcsc: reader pattern: %w", err)
	}
	r := &Reader{api: a, re: re, iface: cfg.Interface, poll: cfg.Poll}
	if r.iface == 0 {
		r.iface = hal.Contact
	}
	if r.poll <= 0 {
		r.poll = 500 * time.Millisecond
	}
	return r, nil
}

// Name returns the PC/SC name of the matched reader, "" before one was found.
func (r *Reader) Name() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.name
}

// Close releases the PC/SC context and disconnects a card handed out.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.card != nil {
		errs = append(errs, r.card.Close())
		r.card = nil
	}
	if r.ctx != nil {
		if err := r.ctx.release(); err != nil {
			errs = append(errs, fmt.Errorf("pcsc: release context: %w", err))
		}
		r.ctx = nil
	}
	return errors.Join(errs...)
}

// noReader wraps err so that callers can test for hal.ErrNoReader.
func noReader(err error) error {
	return fmt.Errorf("%w: %w", hal.ErrNoReader, err)
}

// session returns the PC/SC context and the matched reader name,
// establishing the context and finding the reader when needed. Call with
// r.mu held.
func (r *Reader) session() (pcscContext, string, error) {
	if r.ctx == nil {
		c, err := r.api.establish()
		if err != nil {
			return nil, "", noReader(fmt.Errorf("pcsc: establish context: %w", err))
		}
		r.ctx = c
	}
	if r.name != "" {
		return r.ctx, r.name, nil
	}
	names, err := r.ctx.listReaders()
	if err != nil {
		if errors.Is(err, errNoReaders) {
			r.readers = 0
			return r.ctx, "", nil
		}
		return nil, "", r.lost(fmt.Errorf("pcsc: list readers: %w", err))
	}
	r.readers = len(names)
	for _, n := range names {
		if r.re.MatchString(n) {
			r.name = n
			r.known = stateUnaware
			return r.ctx, n, nil
		}
	}
	return r.ctx, "", nil
}

// lost handles an error from the service: when it says the service or the
// reader went away, the context or reader is dropped so that the next call
// starts again. It returns err, wrapped with hal.ErrNoReader when the reader
// is unreachable. Call with r.mu held.
func (r *Reader) lost(err error) error {
	switch {
	case errors.Is(err, errNoService):
		if r.ctx != nil {
			_ = r.ctx.release() // the service is gone; nothing to release it to
		}
		r.ctx, r.name = nil, ""
		return noReader(err)
	case errors.Is(err, errUnknownReader), errors.Is(err, errNoReaders):
		r.name = ""
		return noReader(err)
	}
	return err
}

// Present reports whether a card is in the reader now.
func (r *Reader) Present(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, name, err := r.session()
	if err != nil {
		return false, err
	}
	if name == "" {
		return false, noReader(fmt.Errorf("pcsc: no reader matches %q", r.re.String()))
	}
	st := []readerState{{reader: name, current: stateUnaware}}
	if err := c.getStatusChange(st, 0); err != nil && !errors.Is(err, errTimeout) {
		return false, r.lost(fmt.Errorf("pcsc: reader status: %w", err))
	}
	return st[0].event&statePresent != 0 && st[0].event&stateMute == 0, nil
}

// WaitEvent blocks until a card is inserted (or tapped) or removed, or ctx is
// done. An inserted card comes connected, as the event's Card; it stays
// valid until the removal event. While no reader matches, WaitEvent keeps
// looking for one, so a reader plugged in later is picked up.
func (r *Reader) WaitEvent(ctx context.Context) (hal.CardEvent, error) {
	for {
		if err := ctx.Err(); err != nil {
			return hal.CardEvent{}, err
		}
		ev, ok, err := r.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return hal.CardEvent{}, ctx.Err()
			}
			return hal.CardEvent{}, err
		}
		if ok {
			return ev, nil
		}
	}
}

// step waits one poll period for a change and turns it into an event.
func (r *Reader) step(ctx context.Context) (hal.CardEvent, bool, error) {
	r.mu.Lock()
	c, name, err := r.session()
	known := r.known
	if name == "" {
		// No reader yet: wait for the reader list to change. pcsc-lite
		// compares the reader count in the high word.
		known = stateFlag(r.readers << 16)
	}
	r.mu.Unlock()
	if err != nil {
		return hal.CardEvent{}, false, err
	}
	st := []readerState{{reader: name, current: known}}
	if name == "" {
		st[0].reader = pnpNotification
	}
	stop := context.AfterFunc(ctx, func() { _ = c.cancel() })
	err = c.getStatusChange(st, r.poll)
	stop()

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case errors.Is(err, errTimeout):
		return hal.CardEvent{}, false, nil
	case errors.Is(err, errCancelled):
		return hal.CardEvent{}, false, ctx.Err()
	case err != nil:
		return hal.CardEvent{}, false, r.lost(fmt.Errorf("pcsc: wait for card: %w", err))
	}
	if name == "" {
		return hal.CardEvent{}, false, nil
	}
	ev := st[0].event &^ stateChanged
	if ev&(stateUnknown|stateUnavailable) != 0 {
		r.name = ""
		if r.present {
			return r.removed(), true, nil
		}
		return hal.CardEvent{}, false, nil
	}
	r.known = ev
	now := ev&statePresent != 0 && ev&stateMute == 0
	switch {
	case now && !r.present:
		card, err := r.connect(c, name)
		if err != nil {
			if errors.Is(err, errCardRemoved) || errors.Is(err, errNoCard) {
				return hal.CardEvent{}, false, nil // gone before we could power it
			}
			return hal.CardEvent{}, false, err
		}
		r.present, r.card = true, card
		kind := hal.CardInserted
		if r.iface == hal.Contactless {
			kind = hal.CardTapped
		}
		return hal.CardEvent{Kind: kind, Card: card}, true, nil
	case !now && r.present:
		return r.removed(), true, nil
	}
	return hal.CardEvent{}, false, nil
}

// removed records a removal and invalidates the card. Call with r.mu held.
func (r *Reader) removed() hal.CardEvent {
	r.present = false
	if r.card != nil {
		r.card.gone()
		r.card = nil
	}
	return hal.CardEvent{Kind: hal.CardRemoved}
}

// connect powers and connects the card in the reader. Call with r.mu held.
func (r *Reader) connect(c pcscContext, name string) (*Card, error) {
	h, err := c.connect(name)
	if err != nil {
		return nil, r.lost(fmt.Errorf("pcsc: connect to %q: %w", name, err))
	}
	card := &Card{h: h, iface: r.iface}
	if err := card.refresh(); err != nil {
		_ = h.disconnect(false) // the status failure is the error worth reporting
		return nil, err
	}
	return card, nil
}
