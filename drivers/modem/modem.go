// Package modem drives a cellular modem on AT commands over a serial port and
// makes it a hal.Link: Dial opens TCP sockets inside the module (Quectel-style
// AT+QIOPEN/QISEND/QIRD/QICLOSE in buffer-access mode), Status reports SIM,
// signal, registration and the PDP context.
//
// The driver powers the module on with a GPIO power key it is given, watches
// unsolicited result codes (socket data and close, PDP loss, registration
// changes, RING), and recovers a lost link by re-attaching and, failing that,
// by a power cycle.
//
// It must not know what travels over its sockets (ISO 8583 or anything else),
// which board it sits on beyond its Config, or how the power key is wired.
package modem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"kpos/hal"
)

// Errors callers branch on.
var (
	ErrNoSIM         = errors.New("modem: no SIM card")
	ErrSIMLocked     = errors.New("modem: SIM locked (PIN or PUK required)")
	ErrSIMBusy       = errors.New("modem: SIM busy")
	ErrNotRegistered = errors.New("modem: not registered on a network")
	ErrNoPDP         = errors.New("modem: PDP context not active")
	ErrNoResponse    = errors.New("modem: module does not answer")
	ErrBusy          = errors.New("modem: module busy with an earlier command")
	ErrPortClosed    = errors.New("modem: serial port closed")
	ErrClosed        = errors.New("modem: driver closed")
	ErrDial          = errors.New("modem: socket open failed")
	ErrNoSocket      = errors.New("modem: all sockets in use")
	ErrSendFailed    = errors.New("modem: send failed")
)

// PowerKey presses the module's PWRKEY line for d (the GPIO driver provides it).
type PowerKey interface {
	Press(ctx context.Context, d time.Duration) error
}

// Config is the modem's part of a board file.
type Config struct {
	Device   string // serial device, e.g. /dev/ttyUSB2
	Baud     int    // 115200 when zero
	APN      string // e.g. "CMNET"
	User     string // APN user name, often empty
	Password string // APN password, often empty
	// PowerKeyPin names the GPIO line of PWRKEY; the board wires the key, the
	// driver only presses it.
	PowerKeyPin string
	ContextID   int // PDP context ID, 1 when zero

	PowerOnPress    time.Duration // PWRKEY press to switch on, 500 ms when zero
	PowerOffPress   time.Duration // PWRKEY press to switch off, 800 ms when zero
	BootTimeout     time.Duration // from power key to an answering module, 15 s when zero
	CommandTimeout  time.Duration // per ordinary command, 5 s when zero
	RegisterTimeout time.Duration // to wait for network registration, 60 s when zero
	ConnectTimeout  time.Duration // AT+QIOPEN answer, 30 s when zero
	PollInterval    time.Duration // between registration polls, 1 s when zero
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.ContextID == 0 {
		c.ContextID = 1
	}
	def(&c.PowerOnPress, 500*time.Millisecond)
	def(&c.PowerOffPress, 800*time.Millisecond)
	def(&c.BootTimeout, 15*time.Second)
	def(&c.CommandTimeout, 5*time.Second)
	def(&c.RegisterTimeout, 60*time.Second)
	def(&c.ConnectTimeout, 30*time.Second)
	def(&c.PollInterval, time.Second)
	return c
}

// maxSockets is the number of connect IDs (0..11) of the module family.
const maxSockets = 12

// Modem is the driver. It is safe for concurrent use.
type Modem struct {
	cfg    Config
	key    PowerKey
	log    *slog.Logger
	e      *engine
	closer io.Closer

	attachMu sync.Mutex // serialises Start, attach and recovery

	mu         sync.Mutex
	regStat    int
	pdpUp      bool
	ip         string
	socks      map[int]*conn
	changed    chan struct{} // closed and replaced when registration or PDP state changes
	ready      chan struct{} // closed and replaced on RDY
	rings      int
	recoveries int
	cycles     int
	lastErr    error
	closed     bool
	configured bool // Start got as far as configuring the module
	powerKnown bool // the module said RDY or POWERED DOWN since the driver began
	powered    bool // which of the two it said last
}

