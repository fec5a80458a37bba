// Package modememu emulates a Quectel-style cellular modem on a
// pseudo-terminal: it answers the AT dialogue the modem driver speaks (SIM,
// signal, registration, PDP context, AT+QIOPEN/QISEND/QIRD/QICLOSE sockets),
// bridges those sockets to real TCP on the loopback interface only, and
// injects faults on command (no SIM, no network, a network that stays lost
// until a power cycle, dropped sockets, slow answers).
//
// It must not know the driver's internals; it only speaks the bytes a module
// would. It never connects anywhere but 127.0.0.0/8 and ::1.
package modememu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// Config sets the emulated module's behaviour.
type Config struct {
	Operator  string        // network name, "CHINA MOBILE" when empty
	Signal    int           // AT+CSQ rssi 0..31, 24 when zero
	BootDelay time.Duration // power key to RDY, 20 ms when zero
	StartOff  bool          // start powered off, waiting for the power key
	// The module's and the SIM's identities (AT+CGSN, AT+CIMI, AT+QCCID);
	// test values when empty.
	IMEI, IMSI, ICCID string
	Log               *slog.Logger
}

// Stats counts what happened, for tests.
type Stats struct {
	PowerOns    int
	PowerOffs   int
	Commands    int
	SocketsOpen int // sockets opened over the emulator's life
	Activations int // successful AT+QIACT
}

// Emulator is a modem on the master side of a pty.
type Emulator struct {
	cfg   Config
	log   *slog.Logger
	ptm   *os.File
	pts   *os.File
	path  string
	ctx   context.Context
	stop  context.CancelFunc
	wg    sync.WaitGroup
	outMu sync.Mutex // serialises writes to the pty

	mu         sync.Mutex
	on         bool
	echo       bool
	booting    bool
	sim        bool
	network    bool // the cell is there
	stuck      bool // registration lost until the next power cycle
	cregMode   int
	ceregMode  int
	pdpActive  bool
	apn        string
	delay      time.Duration
	socks      map[int]*socket
	stats      Stats
	dataWanted int // bytes of AT+QISEND payload still expected
	dataSock   int
	dataBuf    []byte
	after      []func() // run once the current answer has been written
}

type socket struct {
	id     int
	c      net.Conn
	buf    []byte
	closed bool // the peer closed
}

// New opens a pty pair and starts the emulator on its master side. The
// driver opens Path().
func New(cfg Config) (*Emulator, error) {
	if cfg.Operator == "" {
		cfg.Operator = "CHINA MOBILE"
	}
	if cfg.Signal == 0 {
		cfg.Signal = 24
	}
	if cfg.BootDelay == 0 {
		cfg.BootDelay = 20 * time.Millisecond
	}
	if cfg.IMEI == "" {
		cfg.IMEI = "860000000000009" // TEST ONLY
	}
	if cfg.IMSI == "" {
		cfg.IMSI = "460000000000001" // TEST ONLY: MCC 460, MNC 00
	}
	if cfg.ICCID == "" {
		cfg.ICCID = "89860000000000000001" // TEST ONLY: 89 telecom, 86 China
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	ptm, pts, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("modememu: open pty: %w", err)
	}
	if _, err := term.MakeRaw(int(pts.Fd())); err != nil {
		ptm.Close()
		pts.Close()
		return nil, fmt.Errorf("modememu: raw mode: %w", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	e := &Emulator{
		cfg: cfg, log: cfg.Log, ptm: ptm, pts: pts, path: pts.Name(),
		ctx: ctx, stop: stop,
		on: !cfg.StartOff, echo: true, sim: true, network: true,
		socks: make(map[int]*socket),
	}
	if e.on {
		e.stats.PowerOns++
	}
	e.wg.Add(1)
	go e.readLoop()
	return e, nil
}

// Path is the slave side of the pty, the modem's "serial port".
func (e *Emulator) Path() string { return e.path }

// Close stops the emulator and closes its sockets and the pty.
func (e *Emulator) Close() error {
	e.stop()
	e.mu.Lock()
	for id, s := range e.socks {
		s.c.Close()
		delete(e.socks, id)
	}
	e.mu.Unlock()
	err := e.ptm.Close()
	e.pts.Close()
	e.wg.Wait()
	return err
}

// Stats returns the counters.
func (e *Emulator) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// On reports whether the module is powered.
func (e *Emulator) On() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.on
}

// Press is the power key: it toggles the power (the press length is not
// checked). Switching on, the module prints RDY after the boot delay.
func (e *Emulator) Press(ctx context.Context, d time.Duration) error {
	e.mu.Lock()
	if e.booting {
		e.mu.Unlock()
		return nil
	}
	if e.on {
		e.powerOffLocked()
		e.mu.Unlock()
		e.emit("POWERED DOWN")
		return nil
	}
	e.booting = true
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		t := time.NewTimer(e.cfg.BootDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-e.ctx.Done():
			return
		}
		e.mu.Lock()
		e.booting, e.on, e.echo = false, true, true
		e.stuck = false
		e.cregMode, e.ceregMode = 0, 0
		e.stats.PowerOns++
		sim := e.sim
		e.mu.Unlock()
		e.emit("RDY")
		if sim {
			e.emit("+CPIN: READY")
		}
	}()
	return nil
}

