package console

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"kpos/firmware/durable"
)

// Errors of the access layer.
var (
	ErrNoPassword   = errors.New("console: no technician password is set")
	ErrBadPassword  = errors.New("console: wrong password")
	ErrLocked       = errors.New("console: locked after repeated failures")
	ErrWeakPassword = errors.New("console: password too weak")
	// ErrCannotRecord: the failure counter cannot be written (a full disk),
	// so no password is checked. A lockout that cannot count must not be
	// lifted by the fault.
	ErrCannotRecord = errors.New("console: cannot record login attempts")
)

// DefaultKDFIterations is the PBKDF2-HMAC-SHA256 work factor for new hashes.
// It costs about a second on an ARMv7 terminal per login, which is the point.
const DefaultKDFIterations = 200_000

const hashScheme = "pbkdf2-sha256"

// HashPassword hashes pw with PBKDF2-HMAC-SHA256, a fresh random 16-byte salt
// and iter iterations, as "pbkdf2-sha256$ITER$SALT$HASH" (base64, no padding).
func HashPassword(pw string, iter int) (string, error) {
	if iter <= 0 {
		iter = DefaultKDFIterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("console: salt: %w", err)
	}
	dk, err := pbkdf2.Key(sha256.New, pw, salt, iter, 32)
	if err != nil {
		return "", fmt.Errorf("console: hashing password: %w", err)
	}
	enc := base64.RawStdEncoding
	return strings.Join([]string{hashScheme, strconv.Itoa(iter), enc.EncodeToString(salt), enc.EncodeToString(dk)}, "$"), nil
}

// checkPassword reports whether pw matches the encoded hash.
func checkPassword(encoded, pw string) (bool, error) {
	parts := strings.Split(strings.TrimSpace(encoded), "$")
	if len(parts) != 4 || parts[0] != hashScheme {
		return false, errors.New("console: password hash is not " + hashScheme)
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 100_000_000 {
		return false, errors.New("console: password hash has a bad iteration count")
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 {
		return false, errors.New("console: password hash is malformed")
	}
	dk, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	if err != nil {
		return false, fmt.Errorf("console: hashing password: %w", err)
	}
	return subtle.ConstantTimeCompare(dk, want) == 1, nil
}

// EnsurePassword provisions pw at path unless a password is already stored
// there, and reports whether it did. The simulated board uses it with a TEST
// ONLY password; a real terminal is provisioned in the factory.
func EnsurePassword(path, pw string, iter int) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("console: password store: %w", err)
	}
	if err := SetPassword(path, pw, iter); err != nil {
		return false, err
	}
	return true, nil
}

// passwordOK is the minimum a new technician password must meet.
func passwordOK(pw string) error {
	if len(pw) < 8 {
		return fmt.Errorf("%w: use at least 8 characters", ErrWeakPassword)
	}
	var letters, digits bool
	for _, r := range pw {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r > ' ':
			letters = true
		}
	}
	if !letters || !digits {
		return fmt.Errorf("%w: mix digits and other characters", ErrWeakPassword)
	}
	return nil
}

// SetPassword hashes pw and stores it durably at path. The firmware's main
// package uses it to provision a terminal; the passwd command uses it too.
func SetPassword(path, pw string, iter int) error {
	if err := passwordOK(pw); err != nil {
		return err
	}
	h, err := HashPassword(pw, iter)
	if err != nil {
		return err
	}
	return durable.WriteFile(path, []byte(h+"\n"), 0o600)
}

// LockoutPolicy says how the console answers repeated login failures: the
// MaxFailures-th consecutive failure locks the console for BaseDelay, and
// each further one doubles the lock, up to MaxDelay. The counter survives a
// reboot and is reset by a successful login.
type LockoutPolicy struct {
	MaxFailures int           // default 3
	BaseDelay   time.Duration // default 30 s
	MaxDelay    time.Duration // default 1 h
}

func (p LockoutPolicy) withDefaults() LockoutPolicy {
	if p.MaxFailures <= 0 {
		p.MaxFailures = 3
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = 30 * time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = time.Hour
	}
	return p
}

