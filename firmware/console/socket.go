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

// ListenUnix creates the console's unix socket at path with mode 0600, so
// that only the terminal's own user can attach. A stale socket file left by a
// crash is replaced. Serve connections on it with ServeListener.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("console: removing stale socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("console: listening: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("console: socket permissions: %w", err)
	}
	return ln, nil
}

// ServeListener serves one console session per accepted connection (several
// may run at once) until ctx is done, then closes ln and the sessions and
// returns ctx's error. On the simulated board the firmware serves its
// ListenUnix socket here and a second process attaches with Attach.
func (c *Console) ServeListener(ctx context.Context, ln net.Listener) error {
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
