package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// maxTypeAhead bounds the input held for the editor. Beyond it bytes are
// dropped, as a tty drops them when its input queue is full: the reader
// must never wait for its consumer, or it would not see the next ^C.
const maxTypeAhead = 1 << 20

// port is one input line (a serial port, a pty, a socket connection) and
// its only reader, for the line's whole life. Sessions attach to it one
// after another, so no byte is lost between them. The reader never blocks
// on the session: it acts on ^C at once (cancelling the running command and
// discarding what was typed ahead), takes BREAKs and cursor-position
// reports out of the stream, and queues the rest for the editor.
type port struct {
	src  io.Reader
	now  func() time.Time
	wake time.Duration // idle time after which the first byte redraws the login prompt

	mu     sync.Mutex
	ready  chan struct{} // capacity 1: input, an event or the end
	buf    []byte        // normalised input for the editor
	err    error         // the source's final error
	keys   keyNormaliser
	cancel context.CancelFunc // the running command's, nil when none runs
	// lineOut is set when a whole line has been handed to the editor and
	// the session has not yet acted on it: the line's command is about to
	// run, or a password is being checked. The session spends the line
	// (spendLine, takeInterrupt, endCommand) as soon as it has acted on it,
	// and at the latest before the editor draws its next prompt.
	lineOut bool
	// interrupted is a ^C that came while lineOut was set: the command about
	// to run is cancelled as it starts, a login or priv under check fails.
	interrupted bool
	woke        bool      // a BREAK, or input on an idle line
	lastIn      time.Time // zero until the first byte
	dropped     int       // bytes dropped since the last report
	cols        int       // from the last cursor-position report, 0 if none
	cprWanted   bool
	done        chan struct{}
}

func newPort(src io.Reader, now func() time.Time, wake time.Duration) *port {
	p := &port{src: src, now: now, wake: wake, ready: make(chan struct{}, 1), done: make(chan struct{})}
	p.keys.cpr = p.report
	return p
}

// run reads the source until it fails or ctx ends. A source with a read
// timeout (a serial port: Read returns 0, nil) lets it notice ctx within
// one timeout; others end when closed.
func (p *port) run(ctx context.Context) {
	defer close(p.done)
	buf := make([]byte, 4096)
	for {
		n, err := p.src.Read(buf)
		if n > 0 {
			p.feed(buf[:n])
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			p.signal()
			return
		}
	}
}

func (p *port) signal() {
	select {
	case p.ready <- struct{}{}:
	default:
	}
}

// report takes a cursor-position report; called by the normaliser with mu
// held.
func (p *port) report(cols int) {
	if p.cprWanted {
		p.cprWanted = false
		p.cols = cols
	}
}

// feed takes bytes from the source.
func (p *port) feed(in []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if p.lastIn.IsZero() || now.Sub(p.lastIn) >= p.wake {
		p.woke = true
	}
	p.lastIn = now
	for _, c := range in {
		switch c {
		case 0x03:
			p.interrupt()
		case 0x00:
			// A BREAK on a raw serial line reads as NUL (IGNBRK, BRKINT and
			// PARMRK clear, termios(3)).
			p.woke = true
		default:
			n := len(p.buf)
			p.buf = p.keys.step(p.buf, c)
			if len(p.buf) > maxTypeAhead {
				p.dropped += len(p.buf) - n
				p.buf = p.buf[:n]
			}
		}
	}
	p.signal()
}

// interrupt is ^C, with mu held. Like a tty's interrupt character it
// flushes the input queue; then it cancels the running command, or the one
// about to run, or at the editor clears the line being typed.
func (p *port) interrupt() {
	p.keys.seq, p.keys.utf, p.keys.noise = p.keys.seq[:0], p.keys.utf[:0], false
	switch {
	case p.cancel != nil:
		p.buf = p.buf[:0]
		p.cancel()
	case p.lineOut:
		p.buf = p.buf[:0]
		p.interrupted = true
	default:
		if i := bytes.IndexByte(p.buf, '\r'); i >= 0 {
			// A line was sent (Enter) before the ^C and has not been read
			// yet: it is the command the ^C interrupts. What follows it
			// is dropped.
			p.buf = p.buf[:i+1]
			p.interrupted = true
			return
		}
		// At the editor: end of line, erase to its start, Enter: an
		// empty line.
		p.buf = append(p.buf[:0], 0x05, 0x15, '\r')
	}
}

