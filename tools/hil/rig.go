package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"kpos/drivers/tty"
	"kpos/hal"
	"kpos/tools/cardsim"
	"kpos/tools/cardsim/pcsclab"
	"kpos/tools/hostsim"
	"kpos/tools/modememu"
	"kpos/tools/printeremu"
	"kpos/tools/scanneremu"
	"kpos/tools/scenario"
)

// The serial number of boards/hil.toml, bound at the host simulator as the
// test terminal's K code says.
const hilSerial = "KPOS-SIM-0001"

// rig is the hil board's world: a private pcscd with the vpcd reader
// (cards from tools/cardsim plug into it), the printer, scanner and modem
// emulators on pseudo-terminals, the host simulator behind the modem's TCP
// bridge, and the keypad/display pty the runner drives. kpos runs with
// -board hil and a board file naming this rig's paths.
type rig struct {
	root, dir, data string
	bin             binary
	pcsc            *pcsclab.Daemon
	printer         *printeremu.Emulator
	scanner         *scanneremu.Emulator
	modem           *modememu.Emulator
	ttyMaster       *os.File
	ttySlave        *os.File
	host            *hostsim.Server
	hostStop        context.CancelFunc
	hostDone        chan error
	boardFile       string
	log             *os.File

	mu      sync.Mutex
	screens []hal.Screen
	base    int // screens before this one are behind the scenario (see parseRigScript)
	changed chan struct{}

	cardStop context.CancelFunc // the card in the reader, nil when none
	cardDone chan error

	kpos     *exec.Cmd
	kposDone chan error
}

func startRig(ctx context.Context, root, dir string, b binary) (_ *rig, err error) {
	r := &rig{root: root, dir: dir, data: filepath.Join(dir, "data"), bin: b, changed: make(chan struct{})}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if err := os.MkdirAll(r.data, 0o700); err != nil {
		return nil, err
	}
	if r.log, err = os.Create(filepath.Join(dir, "rig.log")); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if r.pcsc, err = pcsclab.Start(sctx, filepath.Join(dir, "pcscd")); err != nil {
		return nil, fmt.Errorf("hil: pcscd: %w", err)
	}
	if r.printer, err = printeremu.New(printeremu.Options{Columns: 32}); err != nil {
		return nil, err
	}
	if r.scanner, err = scanneremu.New(scanneremu.Options{}); err != nil {
		return nil, err
	}
	if r.modem, err = modememu.New(modememu.Config{Log: slog.New(slog.NewTextHandler(r.log, nil)).With("component", "modememu")}); err != nil {
		return nil, err
	}
	if r.ttyMaster, r.ttySlave, err = pty.Open(); err != nil {
		return nil, fmt.Errorf("hil: keypad/display pty: %w", err)
	}
	if _, err := term.MakeRaw(int(r.ttySlave.Fd())); err != nil {
		return nil, fmt.Errorf("hil: keypad/display pty: %w", err)
	}
	go r.readScreens(tty.NewScreenReader(r.ttyMaster, false))

	if r.host, err = hostsim.New(hostsim.Config{DataDir: filepath.Join(root, "testdata", "host"),
		Logger: slog.New(slog.NewTextHandler(r.log, nil)).With("component", "hostsim")}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hctx, stop := context.WithCancel(context.Background())
	r.hostStop, r.hostDone = stop, make(chan error, 1)
	go func() { r.hostDone <- r.host.Serve(hctx, ln) }()

	if r.boardFile, err = r.writeBoardFile(ln.Addr().String()); err != nil {
		return nil, err
	}
	return r, nil
}

// writeBoardFile writes boards/hil.toml with this rig's device paths and
// host address in place of /run/kpos-hil and the default host.
func (r *rig) writeBoardFile(hostAddr string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(r.root, "boards", "hil.toml"))
	if err != nil {
		return "", err
	}
	text := string(raw)
	for dev, path := range map[string]string{"printer": r.printer.Path(), "scanner": r.scanner.Path(),
		"modem": r.modem.Path(), "tty": r.ttySlave.Name()} {
		text = strings.ReplaceAll(text, `"/run/kpos-hil/`+dev+`"`, fmt.Sprintf("%q", path))
	}
	text = regexp.MustCompile(`(?m)^host = "[^"]*"`).ReplaceAllString(text, fmt.Sprintf("host = %q", hostAddr))
	if strings.Contains(text, "/run/kpos-hil/") {
		return "", errors.New("hil: boards/hil.toml names a device this rig does not emulate")
	}
	path := filepath.Join(r.dir, "board.toml")
	return path, os.WriteFile(path, []byte(text), 0o600)
}

