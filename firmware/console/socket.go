package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"

	"golang.org/x/term"
)

// ListenUnix serves console sessions on a unix socket at path (mode 0600, so
// only the terminal's own user can attach) until ctx is done. Each
// connection is one session; several may run at once. A stale socket file
// left by a crash is replaced. On the simulated board the firmware serves
// here and a second process attaches with Attach (or socat).
func (c *Console) ListenUnix(ctx context.Context, path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("console: removing stale socket: %w", err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("console: listening: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("console: socket permissions: %w", err)
	}
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("console: accepting: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			unblock := context.AfterFunc(ctx, func() { conn.Close() })
			defer unblock()
			c.Serve(ctx, conn)
		}()
	}
}

// Attach connects the local terminal (in, out) to a console socket: it puts
// in into raw mode when it is a terminal, copies both ways, and restores the
// terminal when the session ends (exit, or the firmware stops) or ctx is
// done. It is the client side for "kpos console" on the simulated board.
func Attach(ctx context.Context, path string, in *os.File, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return fmt.Errorf("console: attaching: %w", err)
	}
	defer conn.Close()
	if term.IsTerminal(int(in.Fd())) {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return fmt.Errorf("console: raw mode: %w", err)
		}
		defer term.Restore(int(in.Fd()), old)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go func() {
		// Ends when the connection closes (its writes fail) or stdin ends.
		io.Copy(conn, in)
		if uc, ok := conn.(*net.UnixConn); ok {
			uc.CloseWrite()
		}
	}()
	_, err = io.Copy(out, conn)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("console: session: %w", err)
	}
	return nil
}
