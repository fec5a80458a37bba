package merchantpw

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kpos/firmware/internal/testproc"
)

// testIterations keeps the tests quick; the cost is stored with the hash,
// so nothing else depends on it.
const testIterations = 1000

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newGuard(t *testing.T, dir string, c *clock) *Guard {
	t.Helper()
	return New(Config{Dir: dir, Iterations: testIterations, Now: c.now})
}

func setUp(t *testing.T) (*Guard, string, *clock) {
	t.Helper()
	dir := t.TempDir()
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	g := newGuard(t, dir, c)
	if err := g.Set("123456"); err != nil {
		t.Fatal(err)
	}
	return g, dir, c
}

func TestRightAndWrong(t *testing.T) {
	g, _, _ := setUp(t)
	if err := g.Check("123456"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := g.Check("654321"); !errors.Is(err, ErrWrong) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := g.Check("123456"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	audit, _ := os.ReadFile(filepath.Join(g.cfg.Dir, AuditFile))
	if !strings.Contains(string(audit), "wrong password (1 of 5)") || !strings.Contains(string(audit), "right password after 1 wrong") {
		t.Fatalf("audit:\n%s", audit)
	}
	if err := New(Config{Dir: t.TempDir()}).Check("123456"); !errors.Is(err, ErrNotSet) {
		t.Fatalf("no password: %v", err)
	}
}

// Five wrong attempts lock for a minute, the next five for two, and so on;
// the lock survives a restart (a new Guard over the same files); a right
// attempt while locked is refused; the lock and the attempts are audited.
func TestFiveWrongLockForAGrowingDelayAcrossRestarts(t *testing.T) {
	g, dir, c := setUp(t)
	for round, lock := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		for i := 1; i <= 5; i++ {
			err := g.Check("000000")
			if i < 5 && !errors.Is(err, ErrWrong) {
				t.Fatalf("round %d attempt %d: %v", round, i, err)
			}
			if i == 5 {
				var le *LockedError
				if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !le.Until.Equal(c.t.Add(lock)) {
					t.Fatalf("round %d: fifth wrong attempt: %v, want a lock of %v", round, err, lock)
				}
			}
		}
		g = newGuard(t, dir, c) // a restart
		if until, err := g.Locked(); err != nil || !until.Equal(c.t.Add(lock)) {
			t.Fatalf("round %d: after a restart Locked() = %v, %v", round, until, err)
		}
		if err := g.Check("123456"); !errors.Is(err, ErrLocked) {
			t.Fatalf("round %d: the right password while locked: %v", round, err)
		}
		c.advance(lock - time.Second)
		if err := g.Check("123456"); !errors.Is(err, ErrLocked) {
			t.Fatalf("round %d: a second before the end: %v", round, err)
		}
		c.advance(time.Second)
	}
	if err := g.Check("123456"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	// A right attempt clears the growth: five wrong lock for a minute again.
	for range 5 {
		_ = g.Check("000000")
	}
	if until, _ := g.Locked(); !until.Equal(c.t.Add(time.Minute)) {
		t.Fatalf("after a right attempt the lock is %v", until.Sub(c.t))
	}
	audit, err := os.ReadFile(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(audit), "locked after 5 wrong passwords"); n != 4 {
		t.Fatalf("%d locks audited, want 4:\n%s", n, audit)
	}
	if strings.Contains(string(audit), "123456") {
		t.Fatalf("audit:\n%s", audit)
	}
}

func TestLockDoublingStopsAtTheLongest(t *testing.T) {
	g := New(Config{Dir: t.TempDir()})
	if d := g.lockFor(1); d != time.Minute {
		t.Fatal(d)
	}
	if d := g.lockFor(12); d != 24*time.Hour {
		t.Fatal(d)
	}
	if d := g.lockFor(1000); d != 24*time.Hour {
		t.Fatal(d)
	}
}

// The count is on disk before the answer: a guard that dies right after
// comparing (here: the state as written before the comparison) still has
// the attempt counted.
func TestAttemptCountedBeforeTheAnswer(t *testing.T) {
	g, dir, c := setUp(t)
	for range 4 {
		_ = g.Check("000000")
	}
	// Simulate a power cut after the fifth pre-count: write it the way
	// Check does, and restart without the rest of Check.
	if err := g.saveState(state{Failures: 5}); err != nil {
		t.Fatal(err)
	}
	g = newGuard(t, dir, c)
	if err := g.Check("000000"); !errors.Is(err, ErrLocked) {
		t.Fatalf("the sixth attempt after a cut: %v", err)
	}
}

// failWrites makes every write of this process fail, as a full disk does,
// until the test ends (RLIMIT_FSIZE 0: write(2) returns EFBIG; Go ignores
// SIGXFSZ). Reads still work. Only a test alone in its process (testproc)
// may call it.
func failWrites(t *testing.T) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	full := syscall.Rlimit{Cur: 0, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
		}
	}
	t.Cleanup(restore)
	return restore
}