func (e *Emulator) powerOffLocked() {
	e.on = false
	e.pdpActive = false
	e.dataWanted = 0
	e.stats.PowerOffs++
	for id, s := range e.socks {
		s.c.Close()
		delete(e.socks, id)
	}
}

// SetSIM inserts or removes the SIM card.
func (e *Emulator) SetSIM(present bool) {
	e.mu.Lock()
	e.sim = present
	if !present {
		e.pdpActive = false
	}
	e.mu.Unlock()
	e.regChanged()
}

// SetNetwork brings the cell up or down. Down, the module reports
// "searching" and the network deactivates the PDP context.
func (e *Emulator) SetNetwork(up bool) {
	e.mu.Lock()
	e.network = up
	e.mu.Unlock()
	e.regChanged()
}

// SetStuck loses the registration until the next power cycle, the way a
// wedged radio does.
func (e *Emulator) SetStuck(stuck bool) {
	e.mu.Lock()
	e.stuck = stuck
	e.mu.Unlock()
	e.regChanged()
}

// SetDelay delays every answer by d (slow network, busy module).
func (e *Emulator) SetDelay(d time.Duration) {
	e.mu.Lock()
	e.delay = d
	e.mu.Unlock()
}

// DropSockets closes every open socket's TCP side as a network drop would,
// reporting +QIURC: "closed" for each. It returns how many it dropped.
func (e *Emulator) DropSockets() int {
	e.mu.Lock()
	var ids []int
	for id, s := range e.socks {
		s.c.Close()
		s.closed = true
		s.buf = nil
		ids = append(ids, id)
	}
	e.mu.Unlock()
	for _, id := range ids {
		e.emit(fmt.Sprintf(`+QIURC: "closed",%d`, id))
	}
	return len(ids)
}

// regStatLocked is the 3GPP registration state now.
func (e *Emulator) regStatLocked() int {
	switch {
	case !e.on || !e.sim:
		return 0
	case !e.network || e.stuck:
		return 2
	}
	return 1
}

// regChanged reports a registration change as URCs, and the PDP loss that
// follows a lost registration.
func (e *Emulator) regChanged() {
	e.mu.Lock()
	if !e.on {
		e.mu.Unlock()
		return
	}
	stat := e.regStatLocked()
	var lines []string
	if e.cregMode > 0 {
		lines = append(lines, fmt.Sprintf("+CREG: %d", stat))
	}
	if e.ceregMode > 0 {
		lines = append(lines, fmt.Sprintf("+CEREG: %d", stat))
	}
	if stat != 1 && e.pdpActive {
		e.pdpActive = false
		lines = append(lines, `+QIURC: "pdpdeact",1`)
		for id, s := range e.socks {
			s.c.Close()
			delete(e.socks, id)
			if !s.closed {
				lines = append(lines, fmt.Sprintf(`+QIURC: "closed",%d`, id))
			}
		}
	}
	e.mu.Unlock()
	for _, l := range lines {
		e.emit(l)
	}
}

// emit writes one URC or response line framed by CR LF.
func (e *Emulator) emit(line string) {
	e.write([]byte("\r\n" + line + "\r\n"))
}

func (e *Emulator) write(b []byte) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	if _, err := e.ptm.Write(b); err != nil && e.ctx.Err() == nil {
		e.log.Warn("modememu: write", "err", err)
	}
}