var _ hal.Link = (*Modem)(nil)

// New returns a driver speaking AT on rw. key may be nil when the module is
// always on (power cycles are then impossible). Call Start before Dial.
// If rw is also an io.Closer, Close closes it.
func New(rw io.ReadWriter, cfg Config, key PowerKey, log *slog.Logger) *Modem {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Modem{
		cfg:     cfg.withDefaults(),
		key:     key,
		log:     log,
		regStat: regNotSearching,
		socks:   make(map[int]*conn),
		changed: make(chan struct{}),
		ready:   make(chan struct{}),
	}
	if c, ok := rw.(io.Closer); ok {
		m.closer = c
	}
	m.e = newEngine(rw, log, m.handleURC)
	return m
}

// Close closes every socket and the serial port.
func (m *Modem) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	socks := make([]*conn, 0, len(m.socks))
	for _, c := range m.socks {
		socks = append(socks, c)
	}
	m.mu.Unlock()
	for _, c := range socks {
		c.markClosed(ErrClosed)
	}
	if m.closer != nil {
		if err := m.closer.Close(); err != nil {
			return fmt.Errorf("modem: closing port: %w", err)
		}
	}
	return nil
}

// cmd runs an AT command bounded by ctx and the command timeout.
func (m *Modem) cmd(ctx context.Context, c string) (response, error) {
	return m.e.command(ctx, m.cfg.CommandTimeout, c)
}

