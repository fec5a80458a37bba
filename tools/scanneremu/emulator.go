// Package scanneremu emulates a serial QR scanner module on a
// pseudo-terminal: codes are "shown" to it on command and it sends their text
// terminated by CR LF, at once in continuous mode, or in trigger mode only
// while a read is triggered by the trigger command (SYN T CR by default) and
// not yet stopped (SYN U CR). It can also send raw bytes (garbage, overlong
// lines, the no-read message) so that a driver's rejection paths are tested.
//
// It must not import the driver it tests.
package scanneremu

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Options configure an emulator.
type Options struct {
	Trigger    bool   // trigger mode; continuous when false
	TriggerOn  string // "\x16T\r" when empty
	TriggerOff string // "\x16U\r" when empty
	Terminator string // "\r\n" when empty
}

// Emulator is a scanner module on a pty.
type Emulator struct {
	opts      Options
	ptmx, tty *os.File

	mu        sync.Mutex
	presented []string // codes in front of the scanner (trigger mode)
	triggered bool
	triggers  int // trigger commands received
	stops     int // stop commands received
	cmd       []byte
	changed   chan struct{}
	done      chan struct{}
}

// New opens a pty, puts its slave side in raw mode and starts the module.
func New(opts Options) (*Emulator, error) {
	if opts.TriggerOn == "" {
		opts.TriggerOn = "\x16T\r"
	}
	if opts.TriggerOff == "" {
		opts.TriggerOff = "\x16U\r"
	}
	if opts.Terminator == "" {
		opts.Terminator = "\r\n"
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("scanneremu: open pty: %w", err)
	}
	if _, err := term.MakeRaw(int(tty.Fd())); err != nil {
		ptmx.Close()
		tty.Close()
		return nil, fmt.Errorf("scanneremu: raw mode: %w", err)
	}
	e := &Emulator{opts: opts, ptmx: ptmx, tty: tty, changed: make(chan struct{}), done: make(chan struct{})}
	go e.loop()
	return e, nil
}

// Path returns the pty slave device a driver opens.
func (e *Emulator) Path() string { return e.tty.Name() }

// Close stops the emulator and closes the pty.
func (e *Emulator) Close() error {
	err1 := e.ptmx.Close()
	err2 := e.tty.Close()
	<-e.done
	return errors.Join(err1, err2)
}

// Show presents a code. In continuous mode the module sends it at once; in
// trigger mode it is sent on the next triggered read (at once if a read is
// triggered now).
func (e *Emulator) Show(text string) error {
	if !e.opts.Trigger {
		return e.SendRaw([]byte(text + e.opts.Terminator))
	}
	e.mu.Lock()
	e.presented = append(e.presented, text)
	e.mu.Unlock()
	return e.serve()
}

// SendRaw writes bytes to the driver as the module would, whatever the mode.
func (e *Emulator) SendRaw(b []byte) error {
	if _, err := e.ptmx.Write(b); err != nil {
		return fmt.Errorf("scanneremu: write: %w", err)
	}
	return nil
}

// Triggers returns how many trigger and stop commands the module received.
func (e *Emulator) Triggers() (on, off int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.triggers, e.stops
}

// Triggered reports whether a read is in progress (trigger mode).
func (e *Emulator) Triggered() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.triggered
}

// Changed returns a channel closed at the next command the module receives.
func (e *Emulator) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// serve sends the first presented code if a read is triggered.
func (e *Emulator) serve() error {
	e.mu.Lock()
	if !e.triggered || len(e.presented) == 0 {
		e.mu.Unlock()
		return nil
	}
	code := e.presented[0]
	e.presented = e.presented[1:]
	e.triggered = false // a module ends the read once it has decoded
	e.mu.Unlock()
	return e.SendRaw([]byte(code + e.opts.Terminator))
}

func (e *Emulator) loop() {
	defer close(e.done)
	buf := make([]byte, 256)
	for {
		n, err := e.ptmx.Read(buf)
		if n > 0 {
			e.command(buf[:n])
			if e.serve() != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// command looks for trigger and stop commands in what the driver sent.
func (e *Emulator) command(b []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cmd = append(e.cmd, b...)
	on, off := []byte(e.opts.TriggerOn), []byte(e.opts.TriggerOff)
	for {
		i, j := bytes.Index(e.cmd, on), bytes.Index(e.cmd, off)
		switch {
		case i >= 0 && (j < 0 || i < j):
			e.triggered = true
			e.triggers++
			e.cmd = e.cmd[i+len(on):]
		case j >= 0:
			e.triggered = false
			e.stops++
			e.cmd = e.cmd[j+len(off):]
		default:
			if keep := max(len(on), len(off)); len(e.cmd) > keep {
				e.cmd = e.cmd[len(e.cmd)-keep:]
			}
			close(e.changed)
			e.changed = make(chan struct{})
			return
		}
	}
}
