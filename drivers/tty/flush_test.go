package tty

import (
	"context"
	"io"
	"testing"
	"time"
)

// TestFlushDropsTypeAhead checks that keys queued or half-decoded before a
// Flush are gone after it.
func TestFlushDropsTypeAhead(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	term := New(struct {
		io.Reader
		io.Writer
	}{r, io.Discard}, Config{})
	// Queue decoded keys and a half escape sequence directly, as readLoop
	// and Key would leave them.
	term.kmu.Lock()
	term.keys = append(term.keys, '0', '0')
	term.dec.Feed(0x1b)
	term.kmu.Unlock()
	term.bytes <- '0'

	term.Flush()
	go w.Write([]byte("9"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k, err := term.Key(ctx); err != nil || k != '9' {
		t.Fatalf("Key after Flush = %v, %v; want 9", k, err)
	}
}
