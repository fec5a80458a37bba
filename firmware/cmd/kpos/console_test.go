package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"

	"kpos/boards/hw"
	"kpos/firmware/console"
	"kpos/firmware/console/command"
	"kpos/firmware/console/service"
	"kpos/firmware/journal"
	"kpos/firmware/logfile"
)

// simConsolePassword is the simulated board's test technician password
// (boards/sim).
const simConsolePassword = "tech-pass-2026"

// TestConsoleOnTheSimBoard starts the terminal with its console socket and
// holds a short technician session: status, keys, journal, perf.
func TestConsoleOnTheSimBoard(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "console.sock")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kposBin, "-board", "sim", "-data", filepath.Join(dir, "data"), "-console", sock)
	cmd.Dir = repoPath(t, ".")
	stdin, err := cmd.StdinPipe() // held open: the sim board reads commands from it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()

	var conn net.Conn
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("console socket: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	readUntil := func(want string) string {
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(b.String(), want) {
			n, err := r.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				t.Fatalf("waiting for %q: %v\n%s", want, err, b.String())
			}
		}
		return b.String()
	}
	readUntil("Password:")
	conn.Write([]byte(simConsolePassword + "\r"))
	readUntil("kpos-sim>")

	// A sale at the counter, typed on the simulated board's keyboard.
	for _, line := range []string{"1234", "", "", "insert unionpay-debit", "pin 123456", "remove"} {
		stdin.Write([]byte(line + "\n"))
		time.Sleep(150 * time.Millisecond)
	}
	var transcript strings.Builder
	run := func(c, until string) {
		conn.Write([]byte(c + "\r"))
		transcript.WriteString(readUntil(until))
	}
	for i := 0; i < 50 && !strings.Contains(transcript.String(), "completed"); i++ {
		time.Sleep(100 * time.Millisecond)
		run("journal list", "kpos-sim>")
	}
	for _, c := range []string{"status", "keys", "perf"} {
		run(c, "kpos-sim>")
	}
	run("priv", "Password:")
	run(simConsolePassword, "kpos-sim#")
	run("settle", "kpos-sim#")
	// The parameters answer from the terminal's own stores.
	run("param list", "kpos-sim#")
	run("param get terminal.serial", "kpos-sim#")
	run("param set log.level debug", "kpos-sim#")
	run("param set terminal.serial X", "kpos-sim#")
	// The simulated board's modem answers through the driver's pass-through:
	// its identities masked, and nothing that could touch the data link.
	run("modem at AT+CSQ", "kpos-sim#")
	run("modem at AT+QCCID", "kpos-sim#")
	run("modem at AT+CIMI", "kpos-sim#")
	run("modem at AT+QIDEACT=1", "kpos-sim#")
	out := transcript.String()
	for _, want := range []string{"serial    KPOS-SIM-0001", "binding   bound", "TMK", "D2B91C", "host:acquirer",
		"622202*********0128", "12.34", "completed", "balanced",
		"log.level", "terminal.tid", "binding.txn_limit", "value  KPOS-SIM-0001", "log.level = debug", "terminal.serial is read-only",
		"+CSQ: 24,99\r\nOK", "+QCCID: 898600**********0001", "460000*****0001", "AT+QIDEACT=1 could disturb the data link"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	// The test TMK and its working keys must never be shown, only check
	// values; nor the card number.
	if strings.Contains(strings.ToUpper(out), "1111111111111111") || regexp.MustCompile(`[0-9A-F]{32}`).MatchString(strings.ToUpper(out)) {
		t.Fatalf("key material on the console:\n%s", out)
	}
	if strings.Contains(out, "89860000000000000001") || strings.Contains(out, "460000000000001") {
		t.Fatalf("the SIM's identities in the clear:\n%s", out)
	}
	if strings.Contains(out, "6222021234567890128") {
		t.Fatalf("a full PAN on the console:\n%s", out)
	}
}

