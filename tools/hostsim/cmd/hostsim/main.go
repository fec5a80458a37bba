// Command hostsim runs the acquirer host simulator as its own program, for
// the hardware-in-the-loop suite and demos: the China UnionPay POS dialect on
// a TCP port, and an HTTP control interface (records, one-time codes, faults)
// on another. Both listen on loopback unless told otherwise.
//
//	hostsim -listen 127.0.0.1:5800 -control 127.0.0.1:5801 -data testdata/host -capk testdata/host/capk.toml \
//	    -icparams testdata/emv/terminal.toml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"kpos/firmware/emv/emvconfig"
	"kpos/tools/hostsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hostsim:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:5800", "address of the ISO 8583 port")
	control := flag.String("control", "127.0.0.1:5801", "address of the HTTP control interface (empty: none)")
	data := flag.String("data", "testdata/host", "directory with issuers.toml, cards.toml and terminals.toml")
	capk := flag.String("capk", "", "comma-separated CA public key files ([[capk]] TOML) for CA-key download")
	icp := flag.String("icparams", "", "terminal parameter file (testdata/emv/terminal.toml) whose [[aid]] tables the IC parameter download serves")
	verbose := flag.Bool("v", false, "log every message")
	flag.Parse()

	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg := hostsim.Config{DataDir: *data, Logger: log}
	if *capk != "" {
		keys, err := hostsim.LoadCAKeys(strings.Split(*capk, ",")...)
		if err != nil {
			return err
		}
		cfg.CAKeys = keys
	}
	if *icp != "" {
		ec, err := emvconfig.LoadConfig(*icp)
		if err != nil {
			return err
		}
		cfg.ICParams = hostsim.ICParamsOf(ec)
	}
	srv, err := hostsim.New(cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	log.Info("hostsim listening", "iso8583", ln.Addr().String(), "control", *control)
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, ln) }()
	var hs *http.Server
	if *control != "" {
		cl, err := net.Listen("tcp", *control)
		if err != nil {
			return err
		}
		hs = &http.Server{Handler: srv.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := hs.Serve(cl); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if hs != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}
	stop()
	return err
}
