// Package cardwait waits at the prompt for a card presented the way the
// transaction still accepts it (insert, tap or swipe, or only one of them
// after the kernel asked for another way). Card presence is the reader's
// state, asked when the card is needed, not a queue of what happened
// before: a card already in the slot when the prompt appears (inserted at
// idle) is not read, it must come out and go in again; an insert whose card
// is gone by the time its event is read (inserted and pulled before the
// prompt) is ignored. CANCEL ends the wait. It knows nothing of
// transactions.
package cardwait

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of the prompts after the kernel asked for another way.
const (
	ScreenInsertCard = "insert-card" // contactless refused: insert the card
	ScreenSeePhone   = "see-phone"   // the phone wallet asks its holder to look, then tap again
	ScreenFallback   = "swipe-card"  // the chip cannot be read: swipe the card
)

// Mode is which ways of presenting the card the transaction still accepts:
// what the kernel asked for after a card could not be used as presented.
type Mode int

// The modes.
const (
	AnyCard    Mode = iota // insert, tap or swipe
	InsertOnly             // contactless refused: insert the card
	InsertChip             // a chip card was swiped: insert it
	TapAgain               // see phone, then tap again
	Fallback               // the chip failed: swipe that card (still in the slot)
)

// Accepts reports whether e is a way of presenting the card mode m
// accepts: after a contactless refusal only an insert, after a chip failure
// only a swipe, after "see phone" only a tap.
func (m Mode) Accepts(e hal.CardEvent) bool {
	switch m {
	case InsertOnly, InsertChip:
		return e.Kind == hal.CardInserted
	case TapAgain:
		return e.Kind == hal.CardTapped
	case Fallback:
		return e.Kind == hal.CardSwiped
	}
	return true
}

// Prompt is one wait for a card.
type Prompt struct {
	Reader hal.CardReader
	Panel  *panel.Panel
	Mode   Mode
	What   string // what the card is for: the amount, or the kind's title when it has none
	Log    *slog.Logger
}

// show asks for the card the way the transaction still accepts it; stale:
// a card left in the slot from before must come out first.
func (p *Prompt) show(ctx context.Context, stale bool) error {
	u, what := p.Panel.UI, p.What
	if stale {
		return u.Show(ctx, ui.PresentCard, "请拔卡后重新插卡", "Remove the card, then insert it again", what, "取消[CANCEL]")
	}
	switch p.Mode {
	case InsertOnly:
		return u.Show(ctx, ScreenInsertCard, "请插卡 Insert the card", "此卡不能挥卡完成 Contactless not possible: insert the card", what, "取消[CANCEL]")
	case InsertChip:
		return u.Show(ctx, ScreenInsertCard, "请插卡 Insert the card", "此卡有芯片，请插卡 This card has a chip: insert it", what, "取消[CANCEL]")
	case TapAgain:
		return u.Show(ctx, ScreenSeePhone, "请查看手机 See phone", "按手机提示操作后再挥卡 Follow your phone, then tap again", what, "取消[CANCEL]")
	case Fallback:
		return u.Show(ctx, ScreenFallback, "芯片无法读取 Chip unreadable", "请拔卡后刷卡 Remove the card and swipe it", what, "取消[CANCEL]")
	}
	return u.Show(ctx, ui.PresentCard, "请插卡/挥卡/刷卡", "Insert, tap or swipe", what, "取消[CANCEL]")
}

var (
	// ErrCancelled: the merchant pressed CANCEL.
	ErrCancelled = errors.New("cardwait: cancelled")
	// ErrTimedOut: no card came before ctx ended.
	ErrTimedOut = errors.New("cardwait: no card in time")
)

// ReaderError is a fault of the card reader.
type ReaderError struct{ Err error }

func (e *ReaderError) Error() string { return "cardwait: card reader: " + e.Err.Error() }
func (e *ReaderError) Unwrap() error { return e.Err }

// staleRecheck is how often a card left in the slot from before the prompt
// is looked for again.
const staleRecheck = 200 * time.Millisecond

