// Command scanneremu runs the serial QR scanner emulator on a pseudo-terminal.
// It prints the pty path, optionally links it to a fixed path the board file
// names, and takes control commands (see scanneremu.Control) on standard input
// and, with -control, on a Unix socket.
//
//	scanneremu -trigger -link /tmp/kpos-scanner -control /tmp/kpos-scanner.ctl
//	echo "show 134567890123456789" | socat - UNIX-CONNECT:/tmp/kpos-scanner.ctl
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"kpos/tools/scanneremu"
)

func main() {
	trigger := flag.Bool("trigger", false, "trigger mode (codes are sent only while a read is triggered)")
	link := flag.String("link", "", "make this path a symbolic link to the pty")
	control := flag.String("control", "", "listen for control commands on this Unix socket")
	flag.Parse()
	if err := run(*trigger, *link, *control); err != nil {
		fmt.Fprintln(os.Stderr, "scanneremu:", err)
		os.Exit(1)
	}
}

type stdio struct {
	io.Reader
	io.Writer
}

func run(trigger bool, link, control string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	emu, err := scanneremu.New(scanneremu.Options{Trigger: trigger})
	if err != nil {
		return err
	}
	defer emu.Close()
	fmt.Println(emu.Path())
	if link != "" {
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := os.Symlink(emu.Path(), link); err != nil {
			return err
		}
		defer os.Remove(link)
	}
	if control != "" {
		if err := os.Remove(control); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		l, err := net.Listen("unix", control)
		if err != nil {
			return err
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					if err := scanneremu.Serve(emu, c); err != nil {
						log.Warn("control connection", "err", err)
					}
				}()
			}
		}()
	}
	go func() {
		if err := scanneremu.Serve(emu, stdio{os.Stdin, os.Stdout}); err != nil {
			log.Warn("standard input", "err", err)
		}
	}()
	<-ctx.Done()
	return nil
}
