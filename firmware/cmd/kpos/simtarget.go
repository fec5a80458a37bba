//go:build sim

package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	simboard "kpos/boards/sim"
	"kpos/firmware/journal"
	"kpos/hal"
	"kpos/hal/fake"
	"kpos/tools/hostsim"
	"kpos/tools/scenario"
)

// simTarget lets a scenario drive the simulated board and look into the
// running firmware.
type simTarget struct {
	a      *app
	sim    *simboard.Devices
	pullAt int // the next inserted card leaves at this command (0: it stays)
}

var (
	_ scenario.Target        = (*simTarget)(nil)
	_ scenario.CardPuller    = (*simTarget)(nil)
	_ scenario.HostInspector = (*simTarget)(nil)
	_ scenario.Clock         = (*simTarget)(nil)
)

// SetClock puts the board's clock (firmware, host simulator, scheduler) at at.
func (t *simTarget) SetClock(ctx context.Context, at time.Time) error {
	t.sim.Clock.Set(at)
	return nil
}

// AdvanceClock moves the board's clock forward by d.
func (t *simTarget) AdvanceClock(ctx context.Context, d time.Duration) error {
	t.sim.Clock.Advance(d)
	return nil
}

// HostRecords returns the in-process host simulator's transaction records
// (authorizations and reversals), oldest first, as scenarios name fields.
func (t *simTarget) HostRecords(ctx context.Context) ([]scenario.HostRecord, error) {
	h, ok := t.sim.Host.(interface{ Records() []hostsim.Record })
	if !ok {
		return nil, errors.New("this board's host simulator does not show its records")
	}
	yesNo := map[bool]string{true: "yes", false: "no"}
	var out []scenario.HostRecord
	for _, r := range h.Records() {
		if r.Type != "authorization" && r.Type != "reversal" {
			continue
		}
		kind := r.Kind
		if r.Type == "reversal" {
			kind = "reversal"
		}
		rec := scenario.HostRecord{"type": r.Type, "kind": kind, "trace": fmt.Sprintf("%06d", r.Trace), "code": r.Code,
			"amount": fmt.Sprintf("%d.%02d", r.Amount/100, r.Amount%100), "entry": r.Entry, "reason": r.Reason,
			"applied": yesNo[r.Applied], "answered": yesNo[!r.Unanswered], "voided": yesNo[r.Voided], "reversed": yesNo[r.Reversed],
			"security": r.Security, "tvr": r.TVR}
		if r.OrigTrace != 0 {
			rec["orig-trace"] = fmt.Sprintf("%06d", r.OrigTrace)
		}
		out = append(out, rec)
	}
	return out, nil
}

// PullAt makes the next inserted card leave the slot as its n-th command
// arrives: that command and every later one fail, and the reader reports
// the removal, as when a customer pulls the card mid-transaction.
func (t *simTarget) PullAt(ctx context.Context, n int) error {
	t.pullAt = n
	return nil
}

// pulledCard counts the commands of a card due to be pulled.
type pulledCard struct {
	hal.Card
	left int
	pull func()
	once sync.Once
}

func (c *pulledCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.left--
	if c.left <= 0 {
		c.once.Do(c.pull)
		return nil, hal.ErrCardRemoved
	}
	return c.Card.Transmit(ctx, apdu)
}

func (t *simTarget) Press(ctx context.Context, keys ...hal.Key) error {
	t.sim.Keypad.Press(keys...)
	return nil
}

func (t *simTarget) Present(ctx context.Context, how, name string) error {
	switch how {
	case "swipe":
		track, err := t.sim.Track(name)
		if err != nil {
			return err
		}
		t.sim.Reader.Swipe(track)
		return nil
	case "tap":
		card, err := t.sim.Card(name, hal.Contactless)
		if err != nil {
			return err
		}
		t.sim.Reader.Tap(card)
		return nil
	default:
		card, err := t.sim.Card(name, hal.Contact)
		if err != nil {
			return err
		}
		if t.pullAt > 0 {
			card = &pulledCard{Card: card, left: t.pullAt, pull: t.sim.Reader.Remove}
			t.pullAt = 0
		}
		t.sim.Reader.Insert(card)
		return nil
	}
}

func (t *simTarget) Remove(ctx context.Context) error {
	t.sim.Reader.Remove()
	return nil
}

func (t *simTarget) EnterPIN(ctx context.Context, pin string) error {
	t.sim.PINPad.EnterPIN(pin)
	return nil
}

func (t *simTarget) CancelPIN(ctx context.Context) error {
	t.sim.PINPad.Enter(fake.PINEntry{Err: hal.ErrPINCancelled})
	return nil
}

func (t *simTarget) Scan(ctx context.Context, text string) error {
	t.sim.Scanner.Show(text)
	return nil
}

func (t *simTarget) Screens() []hal.Screen { return t.sim.Display.History() }

func (t *simTarget) WaitScreens(ctx context.Context, n int) error {
	_, _, err := t.sim.Display.WaitFor(ctx, n, func(hal.Screen) bool { return true })
	return err
}

func (t *simTarget) Receipts() string { return t.sim.Printer.Text() }

func (t *simTarget) JournalState(ctx context.Context, trace string) (string, error) {
	inst := t.a.current()
	if inst == nil {
		return "", errors.New("the terminal is not running")
	}
	var tx journal.Txn
	var err error
	if trace == "last" {
		tx, err = inst.journal.Last()
	} else {
		n, perr := strconv.ParseUint(trace, 10, 32)
		if perr != nil {
			return "", fmt.Errorf("trace %q is not a number", trace)
		}
		tx, err = inst.journal.Get(uint32(n))
	}
	if err != nil {
		return "", err
	}
	return string(tx.State), nil
}

func (t *simTarget) HostCount(ctx context.Context, kind, state string) (int, error) {
	if t.sim.Host == nil {
		return 0, errors.New("this board has no host simulator to ask")
	}
	return t.sim.Host.Count(kind, state), nil
}

func (t *simTarget) Host(ctx context.Context, command string) error {
	if t.sim.Host == nil {
		return errors.New("this board has no host simulator to control")
	}
	return t.sim.Host.Command(command)
}

// PowerCut drops the running firmware as a power loss would: the journal is
// let go first so nothing after the cut reaches it, then the firmware starts
// again from disk and boots (reversals first).
func (t *simTarget) PowerCut(ctx context.Context) error {
	inst := t.a.current()
	if inst == nil {
		return errors.New("the terminal is not running")
	}
	inst.journal.Close()
	inst.cancel()
	<-inst.done
	_, err := t.a.start(ctx)
	return err
}
