package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"kpos/firmware/console/service"
	"kpos/hal"
)

// logRing is a slog handler that keeps the last lines for the console's
// `log tail` and the status's last errors, and holds the level the console
// can change. Logs never carry card data (hal.PAN masks itself), so neither
// does the ring.
type logRing struct {
	inner slog.Handler
	level *slog.LevelVar

	mu    sync.Mutex
	lines []service.LogLine
}

func newLogRing(inner slog.Handler, level *slog.LevelVar) *logRing {
	return &logRing{inner: inner, level: level}
}

type ringHandler struct {
	ring  *logRing
	inner slog.Handler
	attrs string
}

func (r *logRing) handler() slog.Handler { return &ringHandler{ring: r, inner: r.inner} }

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.ring.level.Level()
}

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Message)
	b.WriteString(h.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.ring.mu.Lock()
	h.ring.lines = append(h.ring.lines, service.LogLine{Time: rec.Time, Level: rec.Level.String(), Message: b.String()})
	if len(h.ring.lines) > 2000 {
		h.ring.lines = h.ring.lines[len(h.ring.lines)-1000:]
	}
	h.ring.mu.Unlock()
	return h.inner.Handle(ctx, rec)
}

func (h *ringHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	return &ringHandler{ring: h.ring, inner: h.inner.WithAttrs(as), attrs: b.String()}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	return &ringHandler{ring: h.ring, inner: h.inner.WithGroup(name), attrs: h.attrs}
}

// Tail returns the last n lines.
func (r *logRing) Tail(ctx context.Context, n int) ([]service.LogLine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 || n > len(r.lines) {
		n = len(r.lines)
	}
	return append([]service.LogLine(nil), r.lines[len(r.lines)-n:]...), nil
}

// errors returns the last n lines at error level.
func (r *logRing) errors(n int) []service.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []service.LogLine
	for i := len(r.lines) - 1; i >= 0 && len(out) < n; i-- {
		if r.lines[i].Level == slog.LevelError.String() {
			out = append(out, r.lines[i])
		}
	}
	return out
}

// SetLevel changes the log level.
func (r *logRing) SetLevel(ctx context.Context, level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("%w: level %q (debug, info, warn, error)", service.ErrInvalid, level)
	}
	r.level.Set(l)
	return nil
}

// Level returns the current level.
func (r *logRing) Level(ctx context.Context) (string, error) {
	return strings.ToLower(r.level.Level().String()), nil
}

// timedLink records each host exchange's duration, from dial to close.
type timedLink struct {
	hal.Link
	perf *perfBook
}

func (l *timedLink) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	start := time.Now()
	c, err := l.Link.Dial(ctx, network, addr)
	if err != nil {
		l.perf.add("host:acquirer", time.Since(start), err)
		return nil, err
	}
	return &timedConn{Conn: c, start: start, perf: l.perf}, nil
}

type timedConn struct {
	net.Conn
	start time.Time
	perf  *perfBook
	once  sync.Once
}

func (c *timedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.perf.add("host:acquirer", time.Since(c.start), nil) })
	return err
}

// timedPrinter records each document's print time.
type timedPrinter struct {
	hal.Printer
	perf *perfBook
}

func (p *timedPrinter) Print(ctx context.Context, doc hal.Document) error {
	start := time.Now()
	err := p.Printer.Print(ctx, doc)
	p.perf.add("device:printer", time.Since(start), err)
	return err
}

// timedScanner records each scan's time.
type timedScanner struct {
	hal.Scanner
	perf *perfBook
}

func (s *timedScanner) Scan(ctx context.Context) (string, error) {
	start := time.Now()
	text, err := s.Scanner.Scan(ctx)
	s.perf.add("device:scanner", time.Since(start), err)
	return text, err
}
