package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"kpos/firmware/console"
	"kpos/firmware/console/service"
	"kpos/firmware/durable"
	"kpos/firmware/logfile"
	"kpos/firmware/update"
)

// serveConsole starts the technician console: on the unix socket path when
// one is given, and on the board's serial console when it has one.
func (a *app) serveConsole(ctx context.Context, path string, ring *logRing, perf *perfBook) error {
	b := a.board
	if path == "" && b.Console == nil {
		return nil
	}
	pw := filepath.Join(b.DataDir, "console.pw")
	// A simulated board starts with its test password; real boards are
	// provisioned with their own.
	if b.Sim != nil {
		technician, _ := b.Sim.TestPasswords()
		if _, err := console.EnsurePassword(pw, technician, 0); err != nil {
			return err
		}
	}
	audit, err := logfile.Open(filepath.Join(b.DataDir, "console-audit.log"), logConfig())
	if err != nil {
		return err
	}
	// Each record is synced as it is written (console); the file's name
	// must be durable too.
	if err := durable.SyncDir(b.DataDir); err != nil {
		audit.Close()
		return err
	}
	svc := a.consoleServices(ring, perf)
	svc.Update = a.firmware
	c := console.New(console.Config{PasswordPath: pw, Audit: audit, Hostname: "kpos-" + b.Name},
		service.Commands(svc, service.Options{FileRoot: b.DataDir})...)
	if path != "" {
		ln, err := console.ListenUnix(path)
		if err != nil {
			audit.Close()
			return err
		}
		go func() {
			if err := c.ServeListener(ctx, ln); err != nil && ctx.Err() == nil {
				a.log.Error("console socket", "err", err)
			}
		}()
	}
	if b.Console != nil {
		go serveConsolePort(ctx, c, b.Console, a.log)
	}
	return nil
}

// serveConsolePort serves the board's serial console until ctx ends: one
// reader for the port's whole life (console.ServePort), so that nothing
// typed between two sessions is lost. A port that fails is served again
// after a pause.
func serveConsolePort(ctx context.Context, c *console.Console, port io.ReadWriter, log *slog.Logger) {
	for ctx.Err() == nil {
		err := c.ServePort(ctx, port)
		if ctx.Err() != nil {
			return
		}
		log.Warn("console port", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// bootFirmware tells the updater about this start: a new image on trial
// has its boots counted, and one that failed its health check (or never
// passed it) is rolled back here.
func (a *app) bootFirmware() {
	u, err := a.updater()
	if err != nil {
		a.log.Warn("firmware updates unavailable", "err", err)
		return
	}
	info, err := u.Boot()
	if err != nil {
		a.log.Error("firmware boot record", "err", err)
		return
	}
	a.firmware = u
	switch {
	case info.RolledBack:
		a.log.Warn("firmware rolled back", "slot", info.Slot, "version", info.Version, "reason", info.Reason)
	case info.Trial:
		a.log.Info("firmware on trial", "slot", info.Slot, "version", info.Version, "boots", info.Boots)
	}
}

// confirmFirmware reports a trial image healthy once the terminal has
// booted and signed on, or failed (rolled back at the next start) when it
// could not.
func (a *app) confirmFirmware(ctx context.Context, inst *instance) {
	if a.firmware == nil {
		return
	}
	st, err := a.firmware.Status()
	if err != nil || !st.Trial {
		return
	}
	err = a.firmware.Confirm(ctx, func(context.Context) error { return inst.bootErr })
	a.log.Info("firmware health check", "version", st.Active, "err", err)
}

// errNoFirmwareKey: the board names no key that firmware images must be
// signed with, so it takes none.
var errNoFirmwareKey = errors.New("kpos: the board names no firmware-signing key ([firmware] key)")

// updater builds the A/B firmware updater; the signing key's public half is
// the file the board names (the lab's test key only on the simulated and
// test boards).
func (a *app) updater() (*update.Updater, error) {
	path := a.board.FirmwareKey
	if path == "" {
		return nil, errNoFirmwareKey
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(a.board.ParamsDir, path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := update.ParsePublicKey(raw)
	if err != nil {
		return nil, err
	}
	cfg := update.Config{SlotDir: filepath.Join(a.board.DataDir, "firmware"), PublicKey: ed25519.PublicKey(pub),
		CurrentVersion: version, Board: a.board.Name}
	if s := a.board.FirmwareSlots; len(s) == 2 {
		// the image's root partitions; the boot step mounts the active one
		cfg.SlotA, cfg.SlotB, cfg.Partitions = s[0], s[1], true
		cfg.StatePath = filepath.Join(cfg.SlotDir, "update-state.json")
	}
	return update.New(cfg)
}

// attachConsole is `kpos console PATH`: a technician session on a running
// terminal's console socket, in this window.
func attachConsole(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kpos console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: kpos console SOCKET (the path given to -console)")
		return 2
	}
	if err := console.Attach(context.Background(), fs.Arg(0), os.Stdin, stdout); err != nil {
		fmt.Fprintln(stderr, "kpos console:", err)
		return 1
	}
	return 0
}
