package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// techPassword is the technician password vmtest provisions on the data
// partition (TEST ONLY: it guards a throwaway VM's console).
const techPassword = "vm-tech-2026"

// consoleLine is the technician console's serial line (the guest's hvc4)
// seen from the host: everything the console wrote, and a way to type.
type consoleLine struct {
	master, slave *os.File
	mu            sync.Mutex
	out           strings.Builder
	mark          int // output before this offset belongs to earlier commands
	changed       chan struct{}
}

func newConsoleLine(transcript *os.File) (*consoleLine, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("vmtest: console pty: %w", err)
	}
	if _, err := term.MakeRaw(int(s.Fd())); err != nil {
		return nil, err
	}
	c := &consoleLine{master: m, slave: s, changed: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			c.mu.Lock()
			c.out.Write(buf[:n])
			if transcript != nil {
				transcript.Write(buf[:n])
			}
			close(c.changed)
			c.changed = make(chan struct{})
			c.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return c, nil
}

func (c *consoleLine) close() {
	c.master.Close()
	c.slave.Close()
}

// reset forgets what was written so far (a new boot).
func (c *consoleLine) reset() {
	c.mu.Lock()
	c.mark = c.out.Len()
	c.mu.Unlock()
}

// waitFor waits until the output since the mark contains want and moves
// the mark past it; it returns the output up to and including want.
func (c *consoleLine) waitFor(ctx context.Context, want string, within time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		c.mu.Lock()
		all := c.out.String()[c.mark:]
		ch := c.changed
		if i := strings.Index(all, want); i >= 0 {
			c.mark += i + len(want)
			c.mu.Unlock()
			return all[:i+len(want)], nil
		}
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			tail := all
			if len(tail) > 300 {
				tail = tail[len(tail)-300:]
			}
			return all, fmt.Errorf("vmtest: console: %q not seen within %v (last: %q)", want, within, tail)
		case <-ch:
		}
	}
}

func (c *consoleLine) typeLine(line string) error {
	for _, b := range []byte(line + "\r") {
		if _, err := c.master.Write([]byte{b}); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// login logs in and elevates (the prompt turns to "kpos-vm# ").
func (c *consoleLine) login(ctx context.Context) error {
	if _, err := c.waitFor(ctx, "Password: ", 2*time.Minute); err != nil {
		if err := c.typeLine(""); err != nil {
			return err
		}
		if _, err := c.waitFor(ctx, "Password: ", 30*time.Second); err != nil {
			return err
		}
	}
	if err := c.typeLine(techPassword); err != nil {
		return err
	}
	if _, err := c.waitFor(ctx, "kpos-vm> ", time.Minute); err != nil {
		return err
	}
	if err := c.typeLine("priv"); err != nil {
		return err
	}
	if _, err := c.waitFor(ctx, "Password: ", time.Minute); err != nil {
		return err
	}
	if err := c.typeLine(techPassword); err != nil {
		return err
	}
	_, err := c.waitFor(ctx, "kpos-vm# ", time.Minute)
	return err
}

// run types a command and returns its output, up to the next prompt.
func (c *consoleLine) run(ctx context.Context, cmd string, within time.Duration) (string, error) {
	if err := c.typeLine(cmd); err != nil {
		return "", err
	}
	return c.waitFor(ctx, "kpos-vm# ", within)
}
