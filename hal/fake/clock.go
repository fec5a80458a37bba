package fake

import (
	"sync"
	"time"
)

// Clock is the simulated board's clock: it runs with the system clock from
// wherever it was last set, so that a scenario can put the whole terminal
// (firmware, host simulator, scheduler) just before midnight or a day
// later without waiting. Deadlines and timeouts still run on real time.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// NewClock returns a clock showing the system time.
func NewClock() *Clock { return &Clock{} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set puts the clock at t; it runs on from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset = time.Until(t)
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