// serialScreen is the technician's side of a serial console on a pty pair:
// what the console sends, with the escape sequences a terminal would act
// on taken out.
type serialScreen struct {
	t    *testing.T
	ptmx *os.File
	mu   sync.Mutex
	buf  strings.Builder
	mark int
	wake chan struct{}
}

var ansiSeq = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]`)

func (s *serialScreen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.ReplaceAll(ansiSeq.ReplaceAllString(s.buf.String(), ""), "\r", "")
}

func (s *serialScreen) pump() {
	b := make([]byte, 4096)
	for {
		n, err := s.ptmx.Read(b)
		s.mu.Lock()
		s.buf.Write(b[:n])
		close(s.wake)
		s.wake = make(chan struct{})
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// expect waits (10 s at most) for want after the last match.
func (s *serialScreen) expect(want string) string {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		wake := s.wake
		s.mu.Unlock()
		text := s.text()
		if i := strings.Index(text[s.mark:], want); i >= 0 {
			got := text[s.mark : s.mark+i+len(want)]
			s.mark += i + len(want)
			return got
		}
		select {
		case <-wake:
		case <-deadline:
			s.t.Fatalf("timed out waiting for %q; screen since the last match:\n%s", want, text[s.mark:])
		}
	}
}

// send writes bytes as the terminal program sends them.
func (s *serialScreen) send(b string) {
	s.t.Helper()
	if _, err := s.ptmx.Write([]byte(b)); err != nil {
		s.t.Fatal(err)
	}
}

// waitingDevices is a card reader that waits for a card that never comes.
type waitingDevices struct{}

func (waitingDevices) DetectCard(ctx context.Context) (service.CardDetect, error) {
	<-ctx.Done()
	return service.CardDetect{}, ctx.Err()
}
func (waitingDevices) PrinterTestPage(context.Context) error { return command.ErrNotAvailable }
func (waitingDevices) PrinterStatus(context.Context) (service.PrinterState, error) {
	return service.PrinterState{}, command.ErrNotAvailable
}
func (waitingDevices) ScanOne(context.Context) (service.ScanResult, error) {
	return service.ScanResult{}, command.ErrNotAvailable
}
func (waitingDevices) Modem(context.Context) (service.ModemInfo, error) {
	return service.ModemInfo{}, command.ErrNotAvailable
}
func (waitingDevices) ModemAT(context.Context, string) ([]string, error) {
	return nil, command.ErrNotAvailable
}
func (waitingDevices) KeypadTest(context.Context) ([]string, error) {
	return nil, command.ErrNotAvailable
}
func (waitingDevices) DisplayTest(context.Context) error   { return command.ErrNotAvailable }
func (waitingDevices) IndicatorTest(context.Context) error { return command.ErrNotAvailable }

// TestSerialConsoleOnAPty drives the console the way boards/hw serves it
// on a real UART: the port opened by hw.OpenConsole (raw, 8N1, read
// timeout) on the slave side of a pty, served by serveConsolePort. The
// test is the terminal program (picocom, screen) on the master side and
// sends the bytes they send.
func TestSerialConsoleOnAPty(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close() // held open so that the master never sees a hang-up
	port, err := hw.OpenConsole(hw.ConsoleSection{Device: tty.Name(), Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()

	dir := t.TempDir()
	pw := filepath.Join(dir, "console.pw")
	if err := console.SetPassword(pw, simConsolePassword, 1000); err != nil {
		t.Fatal(err)
	}
	var audit strings.Builder
	var auditMu sync.Mutex
	c := console.New(console.Config{PasswordPath: pw, Audit: lockedWriter{&auditMu, &audit}, Hostname: "kpos-hw"},
		service.Commands(service.Services{Devices: waitingDevices{}}, service.Options{FileRoot: dir})...)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		serveConsolePort(ctx, c, port, slog.New(slog.DiscardHandler))
		close(served)
	}()
	scr := &serialScreen{t: t, ptmx: ptmx, wake: make(chan struct{})}
	go scr.pump()

	half := len(simConsolePassword) / 2
	login := func() {
		t.Helper()
		scr.expect("Password: ")
		// Two bursts, as a technician who pauses: separate reads of the port.
		scr.send(simConsolePassword[:half])
		time.Sleep(300 * time.Millisecond)
		scr.send(simConsolePassword[half:] + "\r")
		scr.expect("Logged in (read-only)")
		scr.expect("kpos-hw> ")
	}
	login()
	scr.send("logout\r")
	scr.expect("Logged out.")
	login()
	scr.send("exit\r")
	scr.expect("Bye.")
	login()

	// A command, more typed while it runs, then ^C twice.
	start := time.Now()
	scr.send("test reader\rhelp\x03\x03")
	scr.expect("error: cancelled")
	if d := time.Since(start); d > time.Second {
		t.Errorf("test reader cancelled after %s, want within 1 s", d)
	}
	scr.expect("kpos-hw> ")
	// Home (VT220 form, as screen sends it), Delete, End, and ^O for start of line (picocom's ^A is its own).
	scr.send("xtatus\x1b[1~\x1b[3~s\x1b[4~\r")
	scr.expect("status\nerror: not available on this board") // the line was edited to 'status'; no status service on this rig
	scr.send("eys\x0fk\r")
	scr.expect("keys\nerror: not available on this board")
	scr.expect("kpos-hw> ")
	if text := scr.text(); strings.Contains(text, "WHAT IT DOES") {
		t.Errorf("typed-ahead help ran after the ^C:\n%s", text)
	}

	auditMu.Lock()
	a := audit.String()
	auditMu.Unlock()
	if strings.Contains(a, "failed") {
		t.Errorf("a login failed on the serial path:\n%s", a)
	}
	if n := strings.Count(a, `"result":"ok"`); n < 3 {
		t.Errorf("%d logins audited, want 3:\n%s", n, a)
	}

	// Shutting down: the reader notices within the port's read timeout.
	cancel()
	select {
	case <-served:
	case <-time.After(3 * hw.ConsoleReadTimeout):
		t.Error("the console port was not released after shutdown")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// smallDisk mounts a tmpfs of size bytes for the test, or skips the test
// where mounting is not allowed.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// serveOnPty serves c on a pty as boards/hw would, and returns the screen.
func serveOnPty(t *testing.T, c *console.Console) *serialScreen {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	port, err := hw.OpenConsole(hw.ConsoleSection{Device: tty.Name()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { serveConsolePort(ctx, c, port, slog.New(slog.DiscardHandler)); close(done) }()
	scr := &serialScreen{t: t, ptmx: ptmx, wake: make(chan struct{})}
	go scr.pump()
	t.Cleanup(func() {
		cancel()
		<-done
		port.Close()
		tty.Close()
		ptmx.Close()
	})
	return scr
}

// TestFullDisk: on a full data disk the console refuses logins and says
// why (a failure it cannot count must not lift the lockout), and the logs
// stop at the reserve, so the journal keeps its room: no transaction is
// lost.
func TestFullDisk(t *testing.T) {
	dir := smallDisk(t, 8<<20)
	j, err := journal.Open(filepath.Join(dir, "journal.db"), make([]byte, 32), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sale := func(trace uint32) error {
		return j.Begin(journal.Txn{Trace: trace, Batch: 1, Kind: journal.Sale, Method: journal.Chip, Amount: 1234, Currency: 156})
	}
	if err := sale(1); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "console.pw")
	if err := console.SetPassword(pw, simConsolePassword, 1000); err != nil {
		t.Fatal(err)
	}
	const reserve = 3 << 20
	audit, err := logfile.Open(filepath.Join(dir, "console-audit.log"), logfile.Config{MaxSize: 256 << 10, MaxTotal: 64 << 20, Reserve: reserve})
	if err != nil {
		t.Fatal(err)
	}
	defer audit.Close()
	kposLog, err := logfile.Open(filepath.Join(dir, "kpos.log"), logfile.Config{MaxSize: 256 << 10, MaxTotal: 64 << 20, Reserve: reserve})
	if err != nil {
		t.Fatal(err)
	}
	defer kposLog.Close()

	t.Run("logs stop at the reserve", func(t *testing.T) {
		line := []byte(strings.Repeat("log line ", 100) + "\n")
		for {
			if _, err := kposLog.Write(line); err != nil {
				if !errors.Is(err, logfile.ErrReserve) {
					t.Fatalf("log write: %v", err)
				}
				break
			}
		}
		// The audit log cannot be written either: the console refuses a
		// login it cannot record, even with the right password.
		c := console.New(console.Config{PasswordPath: pw, Audit: audit, Hostname: "kpos-hw"})
		scr := serveOnPty(t, c)
		scr.expect("Password: ")
		scr.send(simConsolePassword + "\r")
		scr.expect("Login refused: the audit log cannot be written")
		scr.expect("reserve")
		if strings.Contains(scr.text(), "Logged in") {
			t.Error("logged in without an audit record")
		}
		// The journal still has its room: sales go on.
		for tr := uint32(2); tr < 50; tr++ {
			if err := sale(tr); err != nil {
				t.Fatalf("sale %d with the logs at the reserve: %v", tr, err)
			}
		}
	})

	t.Run("disk full", func(t *testing.T) {
		// Something else fills the disk to the last byte.
		f, err := os.Create(filepath.Join(dir, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		block := make([]byte, 64<<10)
		for {
			if _, err := f.Write(block); err != nil {
				break
			}
		}
		for {
			if _, err := f.Write(block[:512]); err != nil {
				break
			}
		}
		f.Close()
		defer os.Remove(filepath.Join(dir, "filler"))
		c := console.New(console.Config{PasswordPath: pw, Audit: io.Discard, Hostname: "kpos-hw",
			Lockout: console.LockoutPolicy{MaxFailures: 3}})
		scr := serveOnPty(t, c)
		for i := 0; i < 8; i++ {
			scr.expect("Password: ")
			scr.send("wrong-guess\r")
			scr.expect("Login refused: this terminal cannot record failed logins")
			scr.send("\r")
		}
		scr.expect("Password: ")
		scr.send(simConsolePassword + "\r")
		scr.expect("Login refused: this terminal cannot record failed logins")
		if strings.Contains(scr.text(), "Logged in") || strings.Contains(scr.text(), "Wrong password") {
			t.Errorf("a password was checked on a full disk:\n%s", scr.text())
		}
		// Nothing of the journal is lost.
		for tr := uint32(1); tr < 50; tr++ {
			if _, err := j.Get(tr); err != nil {
				t.Errorf("trace %d after the full disk: %v", tr, err)
			}
		}
	})
}

// TestJournalListAndShowBatches: list shows the open batch only; show says
// settled yes for a transaction of a settled batch.
func TestJournalListAndShowBatches(t *testing.T) {
	j, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"), make([]byte, 32), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	sale := func() uint32 {
		t.Helper()
		tr, err := j.NextTrace()
		if err != nil {
			t.Fatal(err)
		}
		b, err := j.Batch()
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Begin(journal.Txn{Trace: tr, Batch: b, Kind: journal.Sale, Method: journal.Chip, State: journal.Completed, Amount: 500, Currency: 156}); err != nil {
			t.Fatal(err)
		}
		return tr
	}
	old := sale()
	st, err := j.BeginSettlement()
	if err != nil {
		t.Fatal(err)
	}
	st.Step, st.Balanced = journal.StepTotalsSent, true
	if err := j.SaveSettlement(st); err != nil {
		t.Fatal(err)
	}
	if _, err := j.CloseBatch(st); err != nil {
		t.Fatal(err)
	}
	cur := sale()
	list, err := journalList(j, 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Trace != cur {
		t.Errorf("journal list shows %+v, want only trace %d of the open batch", list, cur)
	}
	for _, tc := range []struct {
		trace   uint32
		settled bool
	}{{old, true}, {cur, false}} {
		e, err := journalShow(j, tc.trace)
		if err != nil {
			t.Fatal(err)
		}
		if e.Settled != tc.settled {
			t.Errorf("journal show %d: settled %v, want %v", tc.trace, e.Settled, tc.settled)
		}
	}
}

// TestPicocom runs the real picocom on the console's pty, itself in a pty
// that plays the technician's terminal window: the bytes picocom really
// sends, and the screen it really shows. Skipped where picocom is not
// installed.
func TestPicocom(t *testing.T) {
	bin, err := exec.LookPath("picocom")
	if err != nil {
		t.Skip("picocom is not installed")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	port, err := hw.OpenConsole(hw.ConsoleSection{Device: tty.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	dir := t.TempDir()
	pw := filepath.Join(dir, "console.pw")
	if err := console.SetPassword(pw, simConsolePassword, 1000); err != nil {
		t.Fatal(err)
	}
	c := console.New(console.Config{PasswordPath: pw, Audit: io.Discard, Hostname: "kpos-hw", WakeAfter: 100 * time.Millisecond},
		service.Commands(service.Services{Devices: waitingDevices{}}, service.Options{})...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serveConsolePort(ctx, c, port, slog.New(slog.DiscardHandler))

	// The cable: a second pty pair whose slave picocom opens, its master
	// joined to the console port's master, as a null-modem cable joins two
	// UARTs.
	cableM, cableS, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer cableM.Close()
	defer cableS.Close()
	// Raw before any byte crosses: a cooked pty would echo the console's
	// output back to it.
	if _, err := term.MakeRaw(int(cableS.Fd())); err != nil {
		t.Fatal(err)
	}
	go io.Copy(cableM, ptmx)
	go io.Copy(ptmx, cableM)

	cmd := exec.CommandContext(ctx, bin, "--quiet", "--nolock", "--noreset", "-b", "115200", cableS.Name())
	win, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 24, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		cmd.Process.Kill()
		<-done
	}()
	defer win.Close()
	scr := &serialScreen{t: t, ptmx: win, wake: make(chan struct{})}
	go scr.pump()

	// picocom may flush what the port held when it opened it: the banner
	// is gone, as for a technician who plugs in late. A key redraws it.
	time.Sleep(300 * time.Millisecond)
	scr.send("\r")
	scr.expect("technician console")
	scr.expect("Password: ")
	// The window answers the console's size query, as xterm does.
	scr.mu.Lock()
	asked := strings.Contains(scr.buf.String(), "\x1b[6n")
	scr.mu.Unlock()
	if !asked {
		t.Fatal("no size query came through picocom")
	}
	scr.send("\x1b[24;100R")
	scr.send(simConsolePassword[:5])
	time.Sleep(300 * time.Millisecond)
	scr.send(simConsolePassword[5:] + "\r")
	scr.expect("Logged in")
	scr.expect("kpos-hw> ")
	scr.send("term\r")
	scr.expect("100 columns (reported by the terminal)") // the window's answer to ESC[6n, through picocom
	start := time.Now()
	scr.send("test reader\rhelp\x03\x03")
	scr.expect("error: cancelled")
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled after %s", d)
	}
	scr.send("eys\x0fk\r") // ^O, since picocom keeps ^A
	scr.expect("keys\nerror: not available on this board")
	scr.send("\x01\x18") // ^A ^X: picocom exits
	select {
	case err := <-done:
		done <- err
	case <-time.After(5 * time.Second):
		t.Error("picocom did not exit on ^A ^X")
	}
	if strings.Contains(scr.text(), "WHAT IT DOES") {
		t.Errorf("typed-ahead help ran:\n%s", scr.text())
	}
}
