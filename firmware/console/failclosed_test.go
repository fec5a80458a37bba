package console

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fullDisk is a writer on a disk with no room left.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "console-audit.log", Err: syscall.ENOSPC}
}

// TestFullDiskLockout: when the failure counter cannot be written, no
// password is checked and no login is possible; the console says why.
func TestFullDiskLockout(t *testing.T) {
	r := newRig(t)
	c := New(r.cfg, r.cmds()...)
	c.guard.write = func(string, []byte, fs.FileMode) error { return syscall.ENOSPC }
	s := r.startWith(t, c)
	for i := 0; i < 8; i++ {
		s.expect("Password: ")
		s.send("wrong-guess")
		s.expect("Login refused: this terminal cannot record failed logins")
		s.send("")
	}
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Login refused: this terminal cannot record failed logins")
	if tr := s.transcript(); strings.Contains(tr, "Logged in") || strings.Contains(tr, "Wrong password") {
		t.Fatalf("a password was checked with the counter unwritable:\n%s", tr)
	}
	// Room again: the right password logs in.
	c.guard.write = nil
	s.send("")
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Logged in")
}

// TestFullDiskAudit: a login that cannot be audited is refused, and so are
// privileges.
func TestFullDiskAudit(t *testing.T) {
	r := newRig(t)
	r.cfg.Audit = fullDisk{}
	s := r.start(t)
	s.expect("Password: ")
	s.send(testPassword)
	s.expect("Login refused: the audit log cannot be written")
	s.expect("space left on device")
	if strings.Contains(s.transcript(), "Logged in") {
		t.Fatal("logged in without an audit record")
	}
}

// TestLockoutStateWrittenBeforeTheAnswer: the count is on disk before the
// password is even checked, so a power cut during the check counts it.
func TestLockoutStateWrittenBeforeTheAnswer(t *testing.T) {
	r := newRig(t)
	c := New(r.cfg, r.cmds()...)
	var seen []string
	c.guard.write = func(path string, b []byte, perm fs.FileMode) error {
		seen = append(seen, string(b))
		return os.WriteFile(path, b, perm)
	}
	res, err := c.guard.attempt(testPassword)
	if err != nil || !res.ok {
		t.Fatal(res, err)
	}
	if len(seen) != 2 || !strings.Contains(seen[0], `"failures":1`) || !strings.Contains(seen[1], `"failures":0`) {
		t.Errorf("lockout writes %q, want the failure counted first, then cleared", seen)
	}
}

// countingWriter counts what the audit log would grow by.
type countingWriter struct {
	mu    sync.Mutex
	n     int
	lines int
	buf   bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += len(p)
	w.lines += bytes.Count(p, []byte{'\n'})
	if w.buf.Len() < 4096 {
		w.buf.Write(p)
	}
	return len(p), nil
}

// auditBound is what 100,000 failed attempts before login may add to the
// audit log: a first line and a summary per burst, far below one line each.
const auditBound = 4 << 10

// TestPreLoginFlood sends 100,000 attempts (wrong passwords, then
// whatever is typed at the locked console) and bounds the audit log's
// growth.
func TestPreLoginFlood(t *testing.T) {
	r := newRig(t)
	audit := &countingWriter{}
	r.cfg.Audit = audit
	c := New(r.cfg, r.cmds()...)
	s := r.startWith(t, c)
	s.expect("Password: ")
	const attempts = 100_000
	counted := func() int {
		c.attempts.mu.Lock()
		defer c.attempts.mu.Unlock()
		return c.attempts.nWrong + c.attempts.nRefused + 1
	}
	var burst strings.Builder
	for i := 0; i < attempts; i++ {
		fmt.Fprintf(&burst, "guess-%d\r", i)
		if burst.Len() > 32<<10 || i == attempts-1 {
			s.sendRaw(burst.String())
			burst.Reset()
			// Paced as a line at 115200 baud would be: the console drops
			// what it is sent beyond a megabyte ahead of it.
			waitFor(t, "the attempts read", func() bool { return counted() == i+1 })
		}
	}
	s.cancel()
	err := <-s.done
	s.done <- err
	audit.mu.Lock()
	defer audit.mu.Unlock()
	if audit.n >= auditBound {
		t.Errorf("%d attempts added %d bytes (%d lines) to the audit log, bound %d:\n%s", attempts, audit.n, audit.lines, auditBound, audit.buf.String())
	}
	if !strings.Contains(audit.buf.String(), fmt.Sprintf("%d more failed attempts", attempts-1)) {
		t.Errorf("no summary of the burst:\n%s", audit.buf.String())
	}
	t.Logf("%d attempts: audit log grew by %d bytes in %d lines", attempts, audit.n, audit.lines)
}
