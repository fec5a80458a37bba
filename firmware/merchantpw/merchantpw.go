// Package merchantpw keeps the merchant's password, which guards void,
// refund, settlement and unbinding, and its attempt limit.
//
// The password is stored as a salted PBKDF2-SHA256 hash (NIST SP 800-132)
// with its iteration count beside it, so a board can change the cost without
// locking out a stored password; a hash made at another cost is redone at
// the board's cost on the next right attempt. Five wrong attempts in a row
// lock the password for a delay that doubles with every lock (one minute,
// two, four … at most a day) until a right attempt clears it.
//
// It fails closed (PCI DSS 8.3.4): every attempt is counted as wrong and that
// count written durably before the password is even compared, so a power cut
// or a pulled cable after the answer cannot erase a failure, and a lock is on
// disk before anyone is told. When the state cannot be read or written (a
// full disk) the attempt is refused without comparing anything. Locks, and
// wrong attempts, are appended to an audit file (at most five lines per
// lock, so it cannot grow faster than the lock allows guessing).
//
// It knows nothing of screens, keypads or what the password unlocks.
package merchantpw

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"kpos/firmware/durable"
)

// The files the guard keeps in its directory (the data directory).
const (
	HashFile  = "merchant-password"
	StateFile = "merchant-lock.json"
	AuditFile = "merchant-audit.log"
)

// Bounds on the PBKDF2 cost. MinIterations is what a production board file
// may ask for at the least; a stored hash outside [1, MaxIterations] is
// damaged (a hostile count must not make a check run for hours).
const (
	DefaultIterations = 100_000
	MinIterations     = 10_000
	MaxIterations     = 10_000_000
)

// legacyIterations is the cost of hashes written before the cost was stored.
const legacyIterations = 100_000

// Errors a check returns; callers branch on them with errors.Is or As.
var (
	ErrWrong  = errors.New("merchantpw: wrong password")
	ErrNotSet = errors.New("merchantpw: no merchant password is set")
	ErrLocked = errors.New("merchantpw: locked after too many wrong passwords")
	// ErrUnrecorded: the attempt could not be recorded, or the state not
	// read (a full or failing disk). Access is refused.
	ErrUnrecorded = errors.New("merchantpw: the attempt cannot be recorded")
	ErrDamaged    = errors.New("merchantpw: the password file is damaged")
)

// LockedError says until when the password is locked.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return "merchantpw: locked after too many wrong passwords, until " + e.Until.Format(time.RFC3339)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Config says where the guard keeps its files and what the board asks.
type Config struct {
	Dir string // where HashFile, StateFile and AuditFile live
	// Iterations is the board's PBKDF2 cost for new hashes (DefaultIterations
	// when zero).
	Iterations  int
	MaxFailures int           // wrong attempts before a lock; 5 when zero
	FirstLock   time.Duration // the first lock; one minute when zero
	MaxLock     time.Duration // the longest lock; a day when zero
	// AuditLimit caps the audit file; when an append would pass it the file
	// is moved to AuditFile+".1" first. 64 KiB when zero.
	AuditLimit int64
	Now        func() time.Time
	Log        *slog.Logger
}

// Guard checks the merchant's password. Its methods are safe for
// concurrent use.
type Guard struct {
	cfg Config
	mu  sync.Mutex
}

// New returns a guard over cfg.Dir.
func New(cfg Config) *Guard {
	if cfg.Iterations == 0 {
		cfg.Iterations = DefaultIterations
	}
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = 5
	}
	if cfg.FirstLock == 0 {
		cfg.FirstLock = time.Minute
	}
	if cfg.MaxLock == 0 {
		cfg.MaxLock = 24 * time.Hour
	}
	if cfg.AuditLimit == 0 {
		cfg.AuditLimit = 64 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Guard{cfg: cfg}
}

// state is the attempt counter and the lock, kept in StateFile.
type state struct {
	Failures    int       `json:"failures"`              // wrong attempts since the last right one or lock
	Locks       int       `json:"locks"`                 // locks since the last right attempt
	LockedUntil time.Time `json:"locked_until,omitzero"` // no attempt before then
}

