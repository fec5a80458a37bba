package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"kpos/firmware/update"
)

// Config is the console's own configuration.
type Config struct {
	// PasswordPath is the technician password store (one PBKDF2 hash line,
	// written by SetPassword and the passwd command). PasswordHash, used
	// when PasswordPath is empty, fixes the hash (passwd is then refused).
	PasswordPath string
	PasswordHash string
	// LockoutPath keeps the failed-login counter across reboots; default
	// PasswordPath + ".lockout".
	LockoutPath   string
	Lockout       LockoutPolicy
	KDFIterations int // for passwd; default DefaultKDFIterations

	IdleTimeout    time.Duration // log out after this long without input; default 5 min
	PrivTimeout    time.Duration // privileges lapse this long after the last privileged command; default 10 min
	CommandTimeout time.Duration // longest a command (a device test, settlement) may run; default 2 min

	Now func() time.Time // clock for lockout, privileges and audit; default time.Now
	// Audit receives one JSON line per privileged command and per access
	// event. Without it every privileged command is refused.
	Audit io.Writer

	Hostname      string // prompt; default "kpos"
	FileRoot      string // relative backup/restore/update paths resolve here
	MaxBackupSize int64  // default 64 MiB
	// OnUpdateProgress, when set, also receives firmware update progress
	// (the firmware wires it to the display).
	OnUpdateProgress func(update.Progress)
}

// Console serves technician sessions. One Console may serve several
// sessions at once (a serial port and a socket); they share the password
// store, the lockout counter and the audit log.
type Console struct {
	cfg     Config
	svc     Services
	guard   *guard
	cmds    []*command
	byName  map[string]*command
	auditMu sync.Mutex
}

// New returns a console over the given services. It does not touch the
// disk: a missing password store is reported at login.
func New(cfg Config, svc Services) *Console {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Minute
	}
	if cfg.PrivTimeout <= 0 {
		cfg.PrivTimeout = 10 * time.Minute
	}
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = 2 * time.Minute
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "kpos"
	}
	if cfg.MaxBackupSize <= 0 {
		cfg.MaxBackupSize = 64 << 20
	}
	if cfg.KDFIterations <= 0 {
		cfg.KDFIterations = DefaultKDFIterations
	}
	lockPath := cfg.LockoutPath
	if lockPath == "" && cfg.PasswordPath != "" {
		lockPath = cfg.PasswordPath + ".lockout"
	}
	c := &Console{
		cfg: cfg,
		svc: svc,
		guard: &guard{
			pwPath: cfg.PasswordPath, fixed: cfg.PasswordHash, lockPath: lockPath,
			policy: cfg.Lockout.withDefaults(), iter: cfg.KDFIterations, now: cfg.Now,
		},
	}
	c.cmds = commands()
	c.byName = map[string]*command{}
	for _, cmd := range c.cmds {
		c.byName[cmd.name] = cmd
	}
	return c
}

// errInterrupted ends a blocked read when the idle timer fires.
var errInterrupted = errors.New("console: input interrupted")

// errIdle ends a read when the idle timer fires; the session logs out.
var errIdle = errors.New("console: idle timeout")

// pump owns the reads from the session's reader so that a blocked read can
// be abandoned (idle timeout, ctx) without losing bytes, and so that ^C can
// cancel a running command. Like a tty's interrupt, a ^C that cancels a
// command also discards the input typed before it and not yet read.
type pump struct {
	chunks chan chunk
	done   chan struct{}
	mu     sync.Mutex
	err    error              // the source's final error, once chunks is closed
	cancel context.CancelFunc // the running command's, or nil at a prompt
	epoch  uint64             // bumped by every ^C that cancels a command

	pending      []byte
	pendingEpoch uint64
	idle         <-chan time.Time // set before each blocking read
	ctxDone      <-chan struct{}
	cmdDone      <-chan struct{} // the running interactive command's ctx, or nil
}

// chunk is input read in one go, stamped with the interrupt epoch it
// belongs to.
type chunk struct {
	data  []byte
	epoch uint64
}

func newPump(src io.Reader) *pump {
	p := &pump{chunks: make(chan chunk), done: make(chan struct{})}
	go p.run(src)
	return p
}

func (p *pump) run(src io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.done:
			// The session has ended while this read was blocked: whatever
			// arrived belongs to the next session's reader, which has its
			// own pump. A port with a read timeout ends this goroutine
			// within one timeout.
			return
		default:
		}
		if n > 0 {
			c := p.filter(buf[:n])
			if len(c.data) > 0 {
				select {
				case p.chunks <- c:
				case <-p.done:
					return
				}
			}
		}
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			close(p.chunks)
			return
		}
	}
}

