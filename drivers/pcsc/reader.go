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

// Slot names one PC/SC reader of the terminal and what kind of slot it is.
type Slot struct {
	// Pattern is a regular expression matched against the PC/SC reader
	// names; the first reader that matches (and no earlier slot took) is
	// used. Empty matches any.
	Pattern string
	// Interface is what a card in this reader is: hal.Contact (default) or
	// hal.Contactless. It decides between CardInserted and CardTapped.
	Interface hal.CardInterface
}

// Config says which readers make up the terminal's card reader.
type Config struct {
	// Slots lists the readers, e.g. a contact slot and a contactless field
	// that a dual reader shows as two PC/SC readers. Empty means one
	// contact slot on the first reader.
	Slots []Slot
	// Poll bounds each SCardGetStatusChange call (default 500 ms); a
	// cancelled context interrupts a call at once in any case.
	Poll time.Duration
}

// slot is the state of one configured reader.
type slot struct {
	re      *regexp.Regexp
	iface   hal.CardInterface
	name    string    // the matched reader, "" until found
	known   stateFlag // the state last reported to the caller
	present bool
	card    *Card // the card handed out with the last insert event
}

// Reader is the terminal's card reader over one or more PC/SC readers. One
// goroutine may wait in WaitEvent while others call Present.
type Reader struct {
	api  api
	poll time.Duration

	mu      sync.Mutex
	ctx     pcscContext // nil until established, or after the service went away
	slots   []*slot
	readers int // how many readers the last listing showed
}

var _ hal.CardReader = (*Reader)(nil)

// newReader builds a Reader on a PC/SC implementation. It does not contact
// the service; the first call does.
func newReader(a api, cfg Config) (*Reader, error) {
	r := &Reader{api: a, poll: cfg.Poll}
	if r.poll <= 0 {
		r.poll = 500 * time.Millisecond
	}
	slots := cfg.Slots
	if len(slots) == 0 {
		slots = []Slot{{}}
	}
	for _, s := range slots {
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pcsc: reader pattern: %w", err)
		}
		iface := s.Interface
		if iface == 0 {
			iface = hal.Contact
		}
		r.slots = append(r.slots, &slot{re: re, iface: iface})
	}
	return r, nil
}

// Names returns the PC/SC names of the matched readers, "" for a slot whose
// reader was not found yet.
func (r *Reader) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, len(r.slots))
	for i, s := range r.slots {
		names[i] = s.name
	}
	return names
}

// Close releases the PC/SC context and disconnects the cards handed out. Call
// it when no WaitEvent is running.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, s := range r.slots {
		if s.card != nil {
			errs = append(errs, s.card.Close())
			s.card = nil
		}
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

// session returns the PC/SC context, establishing it when needed, and
// matches slots without a reader against the reader list. Call with r.mu
// held.
func (r *Reader) session() (pcscContext, error) {
	if r.ctx == nil {
		c, err := r.api.establish()
		if err != nil {
			return nil, noReader(fmt.Errorf("pcsc: establish context: %w", err))
		}
		r.ctx = c
	}
	if r.matched() {
		return r.ctx, nil
	}
	names, err := r.ctx.listReaders()
	if errors.Is(err, errNoReaders) {
		r.readers = 0
		return r.ctx, nil
	}
	if err != nil {
		return nil, r.lost(fmt.Errorf("pcsc: list readers: %w", err))
	}
	r.readers = len(names)
	taken := map[string]bool{}
	for _, s := range r.slots {
		taken[s.name] = true
	}
	for _, s := range r.slots {
		if s.name != "" {
			continue
		}
		for _, n := range names {
			if !taken[n] && s.re.MatchString(n) {
				s.name, s.known = n, stateUnaware
				taken[n] = true
				break
			}
		}
	}
	return r.ctx, nil
}

// matched reports whether every slot has its reader.
func (r *Reader) matched() bool {
	for _, s := range r.slots {
		if s.name == "" {
			return false
		}
	}
	return true
}

// lost handles an error from the service: when the service went away the
// context and the reader names are dropped, so that the next call starts
// again. It returns err, wrapped with hal.ErrNoReader when no reader can be
// reached. Call with r.mu held.
func (r *Reader) lost(err error) error {
	switch {
	case errors.Is(err, errNoService):
		if r.ctx != nil {
			_ = r.ctx.release() // the service is gone; nothing to release it to
		}
		r.ctx = nil
		for _, s := range r.slots {
			s.name = ""
		}
		return noReader(err)
	case errors.Is(err, errUnknownReader), errors.Is(err, errNoReaders):
		for _, s := range r.slots {
			s.name = ""
		}
		return noReader(err)
	}
	return err
}