func (e *Emulator) readLoop() {
	defer e.wg.Done()
	buf := make([]byte, 4096)
	var line []byte
	for {
		n, err := e.ptm.Read(buf)
		b := buf[:n]
		for len(b) > 0 {
			e.mu.Lock()
			on, want := e.on, e.dataWanted
			e.mu.Unlock()
			if !on {
				b = nil // a powered-off module hears nothing
				break
			}
			if want > 0 {
				k := min(want, len(b))
				e.payload(b[:k])
				b = b[k:]
				continue
			}
			c := b[0]
			b = b[1:]
			if c == '\n' {
				continue
			}
			if e.echoOn() {
				e.write([]byte{c})
			}
			if c != '\r' {
				if len(line) < 2048 {
					line = append(line, c)
				}
				continue
			}
			cmd := string(line)
			line = line[:0]
			if strings.TrimSpace(cmd) == "" {
				continue
			}
			e.answer(cmd)
		}
		if err != nil {
			if e.ctx.Err() == nil && !errors.Is(err, io.EOF) {
				e.log.Warn("modememu: read", "err", err)
			}
			return
		}
	}
}

func (e *Emulator) echoOn() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.echo
}

// payload takes AT+QISEND bytes and forwards them when complete.
func (e *Emulator) payload(b []byte) {
	e.mu.Lock()
	e.dataBuf = append(e.dataBuf, b...)
	e.dataWanted -= len(b)
	if e.dataWanted > 0 {
		e.mu.Unlock()
		return
	}
	data := e.dataBuf
	e.dataBuf = nil
	s := e.socks[e.dataSock]
	e.mu.Unlock()
	if s == nil || s.closed {
		e.emit("SEND FAIL")
		return
	}
	if _, err := s.c.Write(data); err != nil {
		e.emit("SEND FAIL")
		return
	}
	e.emit("SEND OK")
}

// answer handles one command line.
func (e *Emulator) answer(cmd string) {
	e.mu.Lock()
	d := e.delay
	e.stats.Commands++
	e.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-e.ctx.Done():
			t.Stop()
			return
		}
	}
	out, prompt := e.respond(cmd)
	if prompt {
		out = []byte("\r\n> ")
	}
	e.write(out)
	e.mu.Lock()
	after := e.after
	e.after = nil
	e.mu.Unlock()
	for _, f := range after {
		f()
	}
}

// respond computes the answer to cmd: the bytes to write, or a data prompt.
func (e *Emulator) respond(cmd string) (out []byte, prompt bool) {
	var b bytes.Buffer
	info := func(format string, a ...any) { fmt.Fprintf(&b, "\r\n"+format+"\r\n", a...) }
	ok := func() []byte { b.WriteString("\r\nOK\r\n"); return b.Bytes() }
	fail := func() []byte { return []byte("\r\nERROR\r\n") }
	cme := func(n int) []byte { return []byte(fmt.Sprintf("\r\n+CME ERROR: %d\r\n", n)) }

	name, arg := splitCommand(cmd)
	e.mu.Lock()
	defer e.mu.Unlock()
	if out, done := e.identity(name, arg, info); done {
		return append(out, ok()...), false
	}
	switch name {
	case "AT", "AT+CFUN":
		if name == "AT+CFUN" && arg == "?" {
			info("+CFUN: 1")
		}
		return ok(), false
	case "ATE0":
		e.echo = false
		return ok(), false
	case "ATE1":
		e.echo = true
		return ok(), false
	case "AT+CMEE":
		return ok(), false
	case "AT+CPIN":
		if !e.sim {
			return cme(10), false
		}
		info("+CPIN: READY")
		return ok(), false
	case "AT+CSQ":
		if e.regStatLocked() != 1 {
			info("+CSQ: 99,99")
		} else {
			info("+CSQ: %d,99", e.cfg.Signal)
		}
		return ok(), false
	case "AT+CREG", "AT+CEREG":
		mode := &e.cregMode
		if name == "AT+CEREG" {
			mode = &e.ceregMode
		}
		if arg == "?" {
			info("%s: %d,%d", name[2:], *mode, e.regStatLocked())
			return ok(), false
		}
		n, err := strconv.Atoi(strings.TrimPrefix(arg, "="))
		if err != nil || n < 0 || n > 2 {
			return fail(), false
		}
		*mode = n
		return ok(), false
	case "AT+COPS":
		if e.regStatLocked() == 1 {
			info(`+COPS: 0,0,"%s",7`, e.cfg.Operator)
		} else {
			info("+COPS: 0")
		}
		return ok(), false
	case "AT+CGDCONT", "AT+QICSGP":
		if arg == "?" {
			return ok(), false
		}
		f := strings.Split(strings.TrimPrefix(arg, "="), ",")
		if name == "AT+QICSGP" && len(f) >= 3 {
			e.apn = strings.Trim(f[2], `"`)
		}
		return ok(), false
	case "AT+QIACT":
		if arg == "?" {
			if e.pdpActive {
				info(`+QIACT: 1,1,1,"10.64.%d.7"`, e.stats.Activations%250)
			}
			return ok(), false
		}
		if e.regStatLocked() != 1 {
			return fail(), false
		}
		if !e.pdpActive {
			e.stats.Activations++
		}
		e.pdpActive = true
		return ok(), false
	case "AT+QIDEACT":
		e.pdpActive = false
		return ok(), false
	case "AT+QIOPEN", "AT+QISEND", "AT+QIRD", "AT+QICLOSE":
		return e.socketCommand(name, arg, &b)
	case "AT+QPOWD":
		e.powerOffLocked()
		b.WriteString("\r\nOK\r\n\r\nPOWERED DOWN\r\n")
		return b.Bytes(), false
	}
	return fail(), false
}

