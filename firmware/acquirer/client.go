package acquirer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/moov-io/iso8583"
	"golang.org/x/sys/unix"

	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/keys"
	"kpos/hal"
)

// Config is how the terminal reaches its acquirer. The MAC algorithm and the
// key family (3DES or SM4) are the key store's configuration (keys.Config),
// so that keys and MAC can never disagree.
type Config struct {
	Addr   string // host:port
	TPDU   TPDU   // e.g. 6000030000
	Header Header // e.g. 603100310100
	TID    string // field 41, 8 characters
	MID    string // field 42, 15 characters
	// Operator is field 63.1 of sign-on and settlement ("01 " when empty).
	Operator string
	// DialTimeout bounds one connection attempt (10 s when zero).
	DialTimeout time.Duration
	// ReadTimeout bounds the wait for the answer once the request is written
	// (30 s when zero). A context deadline that comes first wins.
	ReadTimeout time.Duration
	// DialAttempts is how many connections are tried before ErrNotSent (2
	// when zero). Only dialling is retried for a request that could move
	// money: a request once written is never sent again.
	DialAttempts int
	// Secure, when set, wraps each new connection before the first message
	// (TLS, see package acquirer/tlslink); it counts as dialling, so a
	// failure is ErrNotSent. The package itself speaks ISO 8583 over any
	// stream and links no TLS: a board that wants it wires it.
	Secure func(ctx context.Context, conn net.Conn) (net.Conn, error)
	// KeepConnection keeps the connection open after an exchange and sends
	// the next request on it, for hosts that serve a terminal on one
	// persistent connection. False (the default) opens a connection per
	// exchange, as CUP POS terminals do. A kept connection that the host has
	// closed meanwhile is noticed before the request is written and replaced
	// by a new one; after any failure the connection is dropped.
	KeepConnection bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives one line per exchange, without card data (discarded when nil).
	Logger *slog.Logger
}

// Client speaks the dialect with one host: one connection per exchange,
// MAC on every financial message, keys from the key store. It is safe for
// concurrent use, although a terminal runs one exchange at a time.
type Client struct {
	cfg   Config
	link  hal.Link
	ks    *keys.Store
	codec *Codec
	log   *slog.Logger

	mu     sync.Mutex
	signOn SignOnInfo

	// connMu serialises exchanges on the kept connection (KeepConnection).
	connMu sync.Mutex
	kept   net.Conn
}

// SignOnInfo is what the last successful sign-on returned.
type SignOnInfo struct {
	Batch       uint32    // field 60.2 of the answer: the host's current batch
	HostTime    time.Time // fields 12 and 13
	Requirement int       // header processing requirement
}

// NewClient returns a client. The MAC and key algorithms are the key
// store's configuration (3DES with the UnionPay ECB MAC, or SM4).
func NewClient(cfg Config, link hal.Link, ks *keys.Store) *Client {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.DialAttempts <= 0 {
		cfg.DialAttempts = 2
	}
	if cfg.Operator == "" {
		cfg.Operator = "01 "
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, link: link, ks: ks, codec: NewCodec(), log: log}
	if c.sm4() {
		c.codec = NewSMCodec() // SM mode: field 52 carries the 16-byte SM4 PIN block
	}
	return c
}

// LastSignOn returns what the last successful sign-on returned.
func (c *Client) LastSignOn() SignOnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.signOn
}

func (c *Client) identity() Identity { return Identity{TID: c.cfg.TID, MID: c.cfg.MID} }

func (c *Client) sm4() bool { return c.ks != nil && c.ks.Config().Algorithm == keys.AlgSM4 }

