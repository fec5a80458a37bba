package serialscan

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"kpos/drivers/serialport"
	"kpos/hal"
)

// Default trigger commands: the serial trigger of many scan engines (SYN T CR
// to start a read, SYN U CR to stop). Boards whose module wants other bytes
// set them in Config.
const (
	DefaultTriggerOn  = "\x16T\r"
	DefaultTriggerOff = "\x16U\r"
)

// Config is what a board file says about its scanner module.
type Config struct {
	Device     string        // serial device, e.g. "/dev/ttyS2"
	Baud       int           // 9600 when zero
	Trigger    bool          // trigger mode: send TriggerOn for each Scan; else continuous
	TriggerOn  string        // bytes that start a read; DefaultTriggerOn when empty
	TriggerOff string        // bytes that stop a read; DefaultTriggerOff when empty
	MaxLen     int           // longest accepted line in bytes; 1024 when zero
	NoRead     string        // the module's no-read message, e.g. "NR"; none when empty
	MaxAge     time.Duration // continuous mode: codes read longer ago than this are stale at Scan; 2 s when zero
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.TriggerOn == "" {
		c.TriggerOn = DefaultTriggerOn
	}
	if c.TriggerOff == "" {
		c.TriggerOff = DefaultTriggerOff
	}
	if c.MaxLen <= 0 {
		c.MaxLen = 1024
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 2 * time.Second
	}
	return c
}

// maxQueued is how many unread results are kept.
const maxQueued = 8

type timed struct {
	Result
	at time.Time
}

// Scanner is a scanner module on a serial line.
type Scanner struct {
	cfg    Config
	rw     io.ReadWriter
	closer io.Closer
	now    func() time.Time

	mu      sync.Mutex // one Scan at a time
	qmu     sync.Mutex // guards queue
	queue   []timed
	signal  chan struct{} // a result was queued
	done    chan struct{}
	readErr error // set before done closes
}

var _ hal.Scanner = (*Scanner)(nil)

// Open opens cfg.Device (8N1 at cfg.Baud) and returns a scanner that owns it.
func Open(cfg Config) (*Scanner, error) {
	cfg = cfg.withDefaults()
	port, err := serialport.Open(cfg.Device, cfg.Baud, 0)
	if err != nil {
		return nil, fmt.Errorf("serialscan: %w", err)
	}
	s := New(port, cfg)
	s.closer = port
	return s, nil
}

// New returns a scanner talking over rw, which the caller owns; the scanner
// reads rw until it fails.
func New(rw io.ReadWriter, cfg Config) *Scanner {
	return newScanner(rw, cfg, time.Now)
}

func newScanner(rw io.ReadWriter, cfg Config, now func() time.Time) *Scanner {
	s := &Scanner{
		cfg:    cfg.withDefaults(),
		rw:     rw,
		now:    now,
		signal: make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go s.readLoop()
	return s
}

// Close closes the serial port if Open opened it.
func (s *Scanner) Close() error {
	if s.closer == nil {
		return nil
	}
	if err := s.closer.Close(); err != nil {
		return fmt.Errorf("serialscan: close: %w", err)
	}
	return nil
}

func (s *Scanner) readLoop() {
	parser := NewLineParser(s.cfg.MaxLen, s.cfg.NoRead)
	buf := make([]byte, 256)
	for {
		n, err := s.rw.Read(buf)
		for _, r := range parser.Feed(buf[:n]) {
			s.push(timed{Result: r, at: s.now()})
		}
		if err != nil {
			s.readErr = err
			close(s.done)
			return
		}
	}
}

// push queues r, dropping the oldest result when nobody has read for a while.
func (s *Scanner) push(r timed) {
	s.qmu.Lock()
	s.queue = append(s.queue, r)
	if len(s.queue) > maxQueued {
		s.queue = s.queue[1:]
	}
	s.qmu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Scan returns the text of the next code. In trigger mode it discards
// earlier reads, sends the trigger command and waits; it sends the stop command
// when it returns. In continuous mode it waits for the module to read a code,
// taking one read at most MaxAge ago. Lines that are not a clean read fail with
// an error wrapping hal.ErrScanUnreadable; the caller prompts a rescan.
func (s *Scanner) Scan(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.Trigger {
		s.dropAll() // everything queued was read before this trigger
		if err := s.write(s.cfg.TriggerOn); err != nil {
			return "", err
		}
		text, err := s.wait(ctx)
		if werr := s.write(s.cfg.TriggerOff); werr != nil && err == nil {
			err = werr
		}
		return text, err
	}
	s.dropOlder(s.now().Add(-s.cfg.MaxAge))
	return s.wait(ctx)
}

func (s *Scanner) write(cmd string) error {
	if _, err := io.WriteString(s.rw, cmd); err != nil {
		return fmt.Errorf("serialscan: trigger: %w", err)
	}
	return nil
}

// dropAll discards every queued result.
func (s *Scanner) dropAll() {
	s.qmu.Lock()
	s.queue = nil
	s.qmu.Unlock()
}

// dropOlder discards queued results read before t.
func (s *Scanner) dropOlder(t time.Time) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	keep := s.queue[:0]
	for _, r := range s.queue {
		if !r.at.Before(t) {
			keep = append(keep, r)
		}
	}
	s.queue = keep
}

func (s *Scanner) pop() (timed, bool) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if len(s.queue) == 0 {
		return timed{}, false
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r, true
}

func (s *Scanner) wait(ctx context.Context) (string, error) {
	for {
		if r, ok := s.pop(); ok {
			return r.Text, r.Err
		}
		select {
		case <-s.signal:
		case <-s.done:
			if r, ok := s.pop(); ok {
				return r.Text, r.Err
			}
			return "", fmt.Errorf("serialscan: line closed: %w", s.readErr)
		case <-ctx.Done():
			return "", fmt.Errorf("serialscan: %w", ctx.Err())
		}
	}
}
