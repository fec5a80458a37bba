package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"kpos/drivers/tty"
	"kpos/hal"
	"kpos/tools/cardsim"
	"kpos/tools/hostsim"
	"kpos/tools/modememu"
	"kpos/tools/printeremu"
	"kpos/tools/scanneremu"
	"kpos/tools/scenario"
)

// The serial number of boards/vm.toml, bound at the host simulator as the
// test terminal's K code says.
const vmSerial = "KPOS-SIM-0001"

// rig is the vm board's world on the host: the printer, scanner and modem
// emulators and the keypad/display on pseudo-terminals that qemu wires to the
// guest's virtio consoles, the host simulator the modem's bridge reaches,
// and the ports qemu forwards to the guest's vpcd reader. The image's disk
// file outlives every qemu, as a device's flash outlives a power cut.
type rig struct {
	root, dir string
	image     string // build/image: vmlinuz, initramfs.gz
	disk      string // this run's copy of kpos-armv7.img
	printer   *printeremu.Emulator
	scanner   *scanneremu.Emulator
	modem     *modememu.Emulator
	ttyMaster *os.File
	ttySlave  *os.File
	con       *consoleLine
	media     string // an update medium (ext4 image) attached as a second disk, "" for none
	host      *hostsim.Server
	hostAddr  string
	hostStop  context.CancelFunc
	hostDone  chan error
	vpcdPorts [2]int
	log       *os.File

	mu      sync.Mutex
	screens []hal.Screen
	at      []time.Time // when each screen arrived
	base    int         // screens before this one belong to earlier boots or steps
	changed chan struct{}

	cardStop context.CancelFunc
	cardDone chan error

	qemu     *exec.Cmd
	qemuDone chan error
	boots    int
	extra    string // an extra initramfs archive for this boot, "" for none
	cmdline  string // extra kernel arguments for this boot
}

func startRig(ctx context.Context, root, dir, image string) (_ *rig, err error) {
	r := &rig{root: root, dir: dir, image: image, changed: make(chan struct{})}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.log, err = os.Create(filepath.Join(dir, "rig.log")); err != nil {
		return nil, err
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
		return nil, fmt.Errorf("vmtest: keypad/display pty: %w", err)
	}
	if _, err := term.MakeRaw(int(r.ttySlave.Fd())); err != nil {
		return nil, fmt.Errorf("vmtest: keypad/display pty: %w", err)
	}
	go r.readScreens(tty.NewScreenReader(r.ttyMaster, false))
	transcript, err := os.Create(filepath.Join(dir, "technician-console.log"))
	if err != nil {
		return nil, err
	}
	if r.con, err = newConsoleLine(transcript); err != nil {
		return nil, err
	}

	if r.host, err = hostsim.New(hostsim.Config{DataDir: filepath.Join(root, "testdata", "host"),
		Logger: slog.New(slog.NewTextHandler(r.log, nil)).With("component", "hostsim")}); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.hostAddr = ln.Addr().String()
	hctx, stop := context.WithCancel(context.Background())
	r.hostStop, r.hostDone = stop, make(chan error, 1)
	go func() { r.hostDone <- r.host.Serve(hctx, ln) }()
	for i := range r.vpcdPorts {
		if r.vpcdPorts[i], err = freePort(); err != nil {
			return nil, err
		}
	}
	r.disk = filepath.Join(dir, "kpos-armv7.img")
	if err := copySparseFile(filepath.Join(image, "kpos-armv7.img"), r.disk); err != nil {
		return nil, fmt.Errorf("vmtest: the image: %w (make image)", err)
	}
	return r, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (r *rig) readScreens(sr *tty.ScreenReader) {
	for {
		s, err := sr.Next(context.Background())
		if err != nil {
			return
		}
		fmt.Fprintf(r.log, "%s screen %s\n", time.Now().Format("15:04:05.000"), strings.ReplaceAll(s.String(), "\n", " | "))
		r.mu.Lock()
		r.screens = append(r.screens, s)
		r.at = append(r.at, time.Now())
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	}
}

// boot powers the VM on: qemu's virt machine with the image's kernel and
// boot step, the disk, the four virtio consoles on the rig's ptys and the
// user-mode network forwarding the vpcd ports. The screens shown from now
// on are this boot's.
func (r *rig) boot() error {
	if r.qemu != nil {
		return errors.New("vmtest: the VM is running")
	}
	r.boots++
	r.mu.Lock()
	r.base = len(r.screens)
	r.mu.Unlock()
	initrd := filepath.Join(r.image, "initramfs.gz")
	if r.extra != "" {
		// the kernel unpacks concatenated archives in turn
		cat := filepath.Join(r.dir, "initramfs-extra.gz")
		a, err := os.ReadFile(initrd)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(r.extra)
		if err != nil {
			return err
		}
		if err := os.WriteFile(cat, append(a, b...), 0o644); err != nil {
			return err
		}
		initrd = cat
	}
	args := []string{"-M", "virt", "-cpu", "cortex-a15", "-m", "256", "-smp", "1",
		"-display", "none", "-monitor", "none", "-no-reboot",
		"-serial", "file:" + filepath.Join(r.dir, fmt.Sprintf("console-%03d.log", r.boots)),
		"-kernel", filepath.Join(r.image, "vmlinuz"), "-initrd", initrd,
		"-append", strings.TrimSpace("console=ttyAMA0 panic=-1 quiet kpos.host=" + r.hostAddr + " " + r.cmdline),
		"-drive", "if=none,id=disk,format=raw,cache=writeback,file=" + r.disk,
		"-device", "virtio-blk-device,drive=disk",
		"-netdev", fmt.Sprintf("user,id=net,restrict=on,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:35963,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:35964",
			r.vpcdPorts[0], r.vpcdPorts[1]),
		"-device", "virtio-net-device,netdev=net",
		"-device", "virtio-serial-device",
	}
	if r.media != "" {
		args = append(args, "-drive", "if=none,id=media,format=raw,readonly=on,file="+r.media, "-device", "virtio-blk-device,drive=media")
	}
	for i, path := range []string{r.ttySlave.Name(), r.printer.Path(), r.scanner.Path(), r.modem.Path(), r.con.slave.Name()} {
		args = append(args, "-chardev", fmt.Sprintf("serial,id=hvc%d,path=%s", i, path),
			"-device", fmt.Sprintf("virtconsole,chardev=hvc%d", i))
	}
	cmd := exec.Command("qemu-system-arm", args...)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	fmt.Fprintf(r.log, "%s boot %d\n", time.Now().Format("15:04:05.000"), r.boots)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("vmtest: qemu: %w", err)
	}
	r.qemu, r.qemuDone = cmd, make(chan error, 1)
	go func() { r.qemuDone <- cmd.Wait() }()
	return nil
}

