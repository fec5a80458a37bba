package serialscan

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type line struct {
	*io.PipeReader
	io.Writer
}

// TestStaleCodesDropped checks that in continuous mode a code read long
// before Scan (a customer waving a phone before the amount was entered) is
// not taken, and a fresh one is.
func TestStaleCodesDropped(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	clk := &clock{now: time.Unix(1e9, 0)}
	s := newScanner(line{r, io.Discard}, Config{MaxAge: time.Second}, clk.Now)

	if _, err := w.Write([]byte("old\r\n")); err != nil {
		t.Fatal(err)
	}
	select { // the reader has queued "old"
	case <-s.signal:
	case <-time.After(2 * time.Second):
		t.Fatal("old code never queued")
	}
	clk.Add(5 * time.Second)
	if _, err := w.Write([]byte("new\r\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := s.Scan(ctx)
	if err != nil || got != "new" {
		t.Fatalf("Scan = %q, %v; want the fresh code", got, err)
	}
}
