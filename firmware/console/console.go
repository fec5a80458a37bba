package console

import (
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

	"kpos/firmware/console/command"
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

	// WakeAfter is how long a line must have been quiet for its next byte
	// to draw the login banner again; default 30 s.
	WakeAfter      time.Duration
	IdleTimeout    time.Duration // log out after this long without input; default 5 min
	PrivTimeout    time.Duration // privileges lapse this long after the last privileged command; default 10 min
	CommandTimeout time.Duration // longest a command (a device test, settlement) may run; default 2 min

	Now func() time.Time // clock for lockout, privileges and audit; default time.Now
	// Audit receives one JSON line per privileged command and per access
	// event. Without it every privileged command is refused.
	Audit io.Writer

	Hostname string // prompt; default "kpos"
}

// Console serves technician sessions. One Console may serve several
// sessions at once (a serial port and a socket); they share the password
// store, the lockout counter and the audit log.
type Console struct {
	cfg     Config
	guard   *guard
	cmds    []*command.Command
	byName  map[string]*command.Command
	auditMu sync.Mutex
	// attempts summarises failed logins: one audit line per burst.
	attempts *attemptLog
}

// New returns a console that serves cmds (see command.Command) beside its
// own help, passwd, term, priv, unpriv, logout and exit. It does not touch
// the disk: a missing password store is reported at login.
func New(cfg Config, cmds ...*command.Command) *Console {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WakeAfter <= 0 {
		cfg.WakeAfter = 30 * time.Second
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
	if cfg.KDFIterations <= 0 {
		cfg.KDFIterations = DefaultKDFIterations
	}
	lockPath := cfg.LockoutPath
	if lockPath == "" && cfg.PasswordPath != "" {
		lockPath = cfg.PasswordPath + ".lockout"
	}
	c := &Console{
		cfg: cfg,
		guard: &guard{
			pwPath: cfg.PasswordPath, fixed: cfg.PasswordHash, lockPath: lockPath,
			policy: cfg.Lockout.withDefaults(), iter: cfg.KDFIterations, now: cfg.Now,
		},
	}
	c.attempts = &attemptLog{gap: time.Minute}
	c.byName = map[string]*command.Command{}
	for _, list := range [][]*command.Command{builtinsFirst(), cmds, builtinsLast()} {
		for _, cmd := range list {
			c.register(cmd)
		}
	}
	return c
}

// register adds a command record; help lists it after those before it.
func (c *Console) register(cmd *command.Command) {
	c.cmds = append(c.cmds, cmd)
	c.byName[cmd.Name] = cmd
}

// errInterrupted ends a blocked read when ctx ends.
var errInterrupted = errors.New("console: input interrupted")

// errIdle ends a read when the idle timer fires; the session logs out.
var errIdle = errors.New("console: idle timeout")

// session is one technician's session over one ReadWriter.
type session struct {
	c         *Console
	rw        io.ReadWriter
	t         *term.Terminal
	port      *port
	in        *input
	id        string
	loggedIn  bool
	midLine   bool // a prompt was abandoned: the editor must be replaced
	priv      bool
	privUntil time.Time
	width     int  // columns output is folded at
	widthSet  bool // set by 'term cols N': a report does not override it
}

// Serve runs one connection's sessions (a socket, an attached pty) until
// ctx is done, the technician types exit, or rw's reader ends (io.EOF).
// logout and the idle timeout return to the login prompt. rw should be raw
// (no echo, no line discipline). A goroutine may stay blocked reading rw
// after Serve returns until rw yields data or is closed.
func (c *Console) Serve(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := newPort(rw, c.cfg.Now, c.cfg.WakeAfter)
	go p.run(ctx)
	return c.session(ctx, p, rw)
}

// ServePort serves a line that stays connected for the terminal's whole
// life: the board's serial console. One reader reads it from start to end;
// exit and logout return to the login prompt, with nothing typed in between
// lost. It returns when ctx is done or the port fails. Open the port with a
// read timeout (a second or so), so that the reader notices ctx.
func (c *Console) ServePort(ctx context.Context, rw io.ReadWriter) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := newPort(rw, c.cfg.Now, c.cfg.WakeAfter)
	go p.run(ctx)
	for {
		if err := c.session(ctx, p, rw); err != nil {
			return err
		}
		if err := p.sourceErr(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// session runs one technician's session on p: login, commands, until exit,
// or the end of ctx or of the source.
func (c *Console) session(ctx context.Context, p *port, rw io.ReadWriter) error {
	in := &input{p: p, ctxDone: ctx.Done()}
	s := &session{c: c, port: p, in: in, id: sessionID(), rw: rw, width: command.Width}
	s.newTerminal()
	err := s.loop(ctx)
	c.attempts.flush(s)
	if errors.Is(err, errInterrupted) || errors.Is(err, io.EOF) {
		return ctx.Err()
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
	s.t.SetSize(s.width, 24)
}

// setWidth folds output and the line being edited at cols columns.
func (s *session) setWidth(cols int) {
	s.width = cols
	s.t.SetSize(cols, 24)
}

// widthQuery asks the terminal for its width: save the cursor, move it as
// far right and down as it goes, ask for its position (ECMA-48 CPR), and
// put it back. A terminal that does not answer keeps the default width.
const widthQuery = "\x1b7\x1b[999;999H\x1b[6n\x1b8"

// askWidth sends the query unless the technician fixed the width.
func (s *session) askWidth() error {
	if s.widthSet {
		return nil
	}
	s.port.askWidth()
	if _, err := s.rw.Write([]byte(widthQuery)); err != nil {
		return fmt.Errorf("console: writing: %w", err)
	}
	return nil
}

// followWidth takes a width the terminal reported since the last prompt.
func (s *session) followWidth() {
	if s.widthSet {
		return
	}
	if cols := s.port.reportedCols(); cols >= command.MinWidth && cols != s.width {
		s.setWidth(cols)
	}
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
			if err := s.login(); err != nil {
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
	s.followWidth()
	if n := s.port.takeDropped(); n > 0 {
		if err := s.println(fmt.Sprintf("input overflow: %d bytes typed ahead were dropped", n)); err != nil {
			return "", err
		}
	}
	timer := time.NewTimer(s.c.cfg.IdleTimeout)
	defer timer.Stop()
	s.in.idle = timer.C
	s.t.SetPrompt(prompt)
	// The editor draws the prompt before it reads: the last line must be
	// spent by then, or a ^C typed at this prompt is taken for it.
	s.port.spendLine()
	line, err := s.t.ReadLine()
	if errors.Is(err, io.EOF) && s.port.sourceErr() == nil {
		return "", errCtrlD
	}
	return line, err
}

// readSecret reads a line without echo (passwords, pasted backups).
func (s *session) readSecret(prompt string) (string, error) {
	timer := time.NewTimer(s.c.cfg.IdleTimeout)
	defer timer.Stop()
	s.in.idle = timer.C
	s.port.spendLine() // see readLine
	line, err := s.t.ReadPassword(prompt)
	if errors.Is(err, context.Canceled) {
		s.midLine = true
	}
	if errors.Is(err, io.EOF) && s.port.sourceErr() == nil {
		return "", nil
	}
	return line, err
}

// printRaw writes text (redacted) without folding it: JSON output.
func (s *session) printRaw(text string) error {
	if _, err := s.t.Write([]byte(command.Redact(text) + "\n")); err != nil {
		return fmt.Errorf("console: writing: %w", err)
	}
	return nil
}

// println writes text (redacted, folded at the session's width) followed
// by a newline.
func (s *session) println(text string) error {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, err := s.t.Write([]byte(command.Wrap(command.Redact(text), s.width)))
	if err != nil {
		return fmt.Errorf("console: writing: %w", err)
	}
	return nil
}

// banner greets whoever is on the line and asks the terminal its width.
func (s *session) banner() error {
	if err := s.askWidth(); err != nil {
		return err
	}
	s.port.touch()
	return s.println(fmt.Sprintf("%s technician console. Log in with the technician password.", s.c.cfg.Hostname))
}

// readLogin reads the password at the login prompt. Input on a line that
// has been idle, or a BREAK, first draws the banner and prompt again: a
// technician who connected after they went out sees them.
func (s *session) readLogin() (string, error) {
	s.in.wakes = true
	defer func() { s.in.wakes = false }()
	for {
		// Only a prompt nothing was typed at wakes: what a technician has
		// begun to type stays theirs.
		s.in.fresh = true
		pw, err := s.readSecret("Password: ")
		if !errors.Is(err, errWake) {
			return pw, err
		}
		if _, err := s.rw.Write([]byte("\r\n")); err != nil {
			return "", fmt.Errorf("console: writing: %w", err)
		}
		s.newTerminal()
		if err := s.banner(); err != nil {
			return "", err
		}
	}
}

// waitLock lets a lock run out. The notice is printed once; what is typed
// meanwhile is read and dropped (the password is not even checked), each
// line counted as a refused attempt.
func (s *session) waitLock(d time.Duration, announced bool) error {
	if !announced {
		if err := s.println(fmt.Sprintf("Console locked after repeated failures: try again in %s.", roundUp(d))); err != nil {
			return err
		}
	}
	for {
		d, err := s.c.guard.lockedFor()
		if err != nil {
			return s.refuseLogin(err)
		}
		if d <= 0 {
			return nil
		}
		// Look at the lock again at least every second: the console's
		// clock may be stepped (NTP, a test).
		timer := time.NewTimer(min(d, time.Second))
		s.in.idle = timer.C
		s.in.wakes, s.in.fresh = true, true
		s.port.spendLine() // see readLine
		_, err = s.t.ReadPassword("")
		s.in.wakes = false
		timer.Stop()
		switch {
		case errors.Is(err, errIdle), errors.Is(err, errWake):
			// The lock may have run out (or the clock moved): look again.
			s.newTerminal()
		case err != nil && !errors.Is(err, io.EOF):
			return err
		case err == nil:
			s.c.attempts.refused(s)
		}
	}
}

// refuseLogin says why no login is possible now, and waits for a key.
func (s *session) refuseLogin(cause error) error {
	s.c.attempts.flush(s)
	s.audit("login", nil, "refused: "+cause.Error())
	msg := "Login refused: " + strings.TrimPrefix(cause.Error(), "console: ")
	if errors.Is(cause, errAudit) {
		msg = "Login refused: the audit log cannot be written (" + errors.Unwrap(cause).Error() + "). Free disk space or call support. Press Enter to retry."
	}
	if errors.Is(cause, ErrCannotRecord) {
		msg = "Login refused: this terminal cannot record failed logins (" + strings.TrimPrefix(cause.Error(), "console: ") +
			"). Free disk space or call support. Press Enter to retry."
	}
	if err := s.println(msg); err != nil {
		return err
	}
	_, err := s.readSecret("")
	if errors.Is(err, errIdle) {
		return nil
	}
	return err
}

func (s *session) login() error {
	if err := s.banner(); err != nil {
		return err
	}
	announced := false // the lock was just announced with the failure that set it
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
		d, err := s.c.guard.lockedFor()
		if err != nil {
			if err := s.refuseLogin(err); err != nil {
				return err
			}
			continue
		}
		if d > 0 {
			if err := s.waitLock(d, announced); err != nil {
				return err
			}
			announced = false
			continue
		}
		announced = false
		pw, err := s.readLogin()
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
		if s.port.takeInterrupt() {
			// ^C while the password was being checked: no login, whatever
			// the answer (the attempt is counted all the same).
			if err == nil && res.ok {
				s.c.attempts.flush(s)
				s.audit("login", nil, "cancelled")
			}
			if err := s.println("Login cancelled."); err != nil {
				return err
			}
			continue
		}
		switch {
		case err == nil && res.ok:
			s.c.attempts.flush(s)
			if aerr := s.audit("login", nil, "ok"); aerr != nil && s.c.cfg.Audit != nil {
				// A login that cannot be recorded is refused. (Without an
				// audit log at all only privileged commands are refused.)
				if err := s.refuseLogin(aerr); err != nil {
					return err
				}
				continue
			}
			s.loggedIn = true
			s.priv = false
			return s.println("Logged in (read-only). Type 'help' for commands, 'priv' for privileged ones.")
		case errors.Is(err, ErrLocked):
			s.c.attempts.refused(s)
		case errors.Is(err, ErrBadPassword):
			s.c.attempts.failed(s, res.failures)
			msg := "Wrong password."
			if res.lockFor > 0 {
				msg += fmt.Sprintf(" %d failures: console locked for %s.", res.failures, roundUp(res.lockFor))
				announced = true
			}
			if err := s.println(msg); err != nil {
				return err
			}
		case errors.Is(err, ErrCannotRecord):
			if err := s.refuseLogin(err); err != nil {
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

// errAudit marks a failed audit write.
var errAudit = errors.New("console: writing audit log")

// auditError is a failed audit write: errAudit, and the writer's error
// (Unwrap gives the latter, errors.Is finds both).
type auditError struct{ err error }

func (e *auditError) Error() string        { return errAudit.Error() + ": " + e.err.Error() }
func (e *auditError) Unwrap() error        { return e.err }
func (e *auditError) Is(target error) bool { return target == errAudit }

// auditRecord is one line of the audit log.
type auditRecord struct {
	Time    time.Time `json:"time"`
	Session string    `json:"session"`
	Command string    `json:"command"`
	Args    []string  `json:"args,omitempty"`
	Result  string    `json:"result"`
}

// Println, ReadSecret and Audit are the session as a command sees it
// (command.Session).
func (s *session) Println(text string) error                { return s.println(text) }
func (s *session) ReadSecret(prompt string) (string, error) { return s.readSecret(prompt) }
func (s *session) Audit(name string, args []string, result string) error {
	return s.audit(name, args, result)
}

// audit appends a record; it returns an error when the log cannot take it.
func (s *session) audit(name string, args []string, result string) error {
	w := s.c.cfg.Audit
	if w == nil {
		return errors.New("console: no audit log configured")
	}
	red := make([]string, len(args))
	for i, a := range args {
		red[i] = command.Redact(a)
	}
	b, err := json.Marshal(auditRecord{Time: s.c.cfg.Now().UTC(), Session: s.id, Command: name, Args: red, Result: command.Redact(result)})
	if err != nil {
		return fmt.Errorf("console: encoding audit record: %w", err)
	}
	s.c.auditMu.Lock()
	defer s.c.auditMu.Unlock()
	if _, err := w.Write(append(b, '\n')); err != nil {
		return &auditError{err}
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