// delay returns the lock after the n-th consecutive failure.
func (p LockoutPolicy) delay(n int) time.Duration {
	if n < p.MaxFailures {
		return 0
	}
	d := p.BaseDelay
	for i := p.MaxFailures; i < n; i++ {
		d *= 2
		if d >= p.MaxDelay {
			return p.MaxDelay
		}
	}
	return min(d, p.MaxDelay)
}

type lockState struct {
	Failures    int       `json:"failures"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// guard checks passwords and keeps the persisted lockout counter.
type guard struct {
	mu       sync.Mutex
	pwPath   string // "" when the hash is fixed in the config
	fixed    string
	lockPath string
	policy   LockoutPolicy
	iter     int
	now      func() time.Time
	// write stores the lockout state; durable.WriteFile, replaced by tests
	// to simulate a full disk.
	write func(path string, data []byte, perm fs.FileMode) error
}

func (g *guard) hash() (string, error) {
	if g.pwPath == "" {
		if g.fixed == "" {
			return "", ErrNoPassword
		}
		return g.fixed, nil
	}
	b, err := os.ReadFile(g.pwPath)
	if errors.Is(err, fs.ErrNotExist) {
		return "", ErrNoPassword
	}
	if err != nil {
		return "", fmt.Errorf("console: reading password store: %w", err)
	}
	return string(b), nil
}

func (g *guard) loadLock() (lockState, error) {
	var st lockState
	b, err := os.ReadFile(g.lockPath)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("console: reading lockout state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		// A corrupt counter must not unlock the console: treat it as locked
		// at the policy's maximum.
		return lockState{Failures: g.policy.MaxFailures + 30, LockedUntil: g.now().Add(g.policy.MaxDelay)}, nil
	}
	return st, nil
}

func (g *guard) saveLock(st lockState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("console: encoding lockout state: %w", err)
	}
	write := g.write
	if write == nil {
		write = durable.WriteFile
	}
	if err := write(g.lockPath, b, 0o600); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotRecord, err)
	}
	return nil
}

// lockedFor reports how long the console stays locked.
func (g *guard) lockedFor() (time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, err := g.loadLock()
	if err != nil {
		return 0, err
	}
	if d := st.LockedUntil.Sub(g.now()); d > 0 {
		return d, nil
	}
	return 0, nil
}

// attemptResult is the outcome of one password check.
type attemptResult struct {
	ok       bool
	failures int
	lockFor  time.Duration // set when this failure (or an earlier one) locked the console
}

// attempt checks pw, honouring and updating the lockout. While locked it
// does not check the password at all and returns ErrLocked. The attempt is
// written as a failure before the password is checked: when that write
// fails no password is checked (ErrCannotRecord), and a power cut during
// the check still counts it. A right password then clears the count.
func (g *guard) attempt(pw string) (attemptResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, err := g.loadLock()
	if err != nil {
		return attemptResult{}, fmt.Errorf("%w: %w", ErrCannotRecord, err)
	}
	now := g.now()
	if d := st.LockedUntil.Sub(now); d > 0 {
		return attemptResult{failures: st.Failures, lockFor: d}, ErrLocked
	}
	h, err := g.hash()
	if err != nil {
		return attemptResult{}, err
	}
	st.Failures++
	res := attemptResult{failures: st.Failures}
	if d := g.policy.delay(st.Failures); d > 0 {
		st.LockedUntil = now.Add(d)
		res.lockFor = d
	}
	if err := g.saveLock(st); err != nil {
		return attemptResult{}, err
	}
	ok, err := checkPassword(h, pw)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, ErrBadPassword
	}
	// The right password: the count goes back to zero. Should that write
	// fail, the login still stands, and the console stays on the safe
	// side (counted, perhaps locked) for the next one.
	g.saveLock(lockState{})
	return attemptResult{ok: true}, nil
}

// change replaces the password after checking the old one.
func (g *guard) change(old, pw string) error {
	if g.pwPath == "" {
		return errors.New("console: the password is fixed by the board configuration")
	}
	res, err := g.attempt(old)
	if err != nil {
		return err
	}
	if !res.ok {
		return ErrBadPassword
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return SetPassword(g.pwPath, pw, g.iter)
}

// isSet reports whether a password exists.
func (g *guard) isSet() bool {
	_, err := g.hash()
	return err == nil
}