// cut kills qemu: the guest's page cache and every write qemu had not
// issued are gone, as in a power cut. What qemu wrote stays in the disk file.
func (r *rig) cut() {
	if r.qemu == nil {
		return
	}
	_ = r.qemu.Process.Signal(syscall.SIGKILL)
	<-r.qemuDone
	r.qemu = nil
	// The modem is on the terminal's board and loses its power too (the
	// emulator outlives qemu): off, with every socket it held, and on again
	// for the next boot, as the board's supply comes back.
	if r.modem.On() {
		_ = r.modem.Press(context.Background(), 0)
	}
	_ = r.modem.Press(context.Background(), 0)
	fmt.Fprintf(r.log, "%s power cut\n", time.Now().Format("15:04:05.000"))
	if r.cardStop != nil {
		r.cardStop()
		<-r.cardDone
		r.cardStop = nil
	}
}

func (r *rig) close() {
	r.cut()
	if r.hostStop != nil {
		r.hostStop()
		<-r.hostDone
	}
	if r.con != nil {
		r.con.close()
	}
	for _, c := range []interface{ Close() error }{r.printer, r.scanner, r.modem, r.ttyMaster, r.ttySlave} {
		switch v := c.(type) {
		case *printeremu.Emulator:
			if v == nil {
				continue
			}
		case *scanneremu.Emulator:
			if v == nil {
				continue
			}
		case *modememu.Emulator:
			if v == nil {
				continue
			}
		case *os.File:
			if v == nil {
				continue
			}
		}
		_ = c.Close()
	}
	if r.log != nil {
		r.log.Close()
	}
}

// vmTarget lets a scenario drive the VM from outside, as a person at the
// counter would: keys and PIN on the keypad line, cards into the guest's
// vpcd reader through qemu's forwarded ports, codes to the scanner
// emulator; and look at the display line, the printer and the host.
type vmTarget struct{ r *rig }

var _ scenario.Target = vmTarget{}

// keyBytes are what the keypad sends for each key (drivers/tty's decoder).
var keyBytes = map[hal.Key]string{hal.KeyEnter: "\r", hal.KeyCancel: "x", hal.KeyClear: "c", hal.KeyMenu: "m",
	hal.KeyUp: "u", hal.KeyDown: "d", hal.KeyF1: "f", hal.KeyDot: "."}

