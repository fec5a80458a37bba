package acquirer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/moov-io/iso8583"

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
	// TLS, when set, wraps each connection (the handshake counts as dialling).
	TLS *tls.Config
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
		if err == nil && c.cfg.TLS != nil {
			tcfg := c.cfg.TLS
			if tcfg.ServerName == "" {
				tcfg = tcfg.Clone()
				if host, _, herr := net.SplitHostPort(c.cfg.Addr); herr == nil {
					tcfg.ServerName = host
				}
			}
			tc := tls.Client(conn, tcfg)
			if err = tc.HandshakeContext(dctx); err != nil {
				conn.Close()
			} else {
				conn = tc
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
	conn, err := c.dial(ctx)
	if err != nil {
		c.log.Info("acquirer exchange", "op", op, "result", "not sent", "err", err)
		return Response{}, nil, fmt.Errorf("acquirer: %s: %w", op, err)
	}
	defer conn.Close()
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
	c.log.Info("acquirer exchange", "op", op, "code", resp.Code, "ms", time.Since(start).Milliseconds())
	return resp, m, nil
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

// Reversal reasons (field 39 of a 0400).
const (
	ReasonNoAnswer     = "98" // the answer never came (timeout, bad MAC, garbage)
	ReasonCardDeclined = "06" // the host approved but the card declined (second GENERATE AC)
	ReasonMalfunction  = "96" // the terminal failed before completing (power cut, printer)
)

// reasonCode maps a reason to field 39: a two-character code is used as is,
// known words are mapped, anything else is a malfunction.
func reasonCode(reason string) string {
	switch reason {
	case "timeout", "no-answer", "no answer", "mac", "garbage":
		return ReasonNoAnswer
	case "card-declined", "card declined", "declined-by-card":
		return ReasonCardDeclined
	}
	if len(reason) == 2 {
		return reason
	}
	return ReasonMalfunction
}

// BuildReversal maps the original request to its reversal (0400): the same
// trace, amount and card, without PIN or track data, with the reason in
// field 39.
func BuildReversal(c *Codec, orig Request, id Identity, reason string) (*iso8583.Message, error) {
	o := orig
	o.PIN = nil
	o.Track2 = nil
	m, err := BuildRequest(c, o, id, "")
	if err != nil {
		return nil, err
	}
	m.MTI("0400")
	m.UnsetField(12)
	m.UnsetField(13)
	if err := f(m, 39, reasonCode(reason)); err != nil {
		return nil, err
	}
	return m, nil
}

// Reverse asks the host to undo orig (reason: a ReasonXxx code or "timeout",
// "card-declined"). The host applies a reversal at most once and answers a
// repeated one the same way, so Reverse may be called again after any
// failure; it also repeats once by itself after no answer.
func (c *Client) Reverse(ctx context.Context, orig Request, reason string) (Response, error) {
	m, err := BuildReversal(c.codec, orig, c.identity(), reason)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, _, err := c.exchange(ctx, "reversal", m, true, orig.Time)
	if err != nil && errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
		m, _ = BuildReversal(c.codec, orig, c.identity(), reason)
		resp, _, err = c.exchange(ctx, "reversal (repeat)", m, true, orig.Time)
	}
	return resp, err
}

// managementMessage builds an 0800-family message with fields 11, 41, 42, 60.
func (c *Client) managementMessage(mti string, trace, batch uint32, msgType, net string) (*iso8583.Message, error) {
	if trace == 0 || trace > 999999 {
		return nil, fmt.Errorf("acquirer: trace %d out of range 1..999999", trace)
	}
	m := c.codec.NewMessage()
	m.MTI(mti)
	for _, fv := range []struct {
		id int
		v  string
	}{
		{11, fmt.Sprintf("%06d", trace)},
		{41, c.cfg.TID},
		{42, c.cfg.MID},
		{60, Field60{MsgType: msgType, Batch: batch, NetCode: net}.String()},
	} {
		if fv.v == "" {
			continue // a blank terminal has no TID or MID yet
		}
		if err := f(m, fv.id, fv.v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// SignOn signs the terminal on (0800): the host answers with new PIN, MAC
// and data keys under the TMK, whose check values are verified before they
// are installed in the key store. A refusal wraps ErrDeclined; keys that do
// not verify wrap ErrKeys (nothing is installed).
func (c *Client) SignOn(ctx context.Context, trace, batch uint32) error {
	net := NetSignOn3DES
	alg := keys.AlgTDES
	if c.sm4() {
		net, alg = NetSignOnSM4, keys.AlgSM4
	}
	m, err := c.managementMessage("0800", trace, batch, "00", net)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	if err := f(m, 63, c.cfg.Operator); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, ans, err := c.exchange(ctx, "sign-on", m, false, c.cfg.Now())
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "sign-on", Code: resp.Code}
	}
	f62 := FieldBytes(ans, 62)
	wk, err := keys.ParseSignOnKeys(alg, f62)
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
	if f60, err := ParseField60(FieldString(ans, 60)); err == nil {
		info.Batch = f60.Batch
	}
	c.mu.Lock()
	c.signOn = info
	c.mu.Unlock()
	return nil
}

// SignOff tells the host the terminal stops (0820).
func (c *Client) SignOff(ctx context.Context, trace, batch uint32) error {
	m, err := c.managementMessage("0820", trace, batch, "00", NetSignOff)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	resp, _, err := c.exchange(ctx, "sign-off", m, false, c.cfg.Now())
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "sign-off", Code: resp.Code}
	}
	return nil
}
