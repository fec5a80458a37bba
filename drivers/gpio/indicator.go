package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"kpos/hal"
)

// IndicatorPins are the LEDs and buzzer; any may be absent.
type IndicatorPins struct {
	Green, Red, Status, Buzzer Pin
}

// led names an indicator line in a pattern.
type led int

const (
	ledGreen led = iota
	ledRed
	ledStatus
	buzzer
	numLines
)

// step drives one line for a while.
type step struct {
	line led
	on   bool
	hold time.Duration
}

// look is what a signal shows: steady LED states, then steps (looped for
// blinking, else played once).
type look struct {
	steady [numLines]bool
	steps  []step
	loop   bool
}

// lookFor maps a signal to LEDs and sounds.
func lookFor(s hal.Signal) (look, error) {
	beep := func(d time.Duration) []step {
		return []step{{buzzer, true, d}, {buzzer, false, 0}}
	}
	switch s {
	case hal.SignalIdle:
		return look{steady: [numLines]bool{ledStatus: true}}, nil
	case hal.SignalBusy:
		return look{steps: []step{{ledStatus, true, 250 * time.Millisecond}, {ledStatus, false, 250 * time.Millisecond}}, loop: true}, nil
	case hal.SignalApproved:
		return look{steady: [numLines]bool{ledGreen: true}, steps: beep(100 * time.Millisecond)}, nil
	case hal.SignalDeclined:
		return look{steady: [numLines]bool{ledRed: true}, steps: beep(600 * time.Millisecond)}, nil
	case hal.SignalAttention:
		return look{steps: []step{
			{ledRed, true, 0}, {buzzer, true, 100 * time.Millisecond}, {buzzer, false, 400 * time.Millisecond},
			{ledRed, false, 500 * time.Millisecond},
		}, loop: true}, nil
	case hal.SignalCardRead:
		return look{steady: [numLines]bool{ledStatus: true}, steps: beep(60 * time.Millisecond)}, nil
	}
	return look{}, fmt.Errorf("gpio: unknown signal %v", s)
}

type request struct {
	look look
	ack  chan error
}

// Indicator shows hal signals on LEDs and the buzzer. A signal replaces the
// one before; blinking and beeps run in the background until the next one.
type Indicator struct {
	lines [numLines]Pin
	reqs  chan request
	stop  chan struct{}
	done  chan struct{}

	buzzMu  sync.Mutex // Beep and patterns share the buzzer
	once    sync.Once
	playErr error // a line that failed in the background; only the player touches it
}

var _ hal.Indicator = (*Indicator)(nil)

// NewIndicator switches every line off and starts the pattern player.
func NewIndicator(pins IndicatorPins) (*Indicator, error) {
	in := &Indicator{
		lines: [numLines]Pin{ledGreen: pins.Green, ledRed: pins.Red, ledStatus: pins.Status, buzzer: pins.Buzzer},
		reqs:  make(chan request),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for _, p := range in.lines {
		if err := p.set(false); err != nil {
			return nil, err
		}
	}
	go in.play()
	return in, nil
}

// Close stops the player and switches every line off.
func (in *Indicator) Close() error {
	in.once.Do(func() { close(in.stop) })
	<-in.done
	var errs []error
	for _, p := range in.lines {
		errs = append(errs, p.set(false))
	}
	return errors.Join(errs...)
}

// ErrClosed reports a signal sent after Close.
var ErrClosed = errors.New("gpio: indicator closed")

// Signal shows s. The steady LED states are set when it returns; blinking and
// beeps continue in the background.
func (in *Indicator) Signal(ctx context.Context, s hal.Signal) error {
	lk, err := lookFor(s)
	if err != nil {
		return err
	}
	req := request{look: lk, ack: make(chan error, 1)}
	select {
	case in.reqs <- req:
	case <-in.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("gpio: signal %v: %w", s, ctx.Err())
	}
	select {
	case err := <-req.ack:
		return err
	case <-ctx.Done():
		return fmt.Errorf("gpio: signal %v: %w", s, ctx.Err())
	}
}

// Beep sounds the buzzer for d, or until ctx ends.
func (in *Indicator) Beep(ctx context.Context, d time.Duration) error {
	in.buzzMu.Lock()
	defer in.buzzMu.Unlock()
	bz := in.lines[buzzer]
	if err := bz.set(true); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-t.C:
	case <-ctx.Done():
		err = fmt.Errorf("gpio: beep: %w", ctx.Err())
	}
	return errors.Join(err, bz.set(false))
}

// play runs looks one after the other until stopped.
func (in *Indicator) play() {
	defer close(in.done)
	var cur *look
	for {
		if cur == nil {
			select {
			case req := <-in.reqs:
				cur = in.apply(req)
			case <-in.stop:
				return
			}
			continue
		}
		next, stopped := in.run(*cur)
		if stopped {
			return
		}
		cur = next
	}
}

// apply sets a new look's steady states and acknowledges the request.
func (in *Indicator) apply(req request) *look {
	var errs []error
	for i, p := range in.lines {
		if led(i) == buzzer {
			in.buzzMu.Lock()
			errs = append(errs, p.set(false))
			in.buzzMu.Unlock()
			continue
		}
		errs = append(errs, p.set(req.look.steady[i]))
	}
	errs = append(errs, in.playErr)
	in.playErr = nil
	req.ack <- errors.Join(errs...)
	if len(req.look.steps) == 0 {
		return nil
	}
	return &req.look
}

// run plays lk's steps (forever when it loops) and returns the next look when
// a request replaces it, or stopped when Close was called.
func (in *Indicator) run(lk look) (next *look, stopped bool) {
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	for {
		for _, st := range lk.steps {
			if st.line == buzzer {
				in.buzzMu.Lock()
			}
			// Nobody waits for a background step: the next Signal reports
			// a line that failed.
			if err := in.lines[st.line].set(st.on); err != nil && in.playErr == nil {
				in.playErr = err
			}
			if st.line == buzzer {
				in.buzzMu.Unlock()
			}
			if st.hold == 0 {
				continue
			}
			timer.Reset(st.hold)
			select {
			case <-timer.C:
			case req := <-in.reqs:
				return in.apply(req), false
			case <-in.stop:
				return nil, true
			}
		}
		if !lk.loop {
			return nil, false
		}
	}
}
