package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"kpos/drivers/serialport"
	"kpos/hal"
)

// Config is what a board file says about its receipt printer.
type Config struct {
	Device         string        // serial device, e.g. "/dev/ttyUSB0" or a pty path
	Baud           int           // line speed; 9600 when zero
	Width58or80    int           // paper width in mm: 58 or 80 (80 when zero)
	Columns        int           // characters per line; 32 for 58 mm, 48 for 80 mm when zero
	CodePage       int           // ESC t code page for single-byte text; 0 = PC437, -1 leaves the printer's own
	ChineseGB18030 bool          // the printer has the GB18030 font: print Chinese through FS &
	QRModule       int           // QR module size in dots, 1..16; 6 when zero
	QRLevel        int           // QR error correction QRLevelL..QRLevelH; QRLevelM when zero
	StatusTimeout  time.Duration // how long one DLE EOT reply may take; 1 s when zero
	PollInterval   time.Duration // status polling while waiting for paper or for printing to end; 500 ms when zero
	PrintTimeout   time.Duration // how long the paper may take to come out after the last byte; 30 s when zero
	MaxAttempts    int           // PrintWhole's attempts at one document; 3 when zero
}

func (c Config) withDefaults() Config {
	if c.Baud == 0 {
		c.Baud = 9600
	}
	if c.Width58or80 == 0 {
		c.Width58or80 = 80
	}
	if c.Columns == 0 {
		c.Columns = 48
		if c.Width58or80 == 58 {
			c.Columns = 32
		}
	}
	if c.QRModule < 1 || c.QRModule > 16 {
		c.QRModule = 6
	}
	if c.QRLevel < QRLevelL || c.QRLevel > QRLevelH {
		c.QRLevel = QRLevelM
	}
	if c.StatusTimeout <= 0 {
		c.StatusTimeout = time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.PrintTimeout <= 0 {
		c.PrintTimeout = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	return c
}

// ErrNoReply reports that the printer did not answer a status request in
// time: it is off, unplugged or on another baud rate. Errors wrapping it also
// wrap hal.ErrPrinter.
var ErrNoReply = errors.New("escpos: printer did not answer")

// Printer is a receipt printer on a serial line. It is safe for concurrent use;
// documents print one at a time.
type Printer struct {
	cfg    Config
	enc    *Encoder
	rw     io.ReadWriter
	closer io.Closer // set when the printer owns the port

	mu      sync.Mutex  // one conversation at a time
	replies chan byte   // real-time status bytes the printer sent, filled by readLoop
	blocks  chan []byte // header-block responses (37 …  00), filled by readLoop
	owed    int         // status replies requested but not yet read (after a cancel)
	jobID   int         // the last process ID asked for with GS ( H
	done    chan struct{}
	readErr error // set before done is closed
}

var _ hal.Printer = (*Printer)(nil)

// Open opens cfg.Device as a serial port (8N1 at cfg.Baud) and returns a
// printer that owns it; Close closes the port.
func Open(cfg Config) (*Printer, error) {
	cfg = cfg.withDefaults()
	port, err := serialport.Open(cfg.Device, cfg.Baud, 0)
	if err != nil {
		return nil, fmt.Errorf("escpos: %w", err)
	}
	p := New(port, cfg)
	p.closer = port
	return p, nil
}

// New returns a printer talking over rw, which the caller owns: the printer
// reads rw until it fails, so the caller ends that by closing rw.
func New(rw io.ReadWriter, cfg Config) *Printer {
	cfg = cfg.withDefaults()
	p := &Printer{
		cfg:     cfg,
		enc:     NewEncoder(cfg),
		rw:      rw,
		replies: make(chan byte, 64),
		blocks:  make(chan []byte, 8),
		done:    make(chan struct{}),
	}
	go p.readLoop()
	return p
}

// Close closes the serial port if Open opened it.
func (p *Printer) Close() error {
	if p.closer == nil {
		return nil
	}
	if err := p.closer.Close(); err != nil {
		return fmt.Errorf("escpos: close: %w", err)
	}
	return nil
}

// Config returns the printer's configuration with defaults filled in.
func (p *Printer) Config() Config { return p.cfg }

// readLoop hands what the printer sends to a Splitter and queues the status
// bytes and header blocks it sorts out. Bytes nobody waits for are dropped
// once a queue is full, since only answers to a pending request matter.
func (p *Printer) readLoop() {
	buf := make([]byte, 64)
	var sp Splitter
	for {
		n, err := p.rw.Read(buf)
		for _, b := range buf[:n] {
			status, block := sp.Feed(b)
			switch {
			case block != nil:
				select {
				case p.blocks <- block:
				default:
				}
			case status >= 0:
				p.reply(byte(status))
			}
		}
		if err != nil {
			p.readErr = err
			close(p.done)
			return
		}
	}
}

// Splitter sorts the bytes a printer sends into single status bytes and
// header-block responses (0x37, an identifier 0x20..0x2F, data, NUL), which
// never start with a valid status byte. Its zero value is ready; it is not
// safe for concurrent use.
type Splitter struct {
	block []byte
}

// Feed consumes one byte. It returns the byte as status (>= 0) when it stands
// alone, a whole block when b completes one, or -1 and nil while a block is
// being read. A block that grows past 32 bytes is dropped.
func (s *Splitter) Feed(b byte) (status int, block []byte) {
	switch {
	case len(s.block) == 1 && (b < 0x20 || b > 0x2F):
		// Not a block identifier: the 0x37 was noise.
		if b == blockHeader {
			return -1, nil // but this one may start a block
		}
		s.block = nil
		return int(b), nil
	case s.block != nil:
		s.block = append(s.block, b)
		if b == 0 {
			block, s.block = s.block, nil
			return -1, block
		}
		if len(s.block) > maxBlock {
			s.block = nil
		}
		return -1, nil
	case b == blockHeader:
		s.block = []byte{b}
		return -1, nil
	}
	return int(b), nil
}

// reply queues a byte for status requests, dropping it when nobody reads.
func (p *Printer) reply(b byte) {
	select {
	case p.replies <- b:
	default:
	}
}

// Status asks the printer for its real-time status (DLE EOT 1..4).
func (p *Printer) Status(ctx context.Context) (hal.PrinterStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status(ctx)
}

func (p *Printer) status(ctx context.Context) (hal.PrinterStatus, error) {
	if err := p.settle(ctx); err != nil {
		return hal.PrinterStatus{}, err
	}
	var replies [StatusReplies]byte
	for i := range replies {
		b, err := p.query(ctx, byte(i+1))
		if err != nil {
			return hal.PrinterStatus{}, err
		}
		replies[i] = b
	}
	st, err := ParseStatus(replies[:])
	if err != nil {
		return hal.PrinterStatus{}, fmt.Errorf("%w (%w)", err, hal.ErrPrinter)
	}
	return st, nil
}

// query sends DLE EOT n and waits for its one-byte reply, skipping bytes that
// cannot be a status reply.
func (p *Printer) query(ctx context.Context, n byte) (byte, error) {
	if _, err := p.rw.Write([]byte{dle, eot, n}); err != nil {
		return 0, fmt.Errorf("escpos: status request %d: %w: %w", n, hal.ErrPrinter, err)
	}
	p.owed++
	timer := time.NewTimer(p.cfg.StatusTimeout)
	defer timer.Stop()
	for {
		select {
		case b := <-p.replies:
			if ValidStatusByte(b) {
				p.owed--
				return b, nil
			}
		case <-p.done:
			return 0, fmt.Errorf("escpos: status %d: %w: %w", n, hal.ErrPrinter, p.readErr)
		case <-timer.C:
			return 0, fmt.Errorf("escpos: status %d after %v: %w (%w)", n, p.cfg.StatusTimeout, ErrNoReply, hal.ErrPrinter)
		case <-ctx.Done():
			return 0, fmt.Errorf("escpos: status %d: %w", n, ctx.Err())
		}
	}
}

// settle reads the replies still owed to requests abandoned by a cancelled
// context, so they are not taken for answers to new requests (DLE EOT replies
// do not say which request they answer), then drops any other bytes.
func (p *Printer) settle(ctx context.Context) error {
	if p.owed > 0 {
		timer := time.NewTimer(p.cfg.StatusTimeout)
		defer timer.Stop()
		for p.owed > 0 {
			select {
			case b := <-p.replies:
				if ValidStatusByte(b) {
					p.owed--
				}
			case <-timer.C:
				p.owed = 0 // lost on the line
			case <-p.done:
				p.owed = 0
			case <-ctx.Done():
				return fmt.Errorf("escpos: status: %w", ctx.Err())
			}
		}
	}
	p.drain()
	return nil
}

// drain drops bytes received before a request.
func (p *Printer) drain() {
	for {
		select {
		case <-p.replies:
		default:
			return
		}
	}
}

// Print prints doc. It checks the status first and fails with an error
// wrapping hal.ErrPaperOut, hal.ErrCoverOpen or hal.ErrPrinter when the printer
// is not ready; it checks again after every line, and when paper runs out or
// the cover opens part-way it stops sending, clears the printer's buffers and
// fails the same way. It returns once the printer reports (GS ( H) that the
// last line is on paper, within PrintTimeout. A document
// that failed part-way must be printed again whole: see PrintWhole.
func (p *Printer) Print(ctx context.Context, doc hal.Document) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.ready(ctx, doc.Name, "before printing"); err != nil {
		return err
	}
	if err := p.write(p.enc.Init()); err != nil {
		return err
	}
	for i, l := range doc.Lines {
		b, err := p.enc.Line(l)
		if err != nil {
			return fmt.Errorf("escpos: %q line %d: %w", doc.Name, i, err)
		}
		if err := p.write(b); err != nil {
			return err
		}
		if err := p.ready(ctx, doc.Name, fmt.Sprintf("after line %d of %d", i+1, len(doc.Lines))); err != nil {
			// Whatever the printer still holds of this document must not come
			// out when paper is back: the whole document will be printed again.
			if werr := p.write([]byte(clearBuffers)); werr != nil {
				return fmt.Errorf("%w (clearing the buffer: %w)", err, werr)
			}
			return err
		}
	}
	if err := p.waitPrinted(ctx, doc.Name); err != nil {
		if Recoverable(err) {
			if werr := p.write([]byte(clearBuffers)); werr != nil {
				return fmt.Errorf("%w (clearing the buffer: %w)", err, werr)
			}
		}
		return err
	}
	return nil
}

// waitPrinted asks the printer for a process ID response (GS ( H), which it
// sends only when everything before it has been printed, and polls the
// real-time status meanwhile, so that paper running out on the last lines is
// still seen. Then it checks the status once more.
func (p *Printer) waitPrinted(ctx context.Context, name string) error {
	p.jobID = (p.jobID + 1) % 10000
	id := fmt.Sprintf("%04d", p.jobID)
	for {
		select { // answers to earlier, abandoned jobs
		case <-p.blocks:
			continue
		default:
		}
		break
	}
	if err := p.write(processID(id)); err != nil {
		return err
	}
	want := string([]byte{blockHeader, blockProcessID}) + id + "\x00"
	deadline := time.NewTimer(p.cfg.PrintTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(p.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case b := <-p.blocks:
			if string(b) == want {
				return p.ready(ctx, name, "after printing")
			}
		case <-poll.C:
			if err := p.ready(ctx, name, "while printing"); err != nil {
				return err
			}
		case <-deadline.C:
			return fmt.Errorf("escpos: %q not printed within %v: %w (%w)", name, p.cfg.PrintTimeout, ErrNoReply, hal.ErrPrinter)
		case <-p.done:
			return fmt.Errorf("escpos: %q: %w: %w", name, hal.ErrPrinter, p.readErr)
		case <-ctx.Done():
			return fmt.Errorf("escpos: %q: waiting for the paper: %w", name, ctx.Err())
		}
	}
}

func (p *Printer) ready(ctx context.Context, name, when string) error {
	st, err := p.status(ctx)
	if err != nil {
		return err
	}
	if err := statusError(st); err != nil {
		return fmt.Errorf("escpos: %q %s: %w", name, when, err)
	}
	return nil
}

func (p *Printer) write(b []byte) error {
	if _, err := p.rw.Write(b); err != nil {
		return fmt.Errorf("escpos: write: %w: %w", hal.ErrPrinter, err)
	}
	return nil
}

// WaitReady polls the status every PollInterval until the printer is ready
// or ctx is done.
func (p *Printer) WaitReady(ctx context.Context) error {
	tick := time.NewTicker(p.cfg.PollInterval)
	defer tick.Stop()
	for {
		st, err := p.Status(ctx)
		if err != nil {
			return err
		}
		if st.Ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("escpos: waiting for the printer: %w (last: %w)", ctx.Err(), statusError(st))
		case <-tick.C:
		}
	}
}

