package fake

import (
	"context"
	"errors"
	"testing"

	"kpos/hal"
)

// A wait whose context is done takes nothing, even when an event is there:
// a reader that has given up (the PIN step's slot watcher, once the PIN is
// in) must leave the next sale's card to the next sale.
func TestCancelledWaitTakesNoEvent(t *testing.T) {
	r := NewCardReader()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.Insert(&PlaybackCard{})
	if _, err := r.WaitEvent(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	e, err := r.WaitEvent(context.Background())
	if err != nil || e.Kind != hal.CardInserted {
		t.Fatalf("the event was taken by a cancelled wait: %v %v", e, err)
	}
}
