package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// engine runs the AT dialogue on a byte stream: one command at a time, with
// unsolicited result codes handed to onURC as they arrive.
//
// warthog618/modem's at package was the first candidate; it reads the modem
// line by line and takes no context, so it cannot carry the raw, binary
// payloads of AT+QIRD (which may hold CR and LF) nor honour deadlines. This
// engine keeps the same shape (commands plus indications) with both.
type engine struct {
	w     io.Writer
	log   *slog.Logger
	onURC func(line string)

	sem chan struct{} // holds one token: the right to issue a command

	mu   sync.Mutex
	cur  *pending // the command waiting for its final result, or nil
	err  error    // why the reader stopped
	done chan struct{}
}

// pending is a command in flight. The reader delivers its frames to ch and
// closes done when the final result has been read, even if the caller has
// given up waiting by then.
type pending struct {
	cmd    string
	prefix string
	ch     chan frame
	done   chan struct{}
	// payload is what AT+QISEND announced. If the caller gave up before the
	// "> " prompt came, the reader writes it when the prompt does come: a
	// module waiting for announced bytes would take the next commands for
	// them.
	payload   []byte
	abandoned bool
}

func newEngine(rw io.ReadWriter, log *slog.Logger, onURC func(string)) *engine {
	e := &engine{
		w:     rw,
		log:   log,
		onURC: onURC,
		sem:   make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	go e.readLoop(rw)
	return e
}

func (e *engine) readLoop(r io.Reader) {
	var p parser
	buf := make([]byte, 2048)
	for {
		n, err := r.Read(buf)
		p.feed(buf[:n], e.dispatch)
		if err != nil {
			e.mu.Lock()
			e.err = err
			e.mu.Unlock()
			close(e.done)
			return
		}
	}
}

// dispatch routes one frame: URCs to onURC, the rest to the waiting command.
// Once it has passed a command its final result, later lines are no longer
// that command's, so the URC that follows "OK" (+QIOPEN) is classified right.
func (e *engine) dispatch(f frame) {
	e.mu.Lock()
	cur := e.cur
	prefix := ""
	if cur != nil {
		prefix = cur.prefix
	}
	if f.kind == frameLine && isURC(f.line, prefix) {
		e.mu.Unlock()
		e.onURC(f.line)
		return
	}
	if cur == nil {
		e.mu.Unlock()
		e.log.Debug("modem: unexpected output", "line", f.line, "kind", int(f.kind))
		return
	}
	if f.kind == frameLine && f.line == cur.cmd {
		e.mu.Unlock() // command echo
		return
	}
	if f.kind == framePrompt && cur.abandoned {
		e.mu.Unlock()
		if _, err := e.w.Write(cur.payload); err != nil {
			e.log.Warn("modem: writing an abandoned payload", "err", err)
		}
		return
	}
	final := f.kind == frameLine && finalResult(f.line) != notFinal
	if final {
		e.cur = nil
	}
	e.mu.Unlock()
	select {
	case cur.ch <- f:
	default:
		e.log.Warn("modem: response overflow, frame dropped", "cmd", cur.cmd)
	}
	if final {
		close(cur.done)
	}
}

// acquire takes the command slot, waiting for an abandoned command's final
// result first so that its late answer cannot be read as ours.
func (e *engine) acquire(ctx context.Context) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("modem: waiting for the command slot: %w", ctx.Err())
	}
	e.mu.Lock()
	old := e.cur
	e.mu.Unlock()
	if old == nil {
		return nil
	}
	select {
	case <-old.done:
		return nil
	case <-e.done:
		<-e.sem
		return e.readerErr()
	case <-ctx.Done():
		<-e.sem
		return fmt.Errorf("%w: %s still unanswered: %w", ErrBusy, old.cmd, ctx.Err())
	}
}

func (e *engine) release() { <-e.sem }

func (e *engine) readerErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil || errors.Is(e.err, io.EOF) {
		return fmt.Errorf("modem: %w", ErrPortClosed)
	}
	return fmt.Errorf("modem: %w: %w", ErrPortClosed, e.err)
}

// reset forgets an abandoned command (after a power cycle the module will
// never answer it).
func (e *engine) reset() {
	e.mu.Lock()
	e.cur = nil
	e.mu.Unlock()
}

