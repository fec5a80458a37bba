package console

import (
	"fmt"
	"sync"
	"time"
)

// attemptLog rate-limits the audit of failed logins. Anyone who reaches
// the console can type wrong passwords (or nothing) as fast as the line
// takes them; one audit line per attempt would let them fill the disk. So
// the first failure of a burst is written at once, and the rest of the
// burst is counted and written as one summary line: when the burst ends
// with a login, at the first failure after a quiet gap, or when the
// session ends. The lockout counter itself is written for every attempt
// (guard.attempt), so the summary loses nothing the lockout needs.
type attemptLog struct {
	gap time.Duration // quiet time that ends a burst

	mu               sync.Mutex
	open             bool
	first, last      time.Time
	nWrong, nRefused int // in the burst, after its first line
}

// failed records a wrong password (n consecutive failures).
func (a *attemptLog) failed(s *session, n int) {
	if a.start(s) {
		s.audit("login", nil, fmt.Sprintf("failed (%d consecutive)", n))
		return
	}
	a.mu.Lock()
	a.nWrong++
	a.mu.Unlock()
}

// refused records an attempt made while the console was locked.
func (a *attemptLog) refused(s *session) {
	if a.start(s) {
		s.audit("login", nil, "refused: locked")
		return
	}
	a.mu.Lock()
	a.nRefused++
	a.mu.Unlock()
}

// start reports whether this attempt opens a new burst (and must be
// written); a burst that ended in a quiet gap is summarised first.
func (a *attemptLog) start(s *session) bool {
	now := s.c.cfg.Now()
	a.mu.Lock()
	if a.open && now.Sub(a.last) < a.gap {
		a.last = now
		a.mu.Unlock()
		return false
	}
	a.mu.Unlock()
	a.flush(s)
	a.mu.Lock()
	a.open, a.first, a.last = true, now, now
	a.mu.Unlock()
	return true
}

// flush writes the summary of the burst under way, if it has more than
// its first attempt, and closes it.
func (a *attemptLog) flush(s *session) {
	a.mu.Lock()
	open, wrong, refused, first, last := a.open, a.nWrong, a.nRefused, a.first, a.last
	a.open, a.nWrong, a.nRefused = false, 0, 0
	a.mu.Unlock()
	if !open || wrong+refused == 0 {
		return
	}
	s.audit("login", nil, fmt.Sprintf("%d more failed attempts (%d wrong passwords, %d refused while locked) from %s to %s",
		wrong+refused, wrong, refused, first.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339)))
}