// handleURC runs on the reader goroutine: it records state and signals
// waiters, and never blocks.
func (m *Modem) handleURC(line string) {
	u, err := parseURC(line)
	if err != nil {
		m.log.Warn("modem: bad URC", "line", line, "err", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	switch u.kind {
	case urcRecv:
		if c := m.socks[u.id]; c != nil {
			c.signal()
		}
	case urcClosed:
		if c := m.socks[u.id]; c != nil {
			c.peerClose()
		}
	case urcOpen:
		if c := m.socks[u.id]; c != nil {
			c.opened(u.code)
		}
	case urcPDPDeact:
		m.log.Warn("modem: PDP context deactivated by the network", "ctx", u.id)
		m.pdpUp = false
		m.notifyLocked()
	case urcReg:
		if registered(u.id) != registered(m.regStat) {
			m.log.Info("modem: registration changed", "stat", u.id)
		}
		m.regStat = u.id
		if !registered(u.id) {
			m.pdpUp = false
		}
		m.notifyLocked()
	case urcRing:
		m.rings++
		m.log.Info("modem: RING")
	case urcReady, urcPoweredDown:
		// Booted or switched off, on our key press or on its own: the
		// set-up, registration, PDP context and sockets are gone.
		if u.kind == urcReady {
			close(m.ready)
			m.ready = make(chan struct{})
		} else {
			m.log.Warn("modem: module powered down")
		}
		m.regStat, m.pdpUp, m.configured = regNotSearching, false, false
		m.powered = u.kind == urcReady
		m.powerKnown = true
		for id, c := range m.socks {
			c.markClosed(fmt.Errorf("modem: socket %d: module restarted: %w", id, net.ErrClosed))
			delete(m.socks, id)
		}
		m.notifyLocked()
	case urcSIM:
		m.log.Info("modem: SIM state", "state", u.text)
	default:
		m.log.Debug("modem: URC", "line", line)
	}
}

func (m *Modem) notifyLocked() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Start brings the module up: power on when it does not answer, configure
// it, check the SIM, wait for registration and activate the PDP context.
func (m *Modem) Start(ctx context.Context) error {
	m.attachMu.Lock()
	defer m.attachMu.Unlock()
	return m.start(ctx)
}

func (m *Modem) start(ctx context.Context) error {
	if err := m.ensureOn(ctx); err != nil {
		return err
	}
	if err := m.configure(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	m.configured = true
	m.mu.Unlock()
	if err := m.checkSIM(ctx); err != nil {
		return err
	}
	return m.attach(ctx)
}

// probe reports whether the module answers "AT" within a short time.
func (m *Modem) probe(ctx context.Context) bool {
	_, err := m.e.command(ctx, min(m.cfg.CommandTimeout, 500*time.Millisecond), "AT")
	if err != nil {
		m.e.reset()
	}
	return err == nil
}

// ensureOn presses the power key when the module does not answer and waits
// until it does.
func (m *Modem) ensureOn(ctx context.Context) error {
	if m.probe(ctx) {
		return nil
	}
	// The power key toggles: never press it on a module that has just
	// said RDY and is still starting.
	m.mu.Lock()
	booting := m.powerKnown && m.powered
	m.mu.Unlock()
	if booting {
		return m.waitBoot(ctx)
	}
	if m.key == nil {
		return fmt.Errorf("%w (no power key to switch it on)", ErrNoResponse)
	}
	m.log.Info("modem: pressing the power key")
	if err := m.key.Press(ctx, m.cfg.PowerOnPress); err != nil {
		return fmt.Errorf("modem: power key: %w", err)
	}
	return m.waitBoot(ctx)
}

// waitBoot waits for RDY or for the module to answer AT, whichever first.
func (m *Modem) waitBoot(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.BootTimeout)
	defer cancel()
	for {
		m.mu.Lock()
		ready := m.ready
		m.mu.Unlock()
		t := time.NewTimer(m.cfg.PollInterval)
		select {
		case <-ready:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w after power-on: %w", ErrNoResponse, ctx.Err())
		}
		t.Stop()
		if m.probe(ctx) {
			return nil
		}
	}
}

func (m *Modem) configure(ctx context.Context) error {
	for _, c := range []string{"ATE0", "AT+CMEE=1", "AT+CREG=1"} {
		if _, err := m.cmd(ctx, c); err != nil {
			return err
		}
	}
	// LTE registration reports; 2G-only modules answer ERROR, which is fine.
	if _, err := m.cmd(ctx, "AT+CEREG=1"); err != nil {
		var ce *CommandError
		if !errors.As(err, &ce) {
			return err
		}
	}
	return nil
}

func (m *Modem) checkSIM(ctx context.Context) error {
	r, err := m.cmd(ctx, "AT+CPIN?")
	if err != nil {
		m.setErr(err)
		return err
	}
	for _, l := range r.lines {
		if state, ok := strings.CutPrefix(l, "+CPIN:"); ok {
			switch strings.TrimSpace(state) {
			case "READY":
				return nil
			case "SIM PIN", "SIM PUK", "SIM PIN2", "SIM PUK2":
				m.setErr(ErrSIMLocked)
				return ErrSIMLocked
			}
			err := fmt.Errorf("%w: state %s", ErrNoSIM, strings.TrimSpace(state))
			m.setErr(err)
			return err
		}
	}
	return fmt.Errorf("modem: AT+CPIN? gave no state")
}

func (m *Modem) setErr(err error) {
	m.mu.Lock()
	m.lastErr = err
	m.mu.Unlock()
}

// queryReg asks the module for its registration state (CEREG, then CREG).
func (m *Modem) queryReg(ctx context.Context) (int, error) {
	best := regNotSearching
	var firstErr error
	for _, c := range []string{"AT+CEREG?", "AT+CREG?"} {
		r, err := m.cmd(ctx, c)
		if err != nil {
			var ce *CommandError
			if errors.As(err, &ce) {
				continue // not supported by this module
			}
			return 0, err
		}
		for _, l := range r.lines {
			stat, err := parseReg(l, true)
			if err != nil {
				firstErr = err
				continue
			}
			if registered(stat) {
				return stat, nil
			}
			best = stat
		}
	}
	if firstErr != nil && best == regNotSearching {
		return 0, firstErr
	}
	return best, nil
}

// waitRegistered polls the registration state, woken early by +CREG URCs.
func (m *Modem) waitRegistered(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.RegisterTimeout)
	defer cancel()
	for {
		m.mu.Lock()
		changed := m.changed
		m.mu.Unlock()
		stat, err := m.queryReg(ctx)
		if err == nil {
			m.mu.Lock()
			m.regStat = stat
			m.mu.Unlock()
			if registered(stat) {
				return nil
			}
			if stat == regDenied {
				return fmt.Errorf("%w: registration denied", ErrNotRegistered)
			}
		} else if ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		t := time.NewTimer(m.cfg.PollInterval)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w", ErrNotRegistered, ctx.Err())
		}
		t.Stop()
	}
}