// filter handles ^C: it cancels a running command and drops what was typed
// before it, or at a prompt clears the line being typed (end of line, erase
// line, enter).
func (p *pump) filter(in []byte) chunk {
	p.mu.Lock()
	defer p.mu.Unlock()
	if bytes.IndexByte(in, 0x03) < 0 {
		return chunk{data: bytes.Clone(in), epoch: p.epoch}
	}
	out := make([]byte, 0, len(in)+4)
	for _, c := range in {
		switch {
		case c != 0x03:
			out = append(out, c)
		case p.cancel != nil:
			p.cancel()
			p.epoch++
			out = out[:0]
		default:
			out = append(out, 0x05, 0x15, '\r')
		}
	}
	return chunk{data: out, epoch: p.epoch}
}

func (p *pump) setCancel(f context.CancelFunc) {
	p.mu.Lock()
	p.cancel = f
	p.mu.Unlock()
}

func (p *pump) currentEpoch() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch
}

// sourceErr returns the source's final error, nil while it is open.
func (p *pump) sourceErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Read is called by the terminal, always from the session goroutine.
func (p *pump) Read(b []byte) (int, error) {
	for len(p.pending) == 0 || p.pendingEpoch < p.currentEpoch() {
		p.pending = nil
		select {
		case c, ok := <-p.chunks:
			if !ok {
				return 0, p.sourceErr()
			}
			p.pending, p.pendingEpoch = c.data, c.epoch
		case <-p.idle:
			return 0, errIdle
		case <-p.ctxDone:
			return 0, errInterrupted
		case <-p.cmdDone:
			return 0, fmt.Errorf("console: prompt abandoned: %w", context.Canceled)
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *pump) stop() { close(p.done) }

// session is one technician's session over one ReadWriter.
type session struct {
	c         *Console
	rw        io.ReadWriter
	t         *term.Terminal
	in        *pump
	id        string
	loggedIn  bool
	midLine   bool // a prompt was abandoned: the editor must be replaced
	priv      bool
	privUntil time.Time
}

// Serve runs the console over rw until ctx is done, the technician types
// exit, or rw's reader ends (io.EOF). logout and the idle timeout return to
// the login prompt. rw should be raw (no echo, no line discipline): a serial
// port, a raw pty, a socket. A goroutine may stay blocked reading rw after
// Serve returns until rw yields data or is closed; close rw (or let it time
// out) before serving it again.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	in := newPump(rw)
	defer in.stop()
	in.ctxDone = ctx.Done()
	s := &session{c: c, in: in, id: sessionID(), rw: rw}
	s.newTerminal()
	err := s.loop(ctx)
	if errors.Is(err, errInterrupted) || errors.Is(err, io.EOF) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil
	}
	return err
}

// newTerminal starts a fresh line editor: at every login, so that one
// technician's history is not the next one's, and after an interrupted read
// (idle timeout, ^D), which leaves the old editor mid-line.
func (s *session) newTerminal() {
	s.t = term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{s.in, s.rw}, "")
	s.t.AutoCompleteCallback = s.complete
}

// abandonPrompt replaces an editor whose prompt was abandoned by ^C,
// keeping the history. The old editor would redraw its half-typed line, with
// echo back on, at the next write.
func (s *session) abandonPrompt() error {
	if !s.midLine {
		return nil
	}
	s.midLine = false
	hist := s.t.History
	if _, err := s.rw.Write([]byte("\r\n")); err != nil {
		return fmt.Errorf("console: writing: %w", err)
	}
	s.newTerminal()
	s.t.History = hist
	return nil
}

// endSession logs out. When the editor was interrupted mid-line, it moves
// to a new line first.
func (s *session) endSession(midLine bool) error {
	s.loggedIn, s.priv = false, false
	s.midLine = false
	if midLine {
		if _, err := s.rw.Write([]byte("\r\n")); err != nil {
			return fmt.Errorf("console: writing: %w", err)
		}
	}
	s.newTerminal()
	return nil
}

func sessionID() string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "session"
	}
	return hex.EncodeToString(b[:])
}

