package fake

import (
	"testing"
	"time"
)

func TestClockSetAndAdvance(t *testing.T) {
	c := NewClock()
	if d := time.Since(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("a new clock is %v off", d)
	}
	at := time.Date(2026, 12, 3, 23, 59, 0, 0, time.Local)
	c.Set(at)
	if d := c.Now().Sub(at); d < 0 || d > time.Second {
		t.Fatalf("set: %v", c.Now())
	}
	c.Advance(2 * time.Minute)
	if y, m, d := c.Now().Date(); y != 2026 || m != 12 || d != 4 {
		t.Fatalf("advanced past midnight: %v", c.Now())
	}
}
