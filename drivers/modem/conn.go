package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

// maxSend is the largest chunk one AT+QISEND carries.
const maxSend = 1460

// Dial opens a TCP connection through the module's socket commands. It
// brings the link up first (re-attach or power cycle) when it is down.
func (m *Modem) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if network != "tcp" && network != "tcp4" {
		return nil, fmt.Errorf("modem: network %q not supported", network)
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("modem: dial %s: %w", addr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("modem: dial %s: bad port", addr)
	}
	c, err := m.dial(ctx, host, port, addr)
	if errors.Is(err, errPDPGone) {
		// The network took the context away before its URC reached us.
		m.mu.Lock()
		m.pdpUp = false
		m.mu.Unlock()
		c, err = m.dial(ctx, host, port, addr)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// errPDPGone is the module's answer 561 to AT+QIOPEN: no PDP context.
var errPDPGone = fmt.Errorf("%w: PDP context not activated (561)", ErrNoPDP)

func (m *Modem) dial(ctx context.Context, host string, port int, addr string) (*conn, error) {
	if err := m.EnsureUp(ctx); err != nil {
		return nil, err
	}
	c, err := m.newConn(addr)
	if err != nil {
		return nil, err
	}
	cmd := fmt.Sprintf(`AT+QIOPEN=%d,%d,"TCP","%s",%d,0,0`, m.cfg.ContextID, c.id, host, port)
	if _, err := m.cmd(ctx, cmd); err != nil {
		m.forget(c)
		return nil, fmt.Errorf("%w: %w", ErrDial, err)
	}
	wait, cancel := context.WithTimeout(ctx, m.cfg.ConnectTimeout)
	defer cancel()
	select {
	case code := <-c.openRes:
		if code == 561 {
			m.forget(c)
			return nil, fmt.Errorf("%w: %s: %w", ErrDial, addr, errPDPGone)
		}
		if code != 0 {
			m.forget(c)
			return nil, fmt.Errorf("%w: %s: module error %d", ErrDial, addr, code)
		}
	case <-wait.Done():
		// The module may still open it; close the ID so that it can be reused.
		m.closeSocket(context.WithoutCancel(ctx), c.id)
		m.forget(c)
		return nil, fmt.Errorf("%w: %s: %w", ErrDial, addr, wait.Err())
	}
	m.log.Info("modem: socket open", "id", c.id, "addr", addr)
	return c, nil
}

func (m *Modem) newConn(addr string) (*conn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	for id := 0; id < maxSockets; id++ {
		if m.socks[id] == nil {
			c := &conn{
				m:       m,
				id:      id,
				local:   modemAddr(m.ip),
				remote:  modemAddr(addr),
				notify:  make(chan struct{}, 1),
				openRes: make(chan int, 1),
				done:    make(chan struct{}),
				dlRead:  make(chan struct{}),
				dlWrite: make(chan struct{}),
			}
			m.socks[id] = c
			return c, nil
		}
	}
	return nil, ErrNoSocket
}

func (m *Modem) forget(c *conn) {
	m.mu.Lock()
	if m.socks[c.id] == c {
		delete(m.socks, c.id)
	}
	m.mu.Unlock()
}

func (m *Modem) closeSocket(ctx context.Context, id int) error {
	_, err := m.cmd(ctx, fmt.Sprintf("AT+QICLOSE=%d", id))
	return err
}

// modemAddr is a net.Addr for the module's side of a socket.
type modemAddr string

func (a modemAddr) Network() string { return "tcp" }
func (a modemAddr) String() string  { return string(a) }

// conn is a TCP socket inside the module.
type conn struct {
	m       *Modem
	id      int
	local   net.Addr
	remote  net.Addr
	notify  chan struct{} // +QIURC "recv": data waits in the module
	openRes chan int      // the +QIOPEN answer

	mu       sync.Mutex
	buf      []byte
	peerDone bool  // the peer closed; read what is left, then EOF
	err      error // set when the socket is unusable
	done     chan struct{}
	rdl, wdl time.Time
	dlRead   chan struct{} // closed and replaced when the read deadline changes
	dlWrite  chan struct{}
	readMu   sync.Mutex
	writeMu  sync.Mutex
}

var _ net.Conn = (*conn)(nil)

func (c *conn) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *conn) opened(code int) {
	select {
	case c.openRes <- code:
	default:
	}
}

func (c *conn) peerClose() {
	c.mu.Lock()
	c.peerDone = true
	c.mu.Unlock()
	c.signal()
}

// markClosed makes the socket unusable with err (the driver closed, the
// module was power-cycled).
func (c *conn) markClosed(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
		close(c.done)
	}
}

// deadlineError is the timeout a net.Conn returns when a deadline passes.
type deadlineError struct{ op string }

func (e *deadlineError) Error() string   { return "modem: " + e.op + ": i/o timeout" }
func (e *deadlineError) Timeout() bool   { return true }
func (e *deadlineError) Temporary() bool { return true }
func (e *deadlineError) Unwrap() error   { return os.ErrDeadlineExceeded }