func (t vmTarget) Press(ctx context.Context, keys ...hal.Key) error {
	var b strings.Builder
	for _, k := range keys {
		if k.IsDigit() {
			b.WriteByte(byte(k))
			continue
		}
		s, ok := keyBytes[k]
		if !ok {
			return fmt.Errorf("vmtest: no keypad byte for key %v", k)
		}
		b.WriteString(s)
	}
	for _, c := range []byte(b.String()) {
		if _, err := t.r.ttyMaster.Write([]byte{c}); err != nil {
			return fmt.Errorf("vmtest: keypad: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (t vmTarget) Present(ctx context.Context, how, name string) error {
	slot, iface := 0, hal.Contact
	switch how {
	case "insert":
	case "tap":
		slot, iface = 1, hal.Contactless
	default:
		return fmt.Errorf("vmtest: the vm board has no magnetic stripe reader (%s)", how)
	}
	if t.r.cardStop != nil {
		return errors.New("vmtest: a card is in the reader already")
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
	addr := fmt.Sprintf("127.0.0.1:%d", t.r.vpcdPorts[slot])
	go func() { t.r.cardDone <- card.ServeVPCD(cctx, addr) }()
	return nil
}

func (t vmTarget) Remove(ctx context.Context) error {
	if t.r.cardStop == nil {
		return nil
	}
	t.r.cardStop()
	<-t.r.cardDone
	t.r.cardStop = nil
	return nil
}

// EnterPIN waits for the PIN pad's own prompt, then types the PIN and ENTER.
func (t vmTarget) EnterPIN(ctx context.Context, pin string) error {
	if err := t.waitScreen(ctx, "pin", 60*time.Second); err != nil {
		return err
	}
	keys := make([]hal.Key, 0, len(pin)+1)
	for _, c := range pin {
		keys = append(keys, hal.Key(c))
	}
	return t.Press(ctx, append(keys, hal.KeyEnter)...)
}

func (t vmTarget) CancelPIN(ctx context.Context) error {
	if err := t.waitScreen(ctx, "pin", 60*time.Second); err != nil {
		return err
	}
	return t.Press(ctx, hal.KeyCancel)
}

// waitScreen waits until the latest screen of this boot has id.
func (t vmTarget) waitScreen(ctx context.Context, id string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		t.r.mu.Lock()
		n, ch := len(t.r.screens), t.r.changed
		last := ""
		if n > t.r.base {
			last = t.r.screens[n-1].ID
		}
		t.r.mu.Unlock()
		if last == id {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("vmtest: the screen %q was not shown within %v (last %q)", id, within, last)
		case <-ch:
		}
	}
}

func (t vmTarget) Scan(ctx context.Context, text string) error { return t.r.scanner.Show(text) }

func (t vmTarget) Screens() []hal.Screen {
	t.r.mu.Lock()
	defer t.r.mu.Unlock()
	return append([]hal.Screen(nil), t.r.screens[t.r.base:]...)
}

func (t vmTarget) WaitScreens(ctx context.Context, n int) error {
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

func (t vmTarget) Receipts() string {
	var b strings.Builder
	for _, p := range t.r.printer.Pages() {
		b.WriteString(p.Text(32))
	}
	return b.String()
}

// errJournalLocked: the running firmware holds its journal inside the VM;
// the runner reads it from the disk between boots instead.
var errJournalLocked = errors.New("vmtest: the journal is inside the running VM")

func (t vmTarget) JournalState(ctx context.Context, trace string) (string, error) {
	return "", errJournalLocked
}

func (t vmTarget) HostCount(ctx context.Context, kind, state string) (int, error) {
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
		}
		n++
	}
	return n, nil
}

// Host understands "otp" (the one-time code the bank sent by SMS, typed on
// the keypad).
func (t vmTarget) Host(ctx context.Context, command string) error {
	if strings.TrimSpace(command) != "otp" {
		return fmt.Errorf("vmtest: host command %q not understood on the vm board", command)
	}
	otp, ok := t.r.host.LastOTP(vmSerial)
	if !ok {
		return fmt.Errorf("vmtest: host otp: no activation in progress for %s", vmSerial)
	}
	keys := make([]hal.Key, 0, len(otp))
	for _, c := range otp {
		keys = append(keys, hal.Key(c))
	}
	return t.Press(ctx, keys...)
}

// PowerCut kills qemu and boots the VM again on the same disk.
func (t vmTarget) PowerCut(ctx context.Context) error {
	t.r.cut()
	return t.r.boot()
}

// span is the time from the last screen with id from to the first later
// one with id to; a second when the screens do not show it.
func (r *rig) span(from, to string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.screens) - 1; i >= 0; i-- {
		if r.screens[i].ID != from {
			continue
		}
		for j := i + 1; j < len(r.screens); j++ {
			if r.screens[j].ID == to {
				return r.at[j].Sub(r.at[i])
			}
		}
	}
	return time.Second
}

// screenCount is how many screens were shown so far.
func (r *rig) screenCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.screens)
}

// waitSeen waits until a screen with id is shown at or after index from,
// however briefly.
func (r *rig) waitSeen(ctx context.Context, id string, from int) error {
	for {
		r.mu.Lock()
		ch := r.changed
		for _, s := range r.screens[min(from, len(r.screens)):] {
			if s.ID == id {
				r.mu.Unlock()
				return nil
			}
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}