// attach waits for registration, then configures and activates the PDP context.
func (m *Modem) attach(ctx context.Context) error {
	if err := m.waitRegistered(ctx); err != nil {
		m.setErr(err)
		return err
	}
	id := m.cfg.ContextID
	if active, ip, err := m.pdpState(ctx); err == nil && active {
		m.setUp(ip)
		return nil
	}
	cmds := []string{
		fmt.Sprintf(`AT+CGDCONT=%d,"IP","%s"`, id, m.cfg.APN),
		fmt.Sprintf(`AT+QICSGP=%d,1,"%s","%s","%s",1`, id, m.cfg.APN, m.cfg.User, m.cfg.Password),
		fmt.Sprintf("AT+QIACT=%d", id),
	}
	for _, c := range cmds {
		if _, err := m.cmd(ctx, c); err != nil {
			err = fmt.Errorf("%w: %w", ErrNoPDP, err)
			m.setErr(err)
			return err
		}
	}
	active, ip, err := m.pdpState(ctx)
	if err != nil {
		return err
	}
	if !active {
		err := fmt.Errorf("%w: context %d inactive after AT+QIACT", ErrNoPDP, id)
		m.setErr(err)
		return err
	}
	m.setUp(ip)
	m.log.Info("modem: PDP context active", "ctx", id, "apn", m.cfg.APN)
	return nil
}

func (m *Modem) setUp(ip string) {
	m.mu.Lock()
	m.pdpUp, m.ip, m.lastErr = true, ip, nil
	m.mu.Unlock()
}

// pdpState asks AT+QIACT? whether our context is active.
func (m *Modem) pdpState(ctx context.Context) (bool, string, error) {
	r, err := m.cmd(ctx, "AT+QIACT?")
	if err != nil {
		return false, "", err
	}
	for _, l := range r.lines {
		id, active, ip, err := parseQIACT(l)
		if err != nil {
			return false, "", err
		}
		if id == m.cfg.ContextID {
			return active, ip, nil
		}
	}
	return false, "", nil
}

func (m *Modem) up() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return registered(m.regStat) && m.pdpUp
}

// EnsureUp returns at once when the link is up; otherwise it re-attaches and,
// when that fails and a power key is wired, power-cycles the module and
// starts it again.
func (m *Modem) EnsureUp(ctx context.Context) error {
	m.attachMu.Lock()
	defer m.attachMu.Unlock()
	if m.isClosed() {
		return ErrClosed
	}
	if m.up() {
		return nil
	}
	m.mu.Lock()
	configured := m.configured
	m.mu.Unlock()
	if !configured {
		return m.start(ctx) // never started: a first start, not a recovery
	}
	m.mu.Lock()
	m.recoveries++
	m.mu.Unlock()
	m.log.Warn("modem: link down, re-attaching")
	attachCtx, cancel := context.WithTimeout(ctx, m.cfg.RegisterTimeout)
	err := m.reattach(attachCtx)
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || m.key == nil || errors.Is(err, ErrNoSIM) || errors.Is(err, ErrSIMLocked) {
		return err
	}
	m.log.Warn("modem: re-attach failed, power cycling", "err", err)
	if err := m.powerCycle(ctx); err != nil {
		return err
	}
	return m.start(ctx)
}

func (m *Modem) reattach(ctx context.Context) error {
	if !m.probe(ctx) {
		return ErrNoResponse
	}
	if err := m.checkSIM(ctx); err != nil {
		return err
	}
	return m.attach(ctx)
}

