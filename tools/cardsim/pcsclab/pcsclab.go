// Package pcsclab runs a private pcscd with the vsmartcard vpcd driver for
// tests: its own reader configuration, its own vpcd ports and its own socket,
// in a private mount namespace, so that it neither needs nor disturbs the
// machine's pcscd. Clients reach it by setting PCSCLITE_CSOCK_NAME to
// Daemon.Socket before their first PC/SC call (libpcsclite reads it once).
//
// It needs pcscd, the vpcd driver (Debian: pcscd, vsmartcard-vpcd) and
// unshare(1) from util-linux; as root it uses a mount namespace, otherwise
// a user namespace as well. When something is missing Start returns an error
// wrapping ErrUnavailable that says what.
//
// pcsclab is test equipment. It knows nothing of cards or EMV.
package pcsclab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrUnavailable reports that a private pcscd cannot run on this machine.
var ErrUnavailable = errors.New("pcsclab: private pcscd unavailable")

// driverPaths are where distributions install the vpcd driver.
var driverPaths = []string{
	"/usr/lib/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/lib64/pcsc/drivers/serial/libifdvpcd.so",
	"/usr/local/lib/pcsc/drivers/serial/libifdvpcd.so",
}

// Daemon is a running private pcscd with one vpcd entry (two slots).
type Daemon struct {
	// Socket is the pcscd socket; set PCSCLITE_CSOCK_NAME to it.
	Socket string
	// Port is the vpcd port of slot 0; slot 1 listens on Port+1.
	Port int

	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	logs []string // the last lines pcscd printed
}

// ReaderName returns the PC/SC name of vpcd slot n.
func (d *Daemon) ReaderName(slot int) string { return fmt.Sprintf("Virtual PCD 00 %02d", slot) }

// VPCDAddr returns where the card of slot n connects.
func (d *Daemon) VPCDAddr(slot int) string { return fmt.Sprintf("127.0.0.1:%d", d.Port+slot) }

// Logs returns pcscd's last output lines, for a failing test's message.
func (d *Daemon) Logs() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.logs, "\n")
}

func (d *Daemon) keep(line string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.logs = append(d.logs, line)
	if len(d.logs) > 200 {
		d.logs = d.logs[len(d.logs)-200:]
	}
}

// Requirements checks for the programs Start needs and returns their paths.
func Requirements() (pcscd, driver, unshare string, err error) {
	for _, p := range []string{"pcscd", "/usr/sbin/pcscd", "/sbin/pcscd"} {
		if path, lerr := exec.LookPath(p); lerr == nil {
			pcscd = path
			break
		}
	}
	if pcscd == "" {
		return "", "", "", fmt.Errorf("%w: pcscd not installed (Debian package pcscd)", ErrUnavailable)
	}
	for _, p := range driverPaths {
		if _, serr := os.Stat(p); serr == nil {
			driver = p
			break
		}
	}
	if driver == "" {
		return "", "", "", fmt.Errorf("%w: vpcd driver not installed (Debian package vsmartcard-vpcd)", ErrUnavailable)
	}
	if unshare, err = exec.LookPath("unshare"); err != nil {
		return "", "", "", fmt.Errorf("%w: unshare not found (util-linux)", ErrUnavailable)
	}
	return pcscd, driver, unshare, nil
}

// freePorts finds two consecutive free TCP ports on the loopback.
func freePorts() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port+1))
		l.Close()
		if err == nil {
			l2.Close()
			return port, nil
		}
	}
	return 0, errors.New("pcsclab: no two consecutive free ports")
}

// Start runs pcscd in dir (a fresh directory the caller removes) and waits
// until it is ready or ctx is done. The daemon stops with Close, or when
// the process that started it dies.
func Start(ctx context.Context, dir string) (*Daemon, error) {
	pcscd, driver, unshare, err := Requirements()
	if err != nil {
		return nil, err
	}
	port, err := freePorts()
	if err != nil {
		return nil, err
	}
	run, conf := filepath.Join(dir, "run"), filepath.Join(dir, "reader.conf.d")
	for _, p := range []string{filepath.Join(run, "pcscd"), conf} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, fmt.Errorf("pcsclab: %w", err)
		}
	}
	cfg := fmt.Sprintf("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x%04X\nLIBPATH %s\nCHANNELID 0x%04X\n", port, driver, port)
	if err := os.WriteFile(filepath.Join(conf, "vpcd"), []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("pcsclab: %w", err)
	}
	// In a private mount namespace, the directory stands in for /run, so
	// pcscd's socket and pid file land there and nowhere else.
	args := []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	args = append(args, "--", "sh", "-c", `mount --bind "$0" /run && exec "$1" --foreground --debug --config "$2"`, run, pcscd, conf)
	cmd := exec.Command(unshare, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pcsclab: %w", err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start pcscd: %w", ErrUnavailable, err)
	}
	d := &Daemon{Socket: filepath.Join(run, "pcscd", "pcscd.comm"), Port: port, cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go d.read(out, ready)
	select {
	case <-ready:
		return d, nil
	case <-d.done:
		return nil, fmt.Errorf("%w: pcscd exited before it was ready: %s", ErrUnavailable, d.Logs())
	case <-ctx.Done():
		d.Close()
		return nil, fmt.Errorf("pcsclab: waiting for pcscd: %w: %s", ctx.Err(), d.Logs())
	}
}

// read follows pcscd's output: it signals ready on the "daemon ready" line
// and closes done when pcscd exits.
func (d *Daemon) read(out io.Reader, ready chan struct{}) {
	s := bufio.NewScanner(out)
	signalled := false
	for s.Scan() {
		line := s.Text()
		d.keep(line)
		if !signalled && strings.Contains(line, "daemon ready") {
			signalled = true
			close(ready)
		}
	}
	_ = d.cmd.Wait() // the exit status of a daemon we stop is not news
	close(d.done)
}

// Close stops pcscd and waits for it to exit; a pcscd that ignores SIGTERM
// for ten seconds is killed.
func (d *Daemon) Close() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pcsclab: stop pcscd: %w", err)
	}
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-d.done:
		return nil
	case <-t.C:
	}
	if err := d.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pcsclab: kill pcscd: %w", err)
	}
	<-d.done
	return errors.New("pcsclab: pcscd ignored SIGTERM and was killed")
}
