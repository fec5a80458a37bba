// Package printeremu emulates an ESC/POS receipt printer on a pseudo-terminal,
// so that the real printer driver can be tested, and a terminal run, without a
// printer. It interprets the bytes written to the pty's slave side (the subset
// the driver uses, and skips anything else by its length), lays the rows out
// as text pages split at cuts, turns printed QR codes back into their payload
// by drawing the symbol's modules and decoding the picture, and answers DLE EOT
// status requests. Paper out, paper near-end, cover open and faults are set on
// command, and a roll can be made to run out after a number of rows.
//
// It must not import the driver it tests: it is a second, independent reading
// of the ESC/POS command set.
package printeremu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Options configure an emulator.
type Options struct {
	Columns int // characters per line; 48 (80 mm paper) when zero
	// OnPage, when set, is called with each finished page, outside the
	// emulator's lock, one call at a time, and before WaitPages sees the
	// page.
	OnPage func(Page)
}

// Emulator is a printer on a pty.
type Emulator struct {
	ptmx, tty *os.File
	onPage    func(Page)
	pageMu    sync.Mutex // OnPage calls one at a time
	delivered int        // pages handed to OnPage (WaitPages waits for these)

	mu      sync.Mutex
	in      *Interpreter
	changed chan struct{} // closed and replaced whenever pages or state change
	done    chan struct{}
	err     error // why the read loop ended, set before done closes
}

// New opens a pty pair, puts its slave side in raw mode and starts
// interpreting what is written to it. Drivers open Path().
func New(opts Options) (*Emulator, error) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("printeremu: open pty: %w", err)
	}
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		ptmx.Close()
		tty.Close()
		return nil, fmt.Errorf("printeremu: raw mode: %w", err)
	}
	e := &Emulator{
		ptmx:    ptmx,
		tty:     tty, // kept open so the master never sees a hang-up between clients
		onPage:  opts.OnPage,
		in:      NewInterpreter(opts.Columns),
		changed: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go e.loop()
	return e, nil
}

// Path returns the pty slave device a driver opens, e.g. /dev/pts/3.
func (e *Emulator) Path() string { return e.tty.Name() }

// Columns returns the paper width in characters.
func (e *Emulator) Columns() int { return e.in.Columns }

// Close stops the emulator and closes the pty.
func (e *Emulator) Close() error {
	err1 := e.ptmx.Close()
	err2 := e.tty.Close()
	<-e.done
	return errors.Join(err1, err2)
}

func (e *Emulator) loop() {
	defer close(e.done)
	buf := make([]byte, 4096)
	for {
		n, err := e.ptmx.Read(buf)
		if n > 0 {
			e.mu.Lock()
			before := len(e.in.pages)
			reply := e.in.Feed(buf[:n])
			pages := e.in.Pages()[before:]
			e.mu.Unlock()
			if len(reply) > 0 {
				if _, werr := e.ptmx.Write(reply); werr != nil {
					e.err = werr
					return
				}
			}
			e.finished(pages)
		}
		if err != nil {
			e.err = err
			return
		}
	}
}

func (e *Emulator) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// Pages returns the finished pages so far.
func (e *Emulator) Pages() []Page {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.in.Pages()
}

// Current returns the page under the print head, not yet cut.
func (e *Emulator) Current() Page {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.in.Current()
}

// WaitPages blocks until at least n pages are finished and handed to
// OnPage, and returns them.
func (e *Emulator) WaitPages(ctx context.Context, n int) ([]Page, error) {
	for {
		e.mu.Lock()
		pages, changed := e.in.Pages()[:e.delivered], e.changed
		e.mu.Unlock()
		if len(pages) >= n {
			return pages, nil
		}
		select {
		case <-ctx.Done():
			return pages, fmt.Errorf("printeremu: waiting for %d pages, have %d: %w", n, len(pages), ctx.Err())
		case <-e.done:
			return pages, fmt.Errorf("printeremu: closed with %d pages: %w", len(pages), e.err)
		case <-changed:
		}
	}
}

// State returns the mechanical state.
func (e *Emulator) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.in.State()
}

// Set changes the mechanical state with f, e.g.
// e.Set(func(s *State) { s.CoverOpen = true }). Clearing PaperOut loads a
// new endless roll and tears off a page left unfinished.
func (e *Emulator) Set(f func(*State)) {
	e.mu.Lock()
	s := e.in.State()
	f(&s)
	before := len(e.in.pages)
	e.in.SetState(s)
	pages := e.in.Pages()[before:]
	e.mu.Unlock()
	e.finished(pages)
}

// finished hands new pages to OnPage, then wakes waiters, so that a waiter
// sees OnPage's effects.
func (e *Emulator) finished(pages []Page) {
	if e.onPage != nil && len(pages) > 0 {
		e.pageMu.Lock()
		for _, p := range pages {
			e.onPage(p)
		}
		e.pageMu.Unlock()
	}
	e.mu.Lock()
	e.delivered += len(pages)
	e.notifyLocked()
	e.mu.Unlock()
}

// SetPaperOut empties (true) or loads (false) the paper roll.
func (e *Emulator) SetPaperOut(out bool) { e.Set(func(s *State) { s.PaperOut = out }) }

// SetCoverOpen opens or closes the cover.
func (e *Emulator) SetCoverOpen(open bool) { e.Set(func(s *State) { s.CoverOpen = open }) }

// SetPaperNearEnd sets the near-end sensor.
func (e *Emulator) SetPaperNearEnd(near bool) { e.Set(func(s *State) { s.PaperNearEnd = near }) }

// RunOutAfter makes the paper run out after n more printed rows; n < 0
// makes the roll endless again.
func (e *Emulator) RunOutAfter(n int) {
	e.mu.Lock()
	e.in.RunOutAfter(n)
	e.notifyLocked()
	e.mu.Unlock()
}
