// Package emuctl is what the device emulators' commands share: a stable
// link to the pseudo-terminal an emulator opened, and a unix control socket
// that serves each connection with the emulator's own control protocol.
//
// It knows nothing of any device.
package emuctl

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
)

// Link points path at the emulator's pty (replacing whatever was there) and
// returns a function that removes the link.
func Link(path, pty string) (func(), error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("emuctl: %w", err)
	}
	if err := os.Symlink(pty, path); err != nil {
		return nil, fmt.Errorf("emuctl: %w", err)
	}
	return func() { os.Remove(path) }, nil
}

// Control listens on the unix socket path and serves every connection with
// serve, each on its own goroutine, until the returned close function is
// called.
func Control(path string, serve func(net.Conn) error, log *slog.Logger) (func(), error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("emuctl: %w", err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("emuctl: %w", err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := serve(c); err != nil {
					log.Warn("control connection", "err", err)
				}
			}()
		}
	}()
	return func() { l.Close() }, nil
}