// identity answers the identification and report commands (V.250 I, 3GPP
// TS 27.007 §5 and the Quectel report commands), which only read. done is
// false for any other command. Called with e.mu held.
func (e *Emulator) identity(name, arg string, info func(string, ...any)) (out []byte, done bool) {
	if e.sim || (name != "AT+CIMI" && name != "AT+QCCID") {
		switch {
		case name == "ATI" && arg == "":
			info("Quectel\r\nEC200T\r\nRevision: EMU")
		case (name == "AT+CGMI" || name == "AT+GMI") && arg == "":
			info("Quectel")
		case (name == "AT+CGMM" || name == "AT+GMM") && arg == "":
			info("EC200T")
		case (name == "AT+CGMR" || name == "AT+GMR") && arg == "":
			info("EC200TCNLAR01A01M16_EMU")
		case (name == "AT+CGSN" || name == "AT+GSN") && arg == "":
			info("%s", e.cfg.IMEI)
		case name == "AT+CIMI" && arg == "":
			info("%s", e.cfg.IMSI)
		case name == "AT+QCCID" && arg == "":
			info("+QCCID: %s", e.cfg.ICCID)
		case name == "AT+QNWINFO" && arg == "":
			if e.regStatLocked() == 1 {
				info(`+QNWINFO: "FDD LTE","46000","LTE BAND 3",1825`)
			} else {
				info(`+QNWINFO: No Service`)
			}
		case arg == "=?" && (name == "AT+CSQ" || name == "AT+CREG" || name == "AT+COPS"):
			info("%s: %s", name[2:], map[string]string{"AT+CSQ": "(0-31,99),(0-7,99)", "AT+CREG": "(0-2)", "AT+COPS": "(0-4),(0-2)"}[name])
		default:
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

// socketCommand answers the socket commands (AT+QIOPEN, AT+QISEND,
// AT+QIRD, AT+QICLOSE). Called with e.mu held.
func (e *Emulator) socketCommand(name, arg string, b *bytes.Buffer) (out []byte, prompt bool) {
	ok := func() []byte { b.WriteString("\r\nOK\r\n"); return b.Bytes() }
	fail := func() []byte { return []byte("\r\nERROR\r\n") }
	switch name {
	case "AT+QIOPEN":
		return e.open(arg, b)
	case "AT+QISEND":
		f := strings.Split(strings.TrimPrefix(arg, "="), ",")
		if len(f) != 2 {
			return fail(), false
		}
		id, err1 := strconv.Atoi(f[0])
		n, err2 := strconv.Atoi(f[1])
		s := e.socks[id]
		if err1 != nil || err2 != nil || n <= 0 || n > 1460 || s == nil {
			return fail(), false
		}
		if s.closed {
			return []byte("\r\nSEND FAIL\r\n"), false
		}
		e.dataWanted, e.dataSock = n, id
		return nil, true
	case "AT+QIRD":
		f := strings.Split(strings.TrimPrefix(arg, "="), ",")
		id, err := strconv.Atoi(f[0])
		s := e.socks[id]
		if err != nil || s == nil {
			return fail(), false
		}
		n := 1500
		if len(f) > 1 {
			if n, err = strconv.Atoi(f[1]); err != nil || n < 0 {
				return fail(), false
			}
		}
		k := min(n, len(s.buf), 1500)
		fmt.Fprintf(b, "\r\n+QIRD: %d\r\n", k)
		b.Write(s.buf[:k])
		s.buf = s.buf[k:]
		if k > 0 {
			b.WriteString("\r\n")
		}
		return ok(), false
	case "AT+QICLOSE":
		id, err := strconv.Atoi(strings.Split(strings.TrimPrefix(arg, "="), ",")[0])
		if err != nil {
			return fail(), false
		}
		if s := e.socks[id]; s != nil {
			s.c.Close()
			delete(e.socks, id)
		}
		return ok(), false
	}
	return fail(), false
}

// splitCommand splits "AT+QIRD=0,10" into "AT+QIRD" and "=0,10".
func splitCommand(cmd string) (name, arg string) {
	cmd = strings.TrimSpace(cmd)
	i := strings.IndexAny(cmd, "=?")
	if i < 0 {
		return strings.ToUpper(cmd), ""
	}
	return strings.ToUpper(cmd[:i]), cmd[i:]
}

// open handles AT+QIOPEN=<ctx>,<id>,"TCP","<host>",<port>,0,0: OK at once,
// then +QIOPEN: <id>,<err> when the loopback connection succeeds or fails.
// Called with e.mu held.
func (e *Emulator) open(arg string, b *bytes.Buffer) ([]byte, bool) {
	f := strings.Split(strings.TrimPrefix(arg, "="), ",")
	if len(f) < 5 {
		return []byte("\r\nERROR\r\n"), false
	}
	id, err1 := strconv.Atoi(f[1])
	port, err2 := strconv.Atoi(f[4])
	host := strings.Trim(f[3], `"`)
	if err1 != nil || err2 != nil || id < 0 || id > 11 || strings.Trim(f[2], `"`) != "TCP" {
		return []byte("\r\nERROR\r\n"), false
	}
	if e.socks[id] != nil {
		return []byte("\r\n+CME ERROR: 563\r\n"), false // socket identity in use
	}
	if !e.pdpActive {
		b.WriteString("\r\nOK\r\n")
		e.after = append(e.after, func() { e.emit(fmt.Sprintf("+QIOPEN: %d,561", id)) }) // PDP context not activated
		return b.Bytes(), false
	}
	b.WriteString("\r\nOK\r\n")
	e.stats.SocketsOpen++
	e.wg.Add(1)
	e.after = append(e.after, func() { go e.connect(id, host, port) })
	return b.Bytes(), false
}

// isLoopback reports whether host names the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (e *Emulator) connect(id int, host string, port int) {
	defer e.wg.Done()
	if !isLoopback(host) {
		e.log.Warn("modememu: refusing non-loopback host", "host", host)
		e.emit(fmt.Sprintf("+QIOPEN: %d,565", id)) // DNS parse failed
		return
	}
	var d net.Dialer
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		e.emit(fmt.Sprintf("+QIOPEN: %d,566", id)) // socket connect failed
		return
	}
	s := &socket{id: id, c: c}
	e.mu.Lock()
	if !e.on || !e.pdpActive || e.socks[id] != nil {
		e.mu.Unlock()
		c.Close()
		e.emit(fmt.Sprintf("+QIOPEN: %d,566", id))
		return
	}
	e.socks[id] = s
	e.mu.Unlock()
	e.emit(fmt.Sprintf("+QIOPEN: %d,0", id))
	e.wg.Add(1)
	go e.pump(s)
}

// pump copies what the TCP peer sends into the socket buffer, announcing
// new data with +QIURC: "recv" and the peer's close with "closed".
func (e *Emulator) pump(s *socket) {
	defer e.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := s.c.Read(buf)
		if n > 0 {
			e.mu.Lock()
			live := e.socks[s.id] == s && !s.closed
			if live {
				s.buf = append(s.buf, buf[:n]...)
			}
			e.mu.Unlock()
			if live {
				e.emit(fmt.Sprintf(`+QIURC: "recv",%d`, s.id))
			}
		}
		if err != nil {
			e.mu.Lock()
			live := e.socks[s.id] == s && !s.closed
			if live {
				s.closed = true
			}
			e.mu.Unlock()
			if live && e.ctx.Err() == nil {
				e.emit(fmt.Sprintf(`+QIURC: "closed",%d`, s.id))
			}
			return
		}
	}
}

// Ring reports an incoming call, as the module would with RING.
func (e *Emulator) Ring() { e.emit("RING") }
