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
// business, and Remove only says the customer took it away.
func (r *CardReader) Tap(c hal.Card) { r.put(hal.CardEvent{Kind: hal.CardTapped, Card: c}, true) }

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
func (r *CardReader) Swipe(t *hal.Track) { r.put(hal.CardEvent{Kind: hal.CardSwiped, Track: t}, false) }

// Remove takes the card away: an inserted card answers no more APDUs.
func (r *CardReader) Remove() {
	r.mu.Lock()
	if r.held != nil {
		r.held.pull()
		r.held = nil
	}
	r.mu.Unlock()
	r.put(hal.CardEvent{Kind: hal.CardRemoved}, false)
}

// Fail makes every later call return err, as a reader whose service died; nil heals it.
func (r *CardReader) Fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *CardReader) put(e hal.CardEvent, present bool) {
	r.mu.Lock()
	r.present = present
	r.mu.Unlock()
	r.events.push(e)
}

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

// Present reports whether the last event left a card in the reader.
func (r *CardReader) Present(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.present, r.err
}

// Pending returns the number of events not yet taken.
func (r *CardReader) Pending() int { return r.events.len() }