// Wait shows the prompt and takes the first way of presenting the card
// that the mode accepts. Card presence is the reader's state, asked when the
// card is needed, not a queue of what happened before: a card already in
// the slot when the prompt appears (inserted at idle) is not read, it must
// come out and go in again; an insert whose card is gone by the time its
// event is read (inserted and pulled before the prompt) is ignored.
func (p *Prompt) Wait(ctx context.Context) (hal.CardEvent, error) {
	stale := false
	if p.Mode != Fallback { // after a chip failure the card is still in the slot, to be swiped
		in, err := p.Reader.Present(ctx)
		if err != nil {
			return hal.CardEvent{}, &ReaderError{Err: err}
		}
		stale = in
	}
	if err := p.show(ctx, stale); err != nil {
		return hal.CardEvent{}, err
	}
	events := make(chan hal.CardEvent)
	more := make(chan struct{}) // read on: the event was not what was asked
	errs := make(chan error, 1)
	readerCtx, stopReader := context.WithCancel(ctx)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			e, err := p.Reader.WaitEvent(readerCtx)
			if err != nil {
				errs <- err
				return
			}
			select {
			case events <- e:
			case <-readerCtx.Done():
				return
			}
			// Read no further event unless told: the next one belongs
			// to the next step.
			select {
			case <-more:
			case <-readerCtx.Done():
				return
			}
		}
	}()
	keys, waitKeys := p.Panel.KeyFeed(readerCtx)
	defer func() { stopReader(); waitKeys(); <-readerDone }()
	present := func() bool {
		in, err := p.Reader.Present(ctx)
		return err != nil || in // a reader that cannot say is trusted with its event
	}
	// A reader reports changes between two looks: a card that was in the
	// slot before anyone read its insert may leave without any event, so
	// while one is there its presence is asked again now and then.
	var recheck <-chan time.Time
	if stale {
		tk := time.NewTicker(staleRecheck)
		defer tk.Stop()
		recheck = tk.C
	}
	for {
		select {
		case <-recheck:
			if !present() {
				stale, recheck = false, nil
				_ = p.show(ctx, stale)
			}
			continue
		case k := <-keys:
			if k == hal.KeyCancel {
				return hal.CardEvent{}, ErrCancelled
			}
			continue
		case e := <-events:
			switch {
			case e.Kind == hal.CardRemoved:
				if stale && !present() {
					// The card from before the prompt is out: ask again.
					stale, recheck = false, nil
					_ = p.show(ctx, stale)
				}
				more <- struct{}{}
				continue
			case e.Kind == hal.CardInserted && (stale || !present()):
				// From before the prompt: still in the slot (it must come
				// out first), or already gone.
				p.Log.Info("card event from before the prompt ignored", "event", e.Kind)
				more <- struct{}{}
				continue
			}
			if !p.Mode.Accepts(e) {
				// Not the way the kernel asked for: say it again.
				_ = p.Panel.Indicator.Signal(ctx, hal.SignalAttention)
				_ = p.show(ctx, stale)
				more <- struct{}{}
				continue
			}
			return e, nil
		case err := <-errs:
			if ctx.Err() != nil {
				return hal.CardEvent{}, ErrTimedOut
			}
			return hal.CardEvent{}, &ReaderError{Err: err}
		}
	}
}

// AwaitRemoval asks for the card in the slot back (with message, when
// there is one) and waits until it is out or ctx ends; a card already out
// is not asked for.
func AwaitRemoval(ctx context.Context, reader hal.CardReader, p *panel.Panel, message string) {
	if present, err := reader.Present(ctx); err == nil && !present {
		return // already out (pulled during the sale): nothing to ask for
	}
	var lines []string
	if message != "" {
		lines = append(lines, message)
	}
	_ = p.UI.Show(ctx, ui.RemoveCard, "请拔卡 Remove card", lines...)
	for {
		present, err := reader.Present(ctx)
		if err != nil || !present {
			return
		}
		e, err := reader.WaitEvent(ctx)
		if err != nil || e.Kind == hal.CardRemoved {
			return
		}
	}
}