// A full disk refuses the right password too, without comparing anything,
// and leaves the counter as it was.
func TestFullDiskRefuses(t *testing.T) {
	if !testproc.Alone(t) {
		return // the write limit is the whole process's
	}
	g, dir, _ := setUp(t)
	_ = g.Check("000000")
	before, _ := os.ReadFile(filepath.Join(dir, StateFile))
	restore := failWrites(t)
	errRight := g.Check("123456")
	errWrong := g.Check("000000")
	restore()
	for _, err := range []error{errRight, errWrong} {
		if !errors.Is(err, ErrUnrecorded) {
			t.Fatalf("on a full disk: %v", err)
		}
	}
	after, _ := os.ReadFile(filepath.Join(dir, StateFile))
	if string(before) != string(after) {
		t.Fatalf("state changed: %s -> %s", before, after)
	}
	if err := g.Check("123456"); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}

func TestDamagedStateLocks(t *testing.T) {
	g, dir, c := setUp(t)
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.Check("123456"); !errors.Is(err, ErrLocked) {
		t.Fatalf("damaged state: %v", err)
	}
	c.advance(time.Minute)
	if err := g.Check("123456"); err != nil {
		t.Fatalf("the lock of a damaged state does not end: %v", err)
	}
}

// The cost is the board's and is stored with the hash; a hash made at
// another cost (or in the older form) still works and is redone at the
// board's cost.
func TestCostStoredWithTheHash(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Now()}
	if err := New(Config{Dir: dir, Iterations: 1500, Now: c.now}).Set("123456"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, HashFile))
	if !strings.HasPrefix(string(raw), "pbkdf2-sha256$1500$") {
		t.Fatalf("stored %q", raw)
	}
	g := newGuard(t, dir, c)
	if err := g.Check("123456"); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, HashFile))
	if !strings.HasPrefix(string(raw), "pbkdf2-sha256$1000$") {
		t.Fatalf("not redone at the board's cost: %q", raw)
	}
	st, _ := os.Stat(filepath.Join(dir, HashFile))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
}

func TestParseHash(t *testing.T) {
	good := "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$" + strings.Repeat("ab", 32)
	legacy := "00112233445566778899aabbccddeeff:" + strings.Repeat("ab", 32)
	cases := []struct {
		in   string
		iter int
		ok   bool
	}{
		{good, 1000, true},
		{legacy + "\n", legacyIterations, true},
		{"pbkdf2-sha256$0$00112233445566778899aabbccddeeff$" + strings.Repeat("ab", 32), 0, false},
		{"pbkdf2-sha256$99999999999$00112233445566778899aabbccddeeff$" + strings.Repeat("ab", 32), 0, false},
		{"pbkdf2-sha256$1000$0011$" + strings.Repeat("ab", 32), 0, false},
		{"pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$abcd", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		h, err := parseHash(c.in)
		if (err == nil) != c.ok || (c.ok && h.iter != c.iter) {
			t.Errorf("%q: %+v %v", c.in, h, err)
		}
	}
}

func TestCalibrate(t *testing.T) {
	if n := Calibrate(10 * time.Millisecond); n < 1 || n > MaxIterations {
		t.Fatal(n)
	}
}