// PrintWhole prints doc, and when it fails for paper out or cover open (also
// part-way) calls notify with the status (the terminal shows "load paper"),
// waits for the printer to be ready and prints the whole document again, up to
// MaxAttempts times. notify may be nil; an error from it ends the attempt.
// Other errors end at once.
func (p *Printer) PrintWhole(ctx context.Context, doc hal.Document, notify func(context.Context, hal.PrinterStatus) error) error {
	var err error
	for attempt := 1; attempt <= p.cfg.MaxAttempts; attempt++ {
		err = p.Print(ctx, doc)
		if err == nil || !Recoverable(err) {
			return err
		}
		if attempt == p.cfg.MaxAttempts {
			break
		}
		if notify != nil {
			st, serr := p.Status(ctx)
			if serr != nil {
				return serr
			}
			if nerr := notify(ctx, st); nerr != nil {
				return fmt.Errorf("escpos: %q: %w", doc.Name, nerr)
			}
		}
		if werr := p.WaitReady(ctx); werr != nil {
			return werr
		}
	}
	return fmt.Errorf("escpos: %q not printed after %d attempts: %w", doc.Name, p.cfg.MaxAttempts, err)
}

// Recoverable reports whether err is one a person fixes at the printer (paper
// out, cover open), after which the document is printed again.
func Recoverable(err error) bool {
	return errors.Is(err, hal.ErrPaperOut) || errors.Is(err, hal.ErrCoverOpen)
}
