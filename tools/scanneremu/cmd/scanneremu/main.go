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
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"kpos/tools/emuctl"
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
		remove, err := emuctl.Link(link, emu.Path())
		if err != nil {
			return err
		}
		defer remove()
	}
	if control != "" {
		stop, err := emuctl.Control(control, func(c net.Conn) error { return scanneremu.Serve(emu, c) }, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	go func() {
		if err := scanneremu.Serve(emu, stdio{os.Stdin, os.Stdout}); err != nil {
			log.Warn("standard input", "err", err)
		}
	}()
	<-ctx.Done()
	return nil
}