// Present reports whether a card is in any of the slots now.
func (r *Reader) Present(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c, err := r.session()
	if err != nil {
		return false, err
	}
	var st []readerState
	for _, s := range r.slots {
		if s.name != "" {
			st = append(st, readerState{reader: s.name, current: stateUnaware})
		}
	}
	if len(st) == 0 {
		return false, noReader(fmt.Errorf("pcsc: no reader matches %q", r.slots[0].re.String()))
	}
	if err := c.getStatusChange(st, 0); err != nil && !errors.Is(err, errTimeout) {
		return false, r.lost(fmt.Errorf("pcsc: reader status: %w", err))
	}
	for _, s := range st {
		if s.event&statePresent != 0 && s.event&stateMute == 0 {
			return true, nil
		}
	}
	return false, nil
}

// WaitEvent blocks until a card is inserted (or tapped) or removed in one of
// the slots, or ctx is done. An inserted card comes connected, as the
// event's Card; it stays valid until its removal event. While a slot has no
// reader, WaitEvent keeps looking for one, so a reader plugged in later is
// picked up.
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

// step waits one poll period for a change and turns the first change it
// finds into an event; changes in other slots stay pending for the next call.
func (r *Reader) step(ctx context.Context) (hal.CardEvent, bool, error) {
	r.mu.Lock()
	c, err := r.session()
	var st []readerState
	var owners []*slot
	if err == nil {
		for _, s := range r.slots {
			if s.name != "" {
				st = append(st, readerState{reader: s.name, current: s.known})
				owners = append(owners, s)
			}
		}
		if !r.matched() {
			// Wake up when the reader list changes; pcsc-lite compares
			// the reader count in the high word.
			st = append(st, readerState{reader: pnpNotification, current: stateFlag(r.readers << 16)})
		}
	}
	r.mu.Unlock()
	if err != nil {
		return hal.CardEvent{}, false, err
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
	for i, s := range owners {
		if ev, ok, err := r.update(c, s, st[i].event&^stateChanged); ok || err != nil {
			return ev, ok, err
		}
	}
	return hal.CardEvent{}, false, nil
}

// update takes a slot's new state and returns the event it means, if any.
// Call with r.mu held.
func (r *Reader) update(c pcscContext, s *slot, ev stateFlag) (hal.CardEvent, bool, error) {
	if ev&(stateUnknown|stateUnavailable) != 0 {
		s.name = "" // the reader went away
		if s.present {
			return r.removed(s), true, nil
		}
		return hal.CardEvent{}, false, nil
	}
	if ev == s.known {
		return hal.CardEvent{}, false, nil
	}
	now := ev&statePresent != 0 && ev&stateMute == 0
	if now && s.present && ev>>16 != s.known>>16 {
		// pcsc-lite counts card events in the high word: the card was
		// taken out and one put in between two looks. Report the removal
		// now and the new card on the next call.
		s.known = stateUnaware
		return r.removed(s), true, nil
	}
	s.known = ev
	switch {
	case now && !s.present:
		card, err := r.connect(c, s)
		if err != nil {
			if errors.Is(err, errCardRemoved) || errors.Is(err, errNoCard) {
				return hal.CardEvent{}, false, nil // gone before we could power it
			}
			return hal.CardEvent{}, false, err
		}
		s.present, s.card = true, card
		kind := hal.CardInserted
		if s.iface == hal.Contactless {
			kind = hal.CardTapped
		}
		return hal.CardEvent{Kind: kind, Card: card}, true, nil
	case !now && s.present:
		return r.removed(s), true, nil
	}
	return hal.CardEvent{}, false, nil
}

// removed records a removal and invalidates the slot's card.
func (r *Reader) removed(s *slot) hal.CardEvent {
	s.present = false
	if s.card != nil {
		s.card.gone()
		s.card = nil
	}
	return hal.CardEvent{Kind: hal.CardRemoved}
}

// connect powers and connects the card in the slot's reader.
func (r *Reader) connect(c pcscContext, s *slot) (*Card, error) {
	h, err := c.connect(s.name)
	if err != nil {
		return nil, r.lost(fmt.Errorf("pcsc: connect to %q: %w", s.name, err))
	}
	card := &Card{h: h, iface: s.iface}
	if err := card.refresh(); err != nil {
		_ = h.disconnect(false) // the status failure is the error worth reporting
		return nil, err
	}
	return card, nil
}
