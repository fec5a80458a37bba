package fake

import (
	"context"
	"sync"

	"kpos/hal"
)

// CardReader delivers the card events a test or the simulated board pushes.
type CardReader struct {
	events *queue[hal.CardEvent]

	mu      sync.Mutex
	present bool
	err     error
	held    *heldCard // the card in the slot
}

// heldCard is a card in the slot; once pulled every command fails with
// hal.ErrCardRemoved.
type heldCard struct {
	hal.Card
	mu     sync.Mutex
	pulled bool
}

func (c *heldCard) pull() {
	c.mu.Lock()
	c.pulled = true
	c.mu.Unlock()
}

// Transmit forwards to the card while it is in the slot.
func (c *heldCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.mu.Lock()
	pulled := c.pulled
	c.mu.Unlock()
	if pulled {
		return nil, hal.ErrCardRemoved
	}
	return c.Card.Transmit(ctx, apdu)
}

var _ hal.CardReader = (*CardReader)(nil)

// NewCardReader returns a reader with an empty slot.
func NewCardReader() *CardReader { return &CardReader{events: newQueue[hal.CardEvent]()} }

// Insert puts a chip card in the contact slot.
func (r *CardReader) Insert(c hal.Card) {
	r.put(hal.CardEvent{Kind: hal.CardInserted, Card: r.hold(c)}, true)
}

// Tap brings a card into the field. Unlike an inserted card it stays
// reachable after Remove: a tapped card's field time is the kernel's own
// business, and Remove only says the customer took it away. A tap passes
// through the field: it leaves the slot's presence as it was.
func (r *CardReader) Tap(c hal.Card) { r.push(hal.CardEvent{Kind: hal.CardTapped, Card: c}) }

// hold wraps an inserted card so that it stops answering once removed, as a
// card pulled from the slot does.
func (r *CardReader) hold(c hal.Card) hal.Card {
	h := &heldCard{Card: c}
	r.mu.Lock()
	r.held = h
	r.mu.Unlock()
	return h
}

// Swipe reads a magnetic stripe.
// A swipe leaves the slot's presence as it was.
func (r *CardReader) Swipe(t *hal.Track) { r.push(hal.CardEvent{Kind: hal.CardSwiped, Track: t}) }

// Remove takes the card away: an inserted card answers no more APDUs. A
// card inserted and taken away before anyone read its insert leaves no
// event at all, as with a real reader, which reports changes of state
// between two looks, not a history.
func (r *CardReader) Remove() {
	r.mu.Lock()
	if r.held != nil {
		r.held.pull()
		r.held = nil
	}
	r.present = false
	r.mu.Unlock()
	if r.events.dropLast(func(e hal.CardEvent) bool { return e.Kind == hal.CardInserted }) {
		return
	}
	r.events.push(hal.CardEvent{Kind: hal.CardRemoved})
}

// Fail makes every later call return err, as a reader whose service died; nil heals it.
func (r *CardReader) Fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// put changes whether a card is in the slot, then reports the event.
func (r *CardReader) put(e hal.CardEvent, present bool) {
	r.mu.Lock()
	r.present = present
	r.mu.Unlock()
	r.events.push(e)
}

// push reports an event that leaves the slot as it is.
func (r *CardReader) push(e hal.CardEvent) { r.events.push(e) }

// WaitEvent returns the next pushed event.
func (r *CardReader) WaitEvent(ctx context.Context) (hal.CardEvent, error) {
	r.mu.Lock()
	err := r.err
	r.mu.Unlock()
	if err != nil {
		return hal.CardEvent{}, err
	}
	return next(ctx, r.events)
}

// Present reports whether a card is in the slot now: inserted and not
// removed since, whether or not anyone took its events yet. (A tap or a
// swipe passes through the reader and leaves nothing present.)
func (r *CardReader) Present(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.present, r.err
}

// Pending returns the number of events not yet taken.
func (r *CardReader) Pending() int { return r.events.len() }