// dial opens a connection, retrying a failed dial up to DialAttempts.
func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	var last error
	for attempt := 1; attempt <= c.cfg.DialAttempts; attempt++ {
		if attempt > 1 {
			t := time.NewTimer(time.Duration(attempt-1) * 250 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("%w: %w", ErrNotSent, ctx.Err())
			case <-t.C:
			}
		}
		dctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		conn, err := c.link.Dial(dctx, "tcp", c.cfg.Addr)
		if err == nil && c.cfg.Secure != nil {
			var sc net.Conn
			if sc, err = c.cfg.Secure(dctx, conn); err != nil {
				conn.Close()
			} else {
				conn = sc
			}
		}
		cancel()
		if err == nil {
			return conn, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: dial: %w", ErrNotSent, last)
}

// exchange sends one request and reads its answer. mac says whether field
// 64 is computed on the request and required on the answer. The answer is
// checked to be the answer to req (MTI, trace, terminal). Failures wrap
// ErrNotSent (nothing written) or ErrNoAnswer (written, no valid answer).
func (c *Client) exchange(ctx context.Context, op string, req *iso8583.Message, mac bool, reqTime time.Time) (Response, *iso8583.Message, error) {
	var macer MACer
	if mac {
		if c.ks == nil {
			return Response{}, nil, fmt.Errorf("%w: %s: no key store", ErrNotSent, op)
		}
		macer = c.ks
	}
	body, err := c.codec.Pack(req, macer)
	if err != nil {
		return Response{}, nil, fmt.Errorf("%w: %s: %w", ErrNotSent, op, err)
	}
	start := time.Now()
	conn, err := c.connect(ctx)
	if err != nil {
		c.log.Info("acquirer exchange", "op", op, "result", "not sent", "err", err)
		return Response{}, nil, fmt.Errorf("acquirer: %s: %w", op, err)
	}
	keep := false
	defer func() { c.release(conn, keep) }()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	deadline := time.Now().Add(c.cfg.ReadTimeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return Response{}, nil, fmt.Errorf("%w: %s: set deadline: %w", ErrNotSent, op, err)
	}
	frame := Frame{TPDU: c.cfg.TPDU, Header: c.cfg.Header, Body: body}
	raw := frame.Bytes()
	out := make([]byte, 2, 2+len(raw))
	out[0], out[1] = byte(len(raw)>>8), byte(len(raw))
	out = append(out, raw...)
	n, err := conn.Write(out)
	if err != nil {
		if n == 0 {
			return Response{}, nil, fmt.Errorf("%w: %s: write: %w", ErrNotSent, op, err)
		}
		return Response{}, nil, fmt.Errorf("%w: %s: write cut after %d bytes: %w", ErrNoAnswer, op, n, err)
	}
	resp, m, hdr, err := c.readAnswer(conn, req, macer, reqTime)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		} else if ctxDeadline && !time.Now().Before(deadline) {
			// The connection's deadline was the context's and fired first.
			err = fmt.Errorf("%w (%w)", err, context.DeadlineExceeded)
		}
		c.log.Info("acquirer exchange", "op", op, "result", "no answer", "err", err, "ms", time.Since(start).Milliseconds())
		return Response{}, nil, fmt.Errorf("%w: %s: %w", ErrNoAnswer, op, err)
	}
	resp.Requirement = hdr.Requirement()
	keep = c.cfg.KeepConnection && ctx.Err() == nil
	c.log.Info("acquirer exchange", "op", op, "code", resp.Code, "ms", time.Since(start).Milliseconds())
	return resp, m, nil
}

// connect returns the connection for one exchange: the kept one when
// KeepConnection is set and it is still open (it then holds connMu until
// release), else a new one.
func (c *Client) connect(ctx context.Context) (net.Conn, error) {
	if !c.cfg.KeepConnection {
		return c.dial(ctx)
	}
	c.connMu.Lock()
	if conn := c.kept; conn != nil {
		c.kept = nil
		if open(conn) {
			return conn, nil
		}
		conn.Close()
	}
	conn, err := c.dial(ctx)
	if err != nil {
		c.connMu.Unlock()
		return nil, err
	}
	return conn, nil
}

// release ends an exchange's use of conn: kept for the next exchange when
// keep, else closed.
func (c *Client) release(conn net.Conn, keep bool) {
	if !c.cfg.KeepConnection {
		conn.Close()
		return
	}
	if keep && conn.SetDeadline(time.Time{}) == nil {
		c.kept = conn
	} else {
		conn.Close()
	}
	c.connMu.Unlock()
}