// IsSet reports whether a password is stored.
func (g *Guard) IsSet() bool {
	_, err := os.Stat(g.path(HashFile))
	return err == nil
}

// Set stores pw at the board's cost and clears any lock.
func (g *Guard) Set(pw string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	h, err := newHash(pw, g.cfg.Iterations)
	if err != nil {
		return err
	}
	if err := durable.WriteFile(g.path(HashFile), []byte(h.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("merchantpw: %w", err)
	}
	if err := g.saveState(state{}); err != nil {
		return err
	}
	g.audit("password set")
	return nil
}

// Locked returns the end of the current lock, or the zero time when the
// password may be tried. An error means the state cannot be read: refuse.
func (g *Guard) Locked() (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, err := g.loadState()
	if err != nil {
		return time.Time{}, err
	}
	if g.cfg.Now().Before(st.LockedUntil) {
		return st.LockedUntil, nil
	}
	return time.Time{}, nil
}

// Check compares pw with the stored password. nil means right; anything
// else refuses: ErrWrong, a *LockedError (ErrLocked), ErrNotSet, ErrDamaged
// or ErrUnrecorded.
func (g *Guard) Check(pw string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, err := g.loadState()
	if err != nil {
		return err
	}
	now := g.cfg.Now()
	if now.Before(st.LockedUntil) {
		return &LockedError{Until: st.LockedUntil}
	}
	h, err := g.loadHash()
	if err != nil {
		return err
	}
	// Counted as wrong, durably, before the comparison: whatever happens
	// after this point, the attempt has been paid for.
	st.Failures++
	if err := g.saveState(st); err != nil {
		return err
	}
	if h.matches(pw) {
		wrong := st.Failures - 1
		if err := g.saveState(state{}); err != nil {
			return err
		}
		if wrong > 0 {
			g.audit(fmt.Sprintf("right password after %d wrong", wrong))
		}
		if h.iter != g.cfg.Iterations {
			g.rehash(pw)
		}
		return nil
	}
	if st.Failures < g.cfg.MaxFailures {
		g.audit(fmt.Sprintf("wrong password (%d of %d)", st.Failures, g.cfg.MaxFailures))
		return ErrWrong
	}
	st.Locks++
	st.Failures = 0
	st.LockedUntil = now.Add(g.lockFor(st.Locks))
	if err := g.saveState(st); err != nil {
		// The pre-count stays on disk: the next attempt locks.
		return err
	}
	g.audit(fmt.Sprintf("locked after %d wrong passwords, lock %d, until %s", g.cfg.MaxFailures, st.Locks, st.LockedUntil.UTC().Format(time.RFC3339)))
	return &LockedError{Until: st.LockedUntil}
}

// lockFor is the length of lock number n: FirstLock doubled n-1 times, at
// most MaxLock.
func (g *Guard) lockFor(n int) time.Duration {
	d := g.cfg.FirstLock
	for i := 1; i < n && d < g.cfg.MaxLock; i++ {
		d *= 2
	}
	return min(d, g.cfg.MaxLock)
}

// rehash stores pw again at the board's cost; the old hash still works if
// that fails.
func (g *Guard) rehash(pw string) {
	h, err := newHash(pw, g.cfg.Iterations)
	if err == nil {
		err = durable.WriteFile(g.path(HashFile), []byte(h.String()+"\n"), 0o600)
	}
	if err != nil {
		g.cfg.Log.Warn("merchant password not rehashed at the board's cost", "err", err)
	}
}

func (g *Guard) path(name string) string { return filepath.Join(g.cfg.Dir, name) }

func (g *Guard) loadState() (state, error) {
	b, err := os.ReadFile(g.path(StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return state{}, nil
	}
	if err != nil {
		return state{}, fmt.Errorf("%w: %v", ErrUnrecorded, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil || st.Failures < 0 || st.Locks < 0 {
		// A damaged counter is not a clean slate: it is a lock, written
		// down so that it ends like any other.
		st = state{Locks: 1, LockedUntil: g.cfg.Now().Add(g.cfg.FirstLock)}
		if err := g.saveState(st); err != nil {
			return state{}, err
		}
		g.audit("lock state damaged: locked until " + st.LockedUntil.UTC().Format(time.RFC3339))
	}
	return st, nil
}

func (g *Guard) saveState(st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnrecorded, err)
	}
	if err := durable.WriteFile(g.path(StateFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("%w: %v", ErrUnrecorded, err)
	}
	return nil
}

func (g *Guard) loadHash() (hash, error) {
	b, err := os.ReadFile(g.path(HashFile))
	if errors.Is(err, fs.ErrNotExist) {
		return hash{}, ErrNotSet
	}
	if err != nil {
		return hash{}, fmt.Errorf("%w: %v", ErrUnrecorded, err)
	}
	return parseHash(string(b))
}

// audit appends one line to the audit file, synced. A line that cannot be
// written goes to the log; the lock it reports is on disk already.
func (g *Guard) audit(event string) {
	line := g.cfg.Now().UTC().Format(time.RFC3339) + " merchant password: " + event + "\n"
	if err := g.appendAudit(line); err != nil {
		g.cfg.Log.Error("merchant password audit not written", "event", event, "err", err)
		return
	}
	g.cfg.Log.Info("merchant password", "event", event)
}

func (g *Guard) appendAudit(line string) error {
	p := g.path(AuditFile)
	if st, err := os.Stat(p); err == nil && st.Size()+int64(len(line)) > g.cfg.AuditLimit {
		if err := os.Rename(p, p+".1"); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// hash is a stored password: "pbkdf2-sha256$<iterations>$<salt hex>$<key hex>".
type hash struct {
	iter      int
	salt, sum []byte
}

const hashScheme = "pbkdf2-sha256"

func newHash(pw string, iter int) (hash, error) {
	if iter < 1 || iter > MaxIterations {
		return hash{}, fmt.Errorf("merchantpw: %d iterations outside 1..%d", iter, MaxIterations)
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return hash{}, fmt.Errorf("merchantpw: %w", err)
	}
	sum, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		return hash{}, fmt.Errorf("merchantpw: %w", err)
	}
	return hash{iter: iter, salt: salt, sum: sum}, nil
}

func (h hash) String() string {
	return hashScheme + "$" + strconv.Itoa(h.iter) + "$" + hex.EncodeToString(h.salt) + "$" + hex.EncodeToString(h.sum)
}

func (h hash) matches(pw string) bool {
	got, err := pbkdf2.Key(sha256.New, pw, h.salt, h.iter, len(h.sum))
	return err == nil && subtle.ConstantTimeCompare(got, h.sum) == 1
}

// parseHash reads a stored password: the current form, or the older
// "<salt hex>:<key hex>" made at 100,000 iterations.
func parseHash(s string) (hash, error) {
	s = strings.TrimSpace(s)
	h := hash{iter: legacyIterations}
	var saltHex, sumHex string
	if rest, ok := strings.CutPrefix(s, hashScheme+"$"); ok {
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return hash{}, ErrDamaged
		}
		n, err := strconv.Atoi(parts[0])
		if err != nil || n < 1 || n > MaxIterations {
			return hash{}, ErrDamaged
		}
		h.iter, saltHex, sumHex = n, parts[1], parts[2]
	} else {
		var ok bool
		if saltHex, sumHex, ok = strings.Cut(s, ":"); !ok {
			return hash{}, ErrDamaged
		}
	}
	var err1, err2 error
	h.salt, err1 = hex.DecodeString(saltHex)
	h.sum, err2 = hex.DecodeString(sumHex)
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.sum) != 32 {
		return hash{}, ErrDamaged
	}
	return h, nil
}

// Calibrate returns the PBKDF2 cost that takes about target on this CPU: a
// board's password_iterations is this, measured on the board.
func Calibrate(target time.Duration) int {
	const probe = 20_000
	salt := make([]byte, 16)
	start := time.Now()
	_, _ = pbkdf2.Key(sha256.New, "calibrate", salt, probe, 32)
	took := time.Since(start)
	if took <= 0 {
		took = time.Microsecond
	}
	n := int(float64(probe) * float64(target) / float64(took))
	return max(1, min(n, MaxIterations))
}