// start registers cmd as the pending command and writes it.
func (e *engine) start(cmd string) (*pending, error) {
	p := &pending{cmd: cmd, prefix: commandPrefix(cmd), ch: make(chan frame, 64), done: make(chan struct{})}
	e.mu.Lock()
	e.cur = p
	e.mu.Unlock()
	if _, err := io.WriteString(e.w, cmd+"\r"); err != nil {
		e.reset()
		return nil, fmt.Errorf("modem: writing %s: %w", cmd, err)
	}
	return p, nil
}

// next waits for the next frame of p.
func (e *engine) next(ctx context.Context, p *pending) (frame, error) {
	select {
	case f := <-p.ch:
		return f, nil
	case <-e.done:
		// Frames may still sit in the channel.
		select {
		case f := <-p.ch:
			return f, nil
		default:
		}
		return frame{}, e.readerErr()
	case <-ctx.Done():
		return frame{}, fmt.Errorf("modem: %s: %w", p.cmd, ctx.Err())
	}
}

// response is what a command returned before its final result.
type response struct {
	lines []string
	data  []byte // the raw payload of AT+QIRD
}

// collect reads p's frames up to the final result.
func (e *engine) collect(ctx context.Context, p *pending) (response, error) {
	var r response
	for {
		f, err := e.next(ctx, p)
		if err != nil {
			return r, err
		}
		switch f.kind {
		case frameData:
			r.data = append(r.data, f.data...)
			continue
		case framePrompt:
			continue
		}
		switch finalResult(f.line) {
		case finalOK:
			return r, nil
		case finalError:
			if s := cmeError(f.line); s != nil {
				return r, fmt.Errorf("modem: %s: %w", p.cmd, s)
			}
			return r, &CommandError{Cmd: p.cmd, Result: f.line}
		}
		r.lines = append(r.lines, f.line)
	}
}

// command sends cmd and returns its information lines. Waiting for the
// slot and waiting for the answer each get up to timeout, within ctx.
func (e *engine) command(ctx context.Context, timeout time.Duration, cmd string) (response, error) {
	actx, cancel := context.WithTimeout(ctx, timeout)
	err := e.acquire(actx)
	cancel()
	if err != nil {
		return response{}, err
	}
	defer e.release()
	p, err := e.start(cmd)
	if err != nil {
		return response{}, err
	}
	ctx, cancel = context.WithTimeout(ctx, timeout)
	defer cancel()
	return e.collect(ctx, p)
}

// send issues a data command (AT+QISEND=id,n): waits for the "> " prompt,
// writes data, and waits for SEND OK.
func (e *engine) send(ctx context.Context, timeout time.Duration, cmd string, data []byte) error {
	actx, cancel := context.WithTimeout(ctx, timeout)
	err := e.acquire(actx)
	cancel()
	if err != nil {
		return err
	}
	defer e.release()
	ctx, cancel = context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := e.start(cmd)
	if err != nil {
		return err
	}
	p.payload = data
	for {
		f, err := e.next(ctx, p)
		if err != nil {
			e.abandonSend(p)
			return err
		}
		if f.kind == framePrompt {
			break
		}
		if f.kind == frameLine && finalResult(f.line) == finalError {
			return &CommandError{Cmd: cmd, Result: f.line}
		}
	}
	if _, err := e.w.Write(data); err != nil {
		return fmt.Errorf("modem: writing %d payload bytes: %w", len(data), err)
	}
	_, err = e.collect(ctx, p)
	return err
}

// abandonSend hands the payload of a send given up before its prompt to
// the reader, or writes it now if the prompt is already in.
func (e *engine) abandonSend(p *pending) {
	e.mu.Lock()
	p.abandoned = true
	e.mu.Unlock()
	for {
		select {
		case f := <-p.ch:
			if f.kind == framePrompt {
				if _, err := e.w.Write(p.payload); err != nil {
					e.log.Warn("modem: writing an abandoned payload", "err", err)
				}
				return
			}
		default:
			return
		}
	}
}

// CommandError is a final result other than OK.
type CommandError struct {
	Cmd    string // the command as sent
	Result string // ERROR, +CME ERROR: n, SEND FAIL …
}

func (e *CommandError) Error() string { return fmt.Sprintf("modem: %s: %s", e.Cmd, e.Result) }