// open reports whether a kept connection is still usable. Nothing is owed
// on it between exchanges, so a socket with nothing to read is open, and
// any byte, end of file or error means the host closed it or broke the
// dialogue. The check comes before the request is written, so a
// connection the host closed while idle costs a new dial, never a request
// in doubt. A TCP socket (under TLS or not) is peeked without blocking;
// other connections (pipes, modem sockets) are given a millisecond.
func open(conn net.Conn) bool {
	raw := conn
	if w, ok := conn.(interface{ NetConn() net.Conn }); ok { // a secured connection (tls.Conn)
		raw = w.NetConn()
	}
	if sc, ok := raw.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			alive := false
			err = rc.Read(func(fd uintptr) bool {
				var b [1]byte
				_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
				alive = errors.Is(err, unix.EAGAIN)
				return true // never wait for readiness
			})
			return err == nil && alive
		}
	}
	// A deadline already past fails the read before it is tried, so the
	// fallback waits a little.
	if err := conn.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false
	}
	var b [1]byte
	_, err := conn.Read(b[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Close closes the kept connection, if any (KeepConnection).
func (c *Client) Close() error {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.kept == nil {
		return nil
	}
	err := c.kept.Close()
	c.kept = nil
	return err
}

// readAnswer reads, unpacks and checks one answer to req from r.
func (c *Client) readAnswer(r io.Reader, req *iso8583.Message, macer MACer, reqTime time.Time) (Response, *iso8583.Message, Header, error) {
	fr, err := ReadFrame(r)
	if err != nil {
		return Response{}, nil, Header{}, err
	}
	m, err := c.codec.Unpack(fr.Body)
	if err != nil {
		return Response{}, nil, Header{}, err
	}
	if macer != nil {
		if err := VerifyMAC(m, fr.Body, macer); err != nil {
			return Response{}, nil, Header{}, err
		}
	}
	resp, err := ParseResponse(m, req, reqTime)
	if err != nil {
		return Response{}, nil, Header{}, err
	}
	return resp, m, fr.Header, nil
}

// idempotent reports whether a kind may be sent again after no answer: the
// host recognises the repeat and nothing can be doubled.
func idempotent(k Kind) bool {
	return k == KindBalance || k == KindQRQuery || k == KindRefund || k == KindOfflineAdvice
}

// Do sends one financial request and returns the host's answer, approved
// or declined. Errors wrap ErrNotSent (money is not in doubt) or ErrNoAnswer
// (money is in doubt: the caller reverses, except for a balance inquiry or a
// query, which move none).
func (c *Client) Do(ctx context.Context, req Request) (Response, error) {
	if req.Time.IsZero() {
		req.Time = c.cfg.Now()
	}
	sec := SecurityControl3DES
	if c.sm4() {
		sec = SecurityControlSM4
	}
	m, err := BuildRequest(c.codec, req, c.identity(), sec)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, _, err := c.exchange(ctx, req.Kind.String(), m, true, req.Time)
	if err != nil && errors.Is(err, ErrNoAnswer) && idempotent(req.Kind) && ctx.Err() == nil {
		m, _ = BuildRequest(c.codec, req, c.identity(), sec)
		resp, _, err = c.exchange(ctx, req.Kind.String()+" (repeat)", m, true, req.Time)
	}
	return resp, err
}

// ReversalCause is why a transaction is reversed. It decides field 39 of
// the reversal (0400) as the dialect lists the reversal reasons
// (docs/acquirer.md): a cause, never words, so that a message cannot change
// the code. The zero value is a terminal failure.
type ReversalCause uint8

// The reversal causes.
const (
	// CauseTerminalFailure: the terminal failed before completing (power
	// cut, printer, card error, a cancelled order): 96.
	CauseTerminalFailure ReversalCause = iota
	// CauseNoAnswer: no answer came, or too late (timeout, dropped
	// connection, garbage, an answer to another request): 98.
	CauseNoAnswer
	// CauseBadMAC: an answer came whose MAC failed: A0.
	CauseBadMAC
	// CauseCardDeclined: the host approved but the card declined at the
	// second GENERATE AC: 06.
	CauseCardDeclined
)

// Code is field 39 of a reversal with this cause.
func (c ReversalCause) Code() string {
	switch c {
	case CauseNoAnswer:
		return "98"
	case CauseBadMAC:
		return "A0"
	case CauseCardDeclined:
		return "06"
	}
	return "96"
}

// String names the cause.
func (c ReversalCause) String() string {
	switch c {
	case CauseNoAnswer:
		return "no answer"
	case CauseBadMAC:
		return "answer failed its MAC"
	case CauseCardDeclined:
		return "card declined after approval"
	}
	return "terminal failure"
}

// CauseOf is the reversal cause of a failed exchange (an error of Do): an
// answer whose MAC failed (ErrMAC) is CauseBadMAC, any other ErrNoAnswer is
// CauseNoAnswer, anything else a terminal failure.
func CauseOf(err error) ReversalCause {
	switch {
	case errors.Is(err, ErrMAC):
		return CauseBadMAC
	case errors.Is(err, ErrNoAnswer):
		return CauseNoAnswer
	}
	return CauseTerminalFailure
}

// BuildReversal maps the original request to its reversal (0400,
// cupmsg.Reversal): the same trace, amount, card and entry mode (field 22,
// PIN digit included), without time, PIN or track data, with the cause's
// code in field 39.
func BuildReversal(c *Codec, orig Request, id Identity, cause ReversalCause) (*iso8583.Message, error) {
	o := orig
	o.PINEntered = orig.PIN != nil || orig.PINEntered
	o.PIN = nil
	o.Track2 = nil
	msg, err := requestMessage(o, id, "")
	if err != nil {
		return nil, err
	}
	rev := msg.Reversal(cause.Code())
	return c.Marshal(&rev)
}

// Reverse asks the host to undo orig for cause. The host applies a reversal at most once and answers a
// repeated one the same way, so Reverse may be called again after any
// failure; it also repeats once by itself after no answer.
func (c *Client) Reverse(ctx context.Context, orig Request, cause ReversalCause) (Response, error) {
	m, err := BuildReversal(c.codec, orig, c.identity(), cause)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, _, err := c.exchange(ctx, "reversal", m, true, orig.Time)
	if err != nil && errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
		m, _ = BuildReversal(c.codec, orig, c.identity(), cause)
		resp, _, err = c.exchange(ctx, "reversal (repeat)", m, true, orig.Time)
	}
	return resp, err
}

// managementMessage is an 0800-family message with fields 11, 41, 42 and
// 60; a blank terminal has no TID or MID yet, and sends none.
func (c *Client) managementMessage(mti string, trace, batch uint32, net string) (cupmsg.Management, error) {
	stan, err := stan(trace)
	if err != nil {
		return cupmsg.Management{}, err
	}
	return cupmsg.Management{MTI: mti, STAN: stan, TID: c.cfg.TID, MID: c.cfg.MID, Reserved: field60Net(batch, net)}, nil
}

// stan is field 11 of a trace number of the terminal, 1..999999.
func stan(trace uint32) (string, error) {
	if trace == 0 || trace > 999999 {
		return "", fmt.Errorf("acquirer: trace %d out of range 1..999999", trace)
	}
	return cupmsg.STAN(trace)
}

// field60Net is field 60 of a management message: message type 00, the
// batch and the network management code.
func field60Net(batch uint32, net string) string {
	return Field60{MsgType: "00", Batch: batch, NetCode: net}.String()
}

// SignOn signs the terminal on (0800): the host answers with new PIN, MAC
// and data keys under the TMK, whose check values are verified before they
// are installed in the key store. A refusal wraps ErrDeclined; keys that do
// not verify wrap ErrKeys (nothing is installed).
func (c *Client) SignOn(ctx context.Context, trace, batch uint32) error {
	net := cupmsg.NetSignOn3DES
	alg := keys.AlgTDES
	if c.sm4() {
		net, alg = cupmsg.NetSignOnSM4, keys.AlgSM4
	}
	msg, err := c.managementMessage(cupmsg.MTINetwork, trace, batch, net)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	msg.Operator = c.cfg.Operator
	ans, resp, err := c.exchangeOnce(ctx, "sign-on", &msg, false)
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "sign-on", Code: resp.Code}
	}
	wk, err := keys.ParseSignOnKeys(alg, cupmsg.Bytes(ans.Private))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeys, err)
	}
	if c.ks == nil {
		return fmt.Errorf("%w: no key store", ErrKeys)
	}
	if err := c.ks.InstallWorkingKeys(wk); err != nil {
		return fmt.Errorf("%w: %w", ErrKeys, err)
	}
	info := SignOnInfo{Batch: batch, HostTime: resp.HostTime, Requirement: resp.Requirement}
	if f60, err := ParseField60(ans.Reserved); err == nil {
		info.Batch = f60.Batch
	}
	c.mu.Lock()
	c.signOn = info
	c.mu.Unlock()
	return nil
}

// SignOff tells the host the terminal stops (0820).
func (c *Client) SignOff(ctx context.Context, trace, batch uint32) error {
	msg, err := c.managementMessage(cupmsg.MTIStatus, trace, batch, cupmsg.NetSignOff)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	_, resp, err := c.exchangeOnce(ctx, "sign-off", &msg, false)
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "sign-off", Code: resp.Code}
	}
	return nil
}