// powerCycle switches the module off (AT+QPOWD, then the power key if it
// still answers) and lets start switch it on again.
func (m *Modem) powerCycle(ctx context.Context) error {
	m.mu.Lock()
	m.cycles++
	m.regStat, m.pdpUp = regNotSearching, false
	m.configured = false
	m.mu.Unlock()
	m.dropSockets(ErrNotRegistered)
	m.mu.Lock()
	hung := m.powerKnown && m.powered // on, by its last word, yet silent
	m.mu.Unlock()
	switch {
	case m.probe(ctx):
		if err := m.key.Press(ctx, m.cfg.PowerOffPress); err != nil {
			return fmt.Errorf("modem: power key: %w", err)
		}
		if err := m.waitSilent(ctx); err != nil {
			return err
		}
	case hung:
		if err := m.key.Press(ctx, m.cfg.PowerOffPress); err != nil {
			return fmt.Errorf("modem: power key: %w", err)
		}
	}
	m.mu.Lock()
	m.powerKnown, m.powered = true, false
	m.mu.Unlock()
	m.e.reset()
	return nil
}

// waitSilent waits until the module stops answering after a power-off.
func (m *Modem) waitSilent(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.BootTimeout)
	defer cancel()
	for m.probe(ctx) {
		t := time.NewTimer(m.cfg.PollInterval)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("modem: module still answers after power-off: %w", ctx.Err())
		}
	}
	return nil
}

func (m *Modem) dropSockets(cause error) {
	m.mu.Lock()
	socks := make([]*conn, 0, len(m.socks))
	for id, c := range m.socks {
		socks = append(socks, c)
		delete(m.socks, id)
	}
	m.mu.Unlock()
	for _, c := range socks {
		c.markClosed(cause)
	}
}

func (m *Modem) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

// Status asks the module for signal, registration, operator and PDP state.
// It does not try to recover; Supervise and Dial do.
func (m *Modem) Status(ctx context.Context) (hal.LinkStatus, error) {
	st := hal.LinkStatus{Signal: -1}
	r, err := m.cmd(ctx, "AT+CSQ")
	if err != nil {
		st.Detail = err.Error()
		return st, err
	}
	for _, l := range r.lines {
		if strings.HasPrefix(l, "+CSQ:") {
			if st.Signal, err = parseCSQ(l); err != nil {
				return st, err
			}
		}
	}
	stat, err := m.queryReg(ctx)
	if err != nil {
		return st, err
	}
	st.Registered = registered(stat)
	if st.Registered {
		if r, err := m.cmd(ctx, "AT+COPS?"); err == nil {
			for _, l := range r.lines {
				if op, err := parseCOPS(l); err == nil {
					st.Operator = op
				}
			}
		}
	}
	active, ip, err := m.pdpState(ctx)
	if err != nil {
		return st, err
	}
	m.mu.Lock()
	m.regStat = stat
	m.pdpUp = active
	if active {
		m.ip = ip
	}
	st.Up = st.Registered && active
	var parts []string
	if ip != "" && active {
		parts = append(parts, "ip "+ip)
	}
	if m.recoveries > 0 || m.cycles > 0 {
		parts = append(parts, fmt.Sprintf("recoveries %d, power cycles %d", m.recoveries, m.cycles))
	}
	if !st.Up && m.lastErr != nil {
		parts = append(parts, m.lastErr.Error())
	}
	m.mu.Unlock()
	st.Detail = strings.Join(parts, "; ")
	return st, nil
}

// Supervise keeps the link up until ctx is done: whenever a URC reports lost
// registration or a deactivated PDP context it runs EnsureUp, retrying at the
// poll interval while recovery fails.
func (m *Modem) Supervise(ctx context.Context) error {
	for {
		m.mu.Lock()
		changed := m.changed
		m.mu.Unlock()
		if !m.up() {
			if err := m.EnsureUp(ctx); err != nil {
				m.log.Warn("modem: recovery failed", "err", err)
				t := time.NewTimer(m.cfg.PollInterval)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				}
				continue
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Counters reports how often the driver recovered the link and power-cycled
// the module, and how many RINGs it saw.
func (m *Modem) Counters() (recoveries, powerCycles, rings int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.recoveries, m.cycles, m.rings
}
