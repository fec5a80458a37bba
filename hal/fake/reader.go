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
}

var _ hal.CardReader = (*CardReader)(nil)

// NewCardReader returns a reader with an empty slot.
func NewCardReader() *CardReader { return &CardReader{events: newQueue[hal.CardEvent]()} }

// Insert puts a chip card in the contact slot.
func (r *CardReader) Insert(c hal.Card) { r.put(hal.CardEvent{Kind: hal.CardInserted, Card: c}, true) }

// Tap brings a card into the contactless field.
func (r *CardReader) Tap(c hal.Card) { r.put(hal.CardEvent{Kind: hal.CardTapped, Card: c}, true) }

// Swipe reads a magnetic stripe.
func (r *CardReader) Swipe(t *hal.Track) { r.put(hal.CardEvent{Kind: hal.CardSwiped, Track: t}, false) }

// Remove takes the card away.
func (r *CardReader) Remove() { r.put(hal.CardEvent{Kind: hal.CardRemoved}, false) }

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