// Read returns data the module holds for this socket, asking with AT+QIRD
// and waiting for the "recv" URC when there is none.
func (c *conn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	for {
		c.mu.Lock()
		if len(c.buf) > 0 {
			n := copy(p, c.buf)
			c.buf = c.buf[n:]
			c.mu.Unlock()
			return n, nil
		}
		if c.err != nil {
			err := c.err
			c.mu.Unlock()
			return 0, err
		}
		peerDone := c.peerDone
		c.mu.Unlock()

		// The AT+QIRD exchange itself is never cut short by a deadline: the
		// bytes it carries would be lost. Deadlines bound the wait for data.
		r, err := c.m.cmd(context.Background(), fmt.Sprintf("AT+QIRD=%d,%d", c.id, min(len(p), maxRawRead)))
		if err != nil {
			if e := c.closedErr(); e != nil {
				return 0, e
			}
			err = fmt.Errorf("modem: read socket %d: %w", c.id, err)
			var ce *CommandError
			if !errors.As(err, &ce) {
				// An answer that never came may have carried bytes of the
				// stream: the socket cannot be trusted any more.
				c.markClosed(err)
			}
			return 0, err
		}
		if len(r.data) > 0 {
			n := copy(p, r.data)
			if n < len(r.data) {
				c.mu.Lock()
				c.buf = append(c.buf, r.data[n:]...)
				c.mu.Unlock()
			}
			return n, nil
		}
		if peerDone {
			return 0, io.EOF
		}
		if err := c.waitData(); err != nil {
			return 0, err
		}
	}
}

// waitData waits for a "recv" URC, the read deadline, or the socket's end.
// It returns nil when Read should ask the module again.
func (c *conn) waitData() error {
	for {
		c.mu.Lock()
		dl, changed := c.rdl, c.dlRead
		c.mu.Unlock()
		var timeout <-chan time.Time
		if !dl.IsZero() {
			d := time.Until(dl)
			if d <= 0 {
				return &deadlineError{op: "read"}
			}
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-c.notify:
			return nil
		case <-c.done:
			return c.closedErr()
		case <-timeout:
			return &deadlineError{op: "read"}
		case <-changed:
		}
	}
}

func (c *conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Write sends p in chunks of at most maxSend bytes with AT+QISEND.
func (c *conn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	sent := 0
	for sent < len(p) {
		c.mu.Lock()
		err, peerDone := c.err, c.peerDone
		c.mu.Unlock()
		if err != nil {
			return sent, err
		}
		if peerDone {
			return sent, fmt.Errorf("modem: write socket %d: %w", c.id, net.ErrClosed)
		}
		chunk := p[sent:min(len(p), sent+maxSend)]
		c.mu.Lock()
		wdl := c.wdl
		c.mu.Unlock()
		if !wdl.IsZero() && !time.Now().Before(wdl) {
			return sent, &deadlineError{op: "write"}
		}
		// A started AT+QISEND runs to its end (cut short, the module would
		// take the next command's bytes for payload), so the write deadline
		// is checked between chunks only.
		err = c.m.e.send(context.Background(), c.m.cfg.CommandTimeout, fmt.Sprintf("AT+QISEND=%d,%d", c.id, len(chunk)), chunk)
		if err != nil {
			if e := c.closedErr(); e != nil {
				return sent, e
			}
			var ce *CommandError
			if !errors.As(err, &ce) {
				// Cut short, the module may hold part of the chunk.
				err = fmt.Errorf("modem: write socket %d: %w", c.id, err)
				c.markClosed(err)
				return sent, err
			}
			if ce.Result == "SEND FAIL" {
				return sent, fmt.Errorf("modem: write socket %d: %w", c.id, ErrSendFailed)
			}
			return sent, fmt.Errorf("modem: write socket %d: %w: %w", c.id, net.ErrClosed, err)
		}
		sent += len(chunk)
	}
	return sent, nil
}

// Close closes the socket in the module.
func (c *conn) Close() error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil
	}
	c.err = fmt.Errorf("modem: socket %d: %w", c.id, net.ErrClosed)
	close(c.done)
	c.mu.Unlock()
	defer c.m.forget(c)
	if err := c.m.closeSocket(context.Background(), c.id); err != nil {
		return fmt.Errorf("modem: close socket %d: %w", c.id, err)
	}
	return nil
}

func (c *conn) LocalAddr() net.Addr  { return c.local }
func (c *conn) RemoteAddr() net.Addr { return c.remote }

func (c *conn) SetDeadline(t time.Time) error {
	c.setDeadline(t, true)
	c.setDeadline(t, false)
	return nil
}

func (c *conn) SetReadDeadline(t time.Time) error  { c.setDeadline(t, true); return nil }
func (c *conn) SetWriteDeadline(t time.Time) error { c.setDeadline(t, false); return nil }

func (c *conn) setDeadline(t time.Time, read bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if read {
		c.rdl = t
		close(c.dlRead)
		c.dlRead = make(chan struct{})
		return
	}
	c.wdl = t
	close(c.dlWrite)
	c.dlWrite = make(chan struct{})
}