// startCommand registers the running command's cancel function and reports
// whether a ^C already cancelled it.
func (p *port) startCommand(cancel context.CancelFunc) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cancel = cancel
	if p.interrupted {
		p.interrupted = false
		cancel()
		return true
	}
	return false
}

// endCommand ends the running command. Its line is spent: a ^C from now
// on is the editor's (it clears the line being typed and redraws the
// prompt), even before the session comes back to read.
func (p *port) endCommand() {
	p.mu.Lock()
	p.cancel = nil
	p.lineOut = false
	p.interrupted = false
	p.mu.Unlock()
}

// spendLine tells the port that the session is done with the line last
// handed out (it runs no command, or the session is about to prompt
// again): a ^C from now on is the editor's. Until then a ^C is taken for
// that line: it flushes everything typed ahead and marks the line
// interrupted. A prompt is drawn before the editor reads, so a line left
// unspent there made a ^C typed at the new prompt, with a command before
// it, flush that command and cancel nothing, leaving the session silent.
func (p *port) spendLine() {
	p.mu.Lock()
	p.spend()
	p.mu.Unlock()
}

// spend is spendLine with mu held. A ^C marked for a line not yet handed
// out (one still queued) stays: it cancels that line's command.
func (p *port) spend() {
	if p.lineOut {
		p.lineOut = false
		p.interrupted = false
	}
}

// takeInterrupt reports whether a ^C came since the last line was handed
// out (a password under check), and spends that line.
func (p *port) takeInterrupt() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := p.lineOut && p.interrupted
	p.spend()
	return i
}

// sourceErr returns the source's final error, nil while it is open.
func (p *port) sourceErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// takeDropped returns how many bytes were dropped since the last call.
func (p *port) takeDropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.dropped
	p.dropped = 0
	return n
}

// touch restarts the idle time: a banner was just drawn.
func (p *port) touch() {
	p.mu.Lock()
	p.lastIn = p.now()
	p.woke = false
	p.mu.Unlock()
}

// askWidth arms the port for a cursor-position report.
func (p *port) askWidth() {
	p.mu.Lock()
	p.cprWanted = true
	p.mu.Unlock()
}

// reportedCols is the width from the last cursor-position report, 0 if none.
func (p *port) reportedCols() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cols
}

// errWake ends a login prompt's read when input arrives on an idle line
// or a BREAK is received: the banner and prompt are drawn again.
var errWake = errors.New("console: wake up")

// input is a session's view of its port: the editor's io.Reader. Reads
// give at most one line, so that what follows stays in the port, where a
// ^C can still discard it.
type input struct {
	p       *port
	idle    <-chan time.Time // set before each blocking read
	ctxDone <-chan struct{}
	cmdDone <-chan struct{} // the running interactive command's ctx, or nil
	wakes   bool            // at the login prompt: errWake is returned …
	fresh   bool            // … while nothing has been typed at it
}

func (in *input) Read(b []byte) (int, error) {
	p := in.p
	for {
		p.mu.Lock()
		// Back at the editor after a line: a ^C meant for that line's
		// command no longer applies. (The session spends it before the
		// prompt; this covers a reader that does not.)
		p.spend()
		if in.wakes && in.fresh && p.woke {
			p.woke = false
			p.mu.Unlock()
			return 0, errWake
		}
		p.woke = false
		if len(p.buf) > 0 {
			n := len(p.buf)
			if i := bytes.IndexByte(p.buf, '\r'); i >= 0 {
				n = i + 1
				p.lineOut = true
			}
			n = copy(b, p.buf[:n])
			if n < len(p.buf) && bytes.IndexByte(b[:n], '\r') < 0 {
				p.lineOut = false
			}
			p.buf = p.buf[:copy(p.buf, p.buf[n:])]
			p.mu.Unlock()
			in.fresh = false
			return n, nil
		}
		err := p.err
		p.mu.Unlock()
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return 0, errInterrupted
			}
			return 0, err
		}
		select {
		case <-p.ready:
		case <-in.idle:
			return 0, errIdle
		case <-in.ctxDone:
			return 0, errInterrupted
		case <-in.cmdDone:
			return 0, fmt.Errorf("console: prompt abandoned: %w", context.Canceled)
		}
	}
}