func (r *rig) readScreens(sr *tty.ScreenReader) {
	for {
		s, err := sr.Next(context.Background())
		if err != nil {
			return
		}
		fmt.Fprintf(r.log, "screen %s\n", strings.ReplaceAll(s.String(), "\n", " | "))
		r.mu.Lock()
		r.screens = append(r.screens, s)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// startKpos starts the firmware on the hil board.
func (r *rig) startKpos() error {
	cmd := r.bin.command(context.Background(), r.root, "-board", "hil", "-board-file", r.boardFile,
		"-data", r.data, "-params", filepath.Join(r.root, "testdata"))
	cmd.Env = append(os.Environ(), "PCSCLITE_CSOCK_NAME="+r.pcsc.Socket)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hil: start kpos: %w", err)
	}
	r.kpos, r.kposDone = cmd, make(chan error, 1)
	go func() { r.kposDone <- cmd.Wait() }()
	return nil
}

// stopKpos cuts the firmware's power.
func (r *rig) stopKpos() {
	if r.kpos == nil {
		return
	}
	_ = r.kpos.Process.Signal(syscall.SIGKILL)
	<-r.kposDone
	r.kpos = nil
}

func (r *rig) close() {
	r.stopKpos()
	if r.printer != nil {
		// What the printer printed is an artefact the leak check reads.
		var b strings.Builder
		for i, p := range r.printer.Pages() {
			fmt.Fprintf(&b, "--- page %d (cut %v, interrupted %v)\n%s\n", i+1, p.Cut, p.Interrupted, p.Text(32))
		}
		_ = os.WriteFile(filepath.Join(r.dir, "receipts.txt"), []byte(b.String()), 0o600)
	}
	if r.cardStop != nil {
		r.cardStop()
		<-r.cardDone
	}
	if r.hostStop != nil {
		r.hostStop()
		<-r.hostDone
	}
	for _, c := range []io.Closer{r.printer, r.scanner, r.modem, r.ttyMaster, r.ttySlave, r.pcsc} {
		if c != nil && !isNilCloser(c) {
			_ = c.Close()
		}
	}
	if r.log != nil {
		r.log.Close()
	}
}

// isNilCloser reports a typed nil behind the interface.
func isNilCloser(c io.Closer) bool {
	switch v := c.(type) {
	case *printeremu.Emulator:
		return v == nil
	case *scanneremu.Emulator:
		return v == nil
	case *modememu.Emulator:
		return v == nil
	case *os.File:
		return v == nil
	case *pcsclab.Daemon:
		return v == nil
	}
	return false
}

// hilTarget lets a scenario drive the hil board from outside, as a person
// at the counter would: keys and PIN on the keypad pty, cards into the
// vpcd reader, codes to the scanner emulator; and look at the display pty,
// the printer emulator and the host simulator.
type hilTarget struct{ r *rig }

var _ scenario.Target = hilTarget{}

// keyBytes are what the keypad sends for each key (drivers/tty's decoder).
var keyBytes = map[hal.Key]string{hal.KeyEnter: "\r", hal.KeyCancel: "x", hal.KeyClear: "c", hal.KeyMenu: "m",
	hal.KeyUp: "u", hal.KeyDown: "d", hal.KeyF1: "f", hal.KeyDot: "."}

func (t hilTarget) Press(ctx context.Context, keys ...hal.Key) error {
	var b strings.Builder
	for _, k := range keys {
		if k.IsDigit() {
			b.WriteByte(byte(k))
			continue
		}
		s, ok := keyBytes[k]
		if !ok {
			return fmt.Errorf("hil: no keypad byte for key %v", k)
		}
		b.WriteString(s)
	}
	// One key at a time, as fingers do, so the decoder never sees a burst.
	for _, c := range []byte(b.String()) {
		if _, err := t.r.ttyMaster.Write([]byte{c}); err != nil {
			return fmt.Errorf("hil: keypad: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func (t hilTarget) Present(ctx context.Context, how, name string) error {
	slot, iface := 0, hal.Contact
	switch how {
	case "insert":
	case "tap":
		slot, iface = 1, hal.Contactless
	default:
		return fmt.Errorf("hil: the hil board has no magnetic stripe reader (%s)", how)
	}
	if t.r.cardStop != nil {
		return errors.New("hil: a card is in the reader already")
	}
	p, err := cardsim.LoadProfile(filepath.Join(t.r.root, "testdata", "cards", name+".toml"))
	if err != nil {
		return err
	}
	card, err := cardsim.New(p, iface)
	if err != nil {
		return err
	}
	cctx, stop := context.WithCancel(context.Background())
	t.r.cardStop, t.r.cardDone = stop, make(chan error, 1)
	go func() { t.r.cardDone <- card.ServeVPCD(cctx, t.r.pcsc.VPCDAddr(slot)) }()
	return nil
}

func (t hilTarget) Remove(ctx context.Context) error {
	if t.r.cardStop == nil {
		return nil
	}
	t.r.cardStop()
	<-t.r.cardDone
	t.r.cardStop = nil
	return nil
}

// EnterPIN waits for the PIN pad's own prompt (drivers/pinpad shows the
// screen "pin" once it reads keys; a digit typed before it would reach the
// counter's keypad instead), then types the PIN and ENTER as the customer
// would.
func (t hilTarget) EnterPIN(ctx context.Context, pin string) error {
	if err := t.waitScreen(ctx, "pin", 10*time.Duration(t.r.bin.slow)*time.Second); err != nil {
		return err
	}
	keys := make([]hal.Key, 0, len(pin)+1)
	for _, c := range pin {
		keys = append(keys, hal.Key(c))
	}
	return t.Press(ctx, append(keys, hal.KeyEnter)...)
}

func (t hilTarget) CancelPIN(ctx context.Context) error {
	if err := t.waitScreen(ctx, "pin", 10*time.Duration(t.r.bin.slow)*time.Second); err != nil {
		return err
	}
	return t.Press(ctx, hal.KeyCancel)
}

// waitScreen waits until the latest screen has id.
func (t hilTarget) waitScreen(ctx context.Context, id string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		t.r.mu.Lock()
		n, ch := len(t.r.screens), t.r.changed
		last := ""
		if n > 0 {
			last = t.r.screens[n-1].ID
		}
		t.r.mu.Unlock()
		if last == id {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("hil: the screen %q was not shown within %v (last %q)", id, within, last)
		case <-ch:
		}
	}
}

func (t hilTarget) Scan(ctx context.Context, text string) error { return t.r.scanner.Show(text) }

func (t hilTarget) Screens() []hal.Screen {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return append([]hal.Screen(nil), t.r.screens[t.r.base:]...)
}

func (t hilTarget) WaitScreens(ctx context.Context, n int) error {
	for {
		t.r.mu.Lock()
		have, ch := len(t.r.screens)-t.r.base, t.r.changed
		t.r.mu.Unlock()
		if have > n {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

func (t hilTarget) Receipts() string {
	var b strings.Builder
	for _, p := range t.r.printer.Pages() {
		b.WriteString(p.Text(32))
	}
	return b.String()
}

// ErrJournalLocked: the running firmware holds its journal; the hil board
// has no way to look inside while it runs.
var ErrJournalLocked = errors.New("hil: the journal is held by the running firmware on the hil board")

func (t hilTarget) JournalState(ctx context.Context, trace string) (string, error) {
	return "", ErrJournalLocked
}

func (t hilTarget) HostCount(ctx context.Context, kind, state string) (int, error) {
	n := 0
	for _, r := range t.r.host.Records() {
		if r.Type == "fault" || (r.Type != kind && !(r.Type == "authorization" && r.Kind == kind)) {
			continue
		}
		switch {
		case state == "approved" && r.Code != "00":
			continue
		case state == "declined" && (r.Code == "00" || r.Code == ""):
			continue
		case strings.HasPrefix(state, "reason=") && r.Reason != strings.TrimPrefix(state, "reason="):
			continue
		}
		n++
	}
	return n, nil
}

// Host understands "otp [SERIAL]" (the one-time code the bank sent by SMS
// typed on the keypad), "fault KIND [sticky]" and "fault clear".
func (t hilTarget) Host(ctx context.Context, command string) error {
	w := strings.Fields(command)
	switch {
	case len(w) >= 1 && w[0] == "otp":
		serial := hilSerial
		if len(w) > 1 {
			serial = w[1]
		}
		otp, ok := t.r.host.LastOTP(serial)
		if !ok {
			return fmt.Errorf("hil: host otp: no activation in progress for %s", serial)
		}
		keys := make([]hal.Key, 0, len(otp))
		for _, c := range otp {
			keys = append(keys, hal.Key(c))
		}
		return t.Press(ctx, keys...)
	case len(w) == 2 && w[0] == "fault" && w[1] == "clear":
		t.r.host.ClearFaults()
		return nil
	case len(w) >= 2 && w[0] == "fault":
		k, err := hostsim.ParseFaultKind(w[1])
		if err != nil {
			return err
		}
		f := hostsim.Fault{Kind: k}
		for _, a := range w[2:] {
			switch {
			case a == "sticky":
				f.Sticky = true
			case strings.HasPrefix(a, "mti="):
				f.MTI = strings.TrimPrefix(a, "mti=")
			default:
				if f.Delay, err = time.ParseDuration(a); err != nil {
					return fmt.Errorf("hil: host fault: bad argument %q", a)
				}
			}
		}
		t.r.host.InjectFault(f)
		return nil
	}
	return fmt.Errorf("hil: host command %q not understood on the hil board", command)
}

// PowerCut kills the firmware and starts it again on the same data.
func (t hilTarget) PowerCut(ctx context.Context) error {
	t.r.stopKpos()
	return t.r.startKpos()
}

// The rig actions a hil scenario may take between its steps.
var rigActions = map[string]func(r *rig) error{
	"printer paper-out":  func(r *rig) error { r.printer.SetPaperOut(true); return nil },
	"printer paper-in":   func(r *rig) error { r.printer.SetPaperOut(false); return nil },
	"printer cover-open": func(r *rig) error { r.printer.SetCoverOpen(true); return nil },
	"printer cover-shut": func(r *rig) error { r.printer.SetCoverOpen(false); return nil },
	"modem network-down": func(r *rig) error { r.modem.SetNetwork(false); return nil },
	"modem network-up":   func(r *rig) error { r.modem.SetNetwork(true); return nil },
	"modem drop-sockets": func(r *rig) error { r.modem.DropSockets(); return nil },
	"scanner garbage":    func(r *rig) error { return r.scanner.SendRaw([]byte("\x00\x1b\xff\xfe#~\r\n")) },
}

func knownRigAction(a string) bool { _, ok := rigActions[a]; return ok }

// act takes a rig action.
func (r *rig) act(action string) error {
	f, ok := rigActions[action]
	if !ok {
		return fmt.Errorf("hil: unknown rig action %q", action)
	}
	return f(r)
}