func (s *session) loop(ctx context.Context) error {
	for {
		if !s.loggedIn {
			if err := s.login(ctx); err != nil {
				return err
			}
			continue
		}
		s.dropExpiredPriv()
		line, err := s.readLine(ctx, s.prompt())
		if errors.Is(err, errIdle) {
			s.audit("logout", nil, "idle timeout")
			if err := s.endSession(true); err != nil {
				return err
			}
			if err := s.println(fmt.Sprintf("no input for %s: logged out", s.c.cfg.IdleTimeout)); err != nil {
				return err
			}
			continue
		}
		if errors.Is(err, errCtrlD) {
			s.audit("logout", nil, "ok")
			if err := s.endSession(true); err != nil {
				return err
			}
			if err := s.println("Logged out."); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		exit, err := s.execLine(ctx, line)
		if err != nil {
			return err
		}
		if exit {
			return nil
		}
	}
}

func (s *session) prompt() string {
	if s.priv {
		return s.c.cfg.Hostname + "# "
	}
	return s.c.cfg.Hostname + "> "
}

// errCtrlD is a ^D typed on an empty line: it logs out.
var errCtrlD = errors.New("console: end of input typed")

// readLine reads one line with the idle timer running. A ^D on an empty
// line (io.EOF while the source is still open) returns errCtrlD.
func (s *session) readLine(ctx context.Context, prompt string) (string, error) {
	timer := time.NewTimer(s.c.cfg.IdleTimeout)
	defer timer.Stop()
	s.in.idle = timer.C
	s.t.SetPrompt(prompt)
	line, err := s.t.ReadLine()
	if errors.Is(err, io.EOF) && s.in.sourceErr() == nil {
		return "", errCtrlD
	}
	return line, err
}

// readSecret reads a line without echo (passwords, pasted backups).
func (s *session) readSecret(prompt string) (string, error) {
	timer := time.NewTimer(s.c.cfg.IdleTimeout)
	defer timer.Stop()
	s.in.idle = timer.C
	line, err := s.t.ReadPassword(prompt)
	if errors.Is(err, context.Canceled) {
		s.midLine = true
	}
	if errors.Is(err, io.EOF) && s.in.sourceErr() == nil {
		return "", nil
	}
	return line, err
}

// println writes text (redacted) followed by a newline.
func (s *session) println(text string) error {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err := s.t.Write([]byte(Redact(text)))
	if err != nil {
		return fmt.Errorf("console: writing: %w", err)
	}
	return nil
}

func (s *session) login(ctx context.Context) error {
	if err := s.println(fmt.Sprintf("%s technician console. Log in with the technician password.", s.c.cfg.Hostname)); err != nil {
		return err
	}
	for {
		if !s.c.guard.isSet() {
			if err := s.println("No technician password is set on this terminal: see the service manual to provision one. Press Enter to retry."); err != nil {
				return err
			}
			if _, err := s.readSecret(""); err != nil && !errors.Is(err, errIdle) {
				return err
			}
			continue
		}
		if d, err := s.c.guard.lockedFor(); err == nil && d > 0 {
			if err := s.println(fmt.Sprintf("Console locked after repeated failures: try again in %s.", roundUp(d))); err != nil {
				return err
			}
		}
		pw, err := s.readSecret("Password: ")
		if errors.Is(err, errIdle) {
			continue
		}
		if err != nil {
			return err
		}
		if pw == "" {
			continue
		}
		res, err := s.c.guard.attempt(pw)
		switch {
		case err == nil && res.ok:
			s.loggedIn = true
			s.priv = false
			s.audit("login", nil, "ok")
			return s.println("Logged in (read-only). Type 'help' for commands, 'priv' for privileged ones.")
		case errors.Is(err, ErrLocked):
			s.audit("login", nil, "refused: locked")
			if err := s.println(fmt.Sprintf("Console locked: try again in %s.", roundUp(res.lockFor))); err != nil {
				return err
			}
		case errors.Is(err, ErrBadPassword):
			msg := "Wrong password."
			if res.lockFor > 0 {
				msg += fmt.Sprintf(" %d failures: console locked for %s.", res.failures, roundUp(res.lockFor))
			}
			s.audit("login", nil, fmt.Sprintf("failed (%d consecutive)", res.failures))
			if err := s.println(msg); err != nil {
				return err
			}
		default:
			s.audit("login", nil, "error: "+err.Error())
			if err := s.println("Login failed: " + err.Error()); err != nil {
				return err
			}
		}
	}
}

func roundUp(d time.Duration) time.Duration {
	if d%time.Second != 0 {
		d = d.Truncate(time.Second) + time.Second
	}
	return d
}

func (s *session) dropExpiredPriv() {
	if s.priv && !s.c.cfg.Now().Before(s.privUntil) {
		s.priv = false
		s.audit("priv", nil, "lapsed")
		s.println("Privileges lapsed; type 'priv' to elevate again.")
	}
}

// auditRecord is one line of the audit log.
type auditRecord struct {
	Time    time.Time `json:"time"`
	Session string    `json:"session"`
	Command string    `json:"command"`
	Args    []string  `json:"args,omitempty"`
	Result  string    `json:"result"`
}

// audit appends a record; it returns an error when the log cannot take it.
func (s *session) audit(command string, args []string, result string) error {
	w := s.c.cfg.Audit
	if w == nil {
		return errors.New("console: no audit log configured")
	}
	red := make([]string, len(args))
	for i, a := range args {
		red[i] = Redact(a)
	}
	b, err := json.Marshal(auditRecord{Time: s.c.cfg.Now().UTC(), Session: s.id, Command: command, Args: red, Result: Redact(result)})
	if err != nil {
		return fmt.Errorf("console: encoding audit record: %w", err)
	}
	s.c.auditMu.Lock()
	defer s.c.auditMu.Unlock()
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("console: writing audit log: %w", err)
	}
	// An audit record a power cut can take back is no record: it is on
	// disk before the command it records goes on.
	if f, ok := w.(interface{ Sync() error }); ok {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("console: syncing audit log: %w", err)
		}
	}
	return nil
}
