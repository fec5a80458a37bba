package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// binary is a kpos build for one architecture and how to run it: directly,
// or under an emulator (qemu-arm-static for ARMv7).
type binary struct {
	arch string // amd64, armv7
	path string
	emu  string // emulator to run it under, "" for none
	// slow scales the waits of scripts run on this binary (kpos
	// -wait-scale, and the runner's own waits): its slow-down, measured
	// at the start of the run (measureSlowdown).
	slow int
}

// build compiles firmware/cmd/kpos for arch into dir. The ARMv7 build is
// the one that ships: cgo on, with the cross compiler and PC/SC for armhf,
// as `make arm` builds it.
func build(ctx context.Context, root, dir, arch, qemu string, log io.Writer, tags ...string) (binary, error) {
	out := filepath.Join(dir, arch, "kpos")
	cmd, args := buildKpos(ctx, out, tags)
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = log, log
	b := binary{arch: arch, path: out, slow: 1}
	switch arch {
	case "amd64":
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64")
	case "armv7":
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH=arm", "GOARM=7",
			"CC=arm-linux-gnueabihf-gcc",
			"PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")
		emu, err := exec.LookPath(qemu)
		if err != nil {
			return b, fmt.Errorf("hil: armv7 needs %s (Debian: qemu-user-static): %w", qemu, err)
		}
		b.emu = emu
	default:
		return b, fmt.Errorf("hil: unknown architecture %q (amd64, armv7)", arch)
	}
	fmt.Fprintf(log, "$ %s go %v\n", arch, args)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return b, fmt.Errorf("hil: build %s: %w (see build.log)", arch, err)
	}
	fmt.Fprintf(log, "built %s in %v\n", out, time.Since(start).Round(time.Millisecond))
	return b, nil
}

// calibrationScript is the run that measures a binary's slow-down: a
// first boot (device key, journal, key store, sign-on) and a QR sale.
const calibrationScript = `# hil: calibration of the slow-down
expect screen idle within 60s
keys MENU 2
expect screen amount within 60s
keys 1 0 0 ENTER
expect screen qr-scan within 60s
scan 251001020123456789012345
expect screen qr-confirm within 60s
keys ENTER
expect screen tear-off within 60s
keys ENTER
expect screen approved within 60s
`

// calibrationNominal is how long the calibration takes natively on an idle
// machine, with margin: an amd64 build on an idle two-core machine runs it
// in 60 to 120 ms.
const calibrationNominal = 200 * time.Millisecond

// measureSlowdown runs the calibration three times, each on a fresh data
// folder under dir, and sets b.slow to the median time over the nominal
// one, at least 1: about 1 for amd64 on an idle machine, more under qemu
// or on a loaded machine. Every wait of the scripts run on b scales by it.
func (b *binary) measureSlowdown(ctx context.Context, root, dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, err
	}
	script := filepath.Join(dir, "calibration.txt")
	if err := os.WriteFile(script, []byte(calibrationScript), 0o600); err != nil {
		return 0, err
	}
	var times []time.Duration
	for i := range 3 {
		data := filepath.Join(dir, fmt.Sprintf("data-%d", i))
		o, err := b.runKpos(ctx, root, 5*time.Minute, 0, "-board", "sim", "-data", data,
			"-params", filepath.Join(root, "testdata"), "-script", script)
		if err != nil {
			return 0, err
		}
		if o.code != 0 {
			return 0, fmt.Errorf("hil: %s calibration failed with status %d: %s", b.arch, o.code, firstLines(string(o.out), 4))
		}
		times = append(times, o.elapsed)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	median := times[len(times)/2]
	b.slow = max(1, int(math.Ceil(float64(median)/float64(calibrationNominal))))
	return median, nil
}

// buildKpos is the one place the suite's go build of firmware/cmd/kpos is
// written: every build of the binary under test (the suite's, and the
// deliberately broken one of the tests) goes through it. Build tags the
// suite needs for every binary go here.
func buildKpos(ctx context.Context, out string, tags []string) (*exec.Cmd, []string) {
	// The HIL binaries are development builds: the sim board runs scenarios.
	tags = append([]string{"sim"}, tags...)
	args := []string{"build", "-trimpath"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "-o", out, "./firmware/cmd/kpos")
	return exec.CommandContext(ctx, "go", args...), args
}

// command runs the binary with args in dir.
func (b binary) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if b.emu != "" {
		cmd = exec.CommandContext(ctx, b.emu, append([]string{b.path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, b.path, args...)
	}
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// outcome is how one kpos run ended.
type outcome struct {
	code    int  // exit status; -1 when killed by a signal
	killed  bool // ended by a power cut: SIGKILL, by the runner or at a crash point
	elapsed time.Duration
	out     []byte
}

// runKpos runs kpos to its end, or until killAfter (when > 0) has passed,
// then cuts its power with SIGKILL.
func (b binary) runKpos(parent context.Context, dir string, timeout, killAfter time.Duration, args ...string) (outcome, error) {
	return b.runCut(parent, dir, timeout, killAfter, nil, args...)
}

// runCut is runKpos with cut called at the moment of the power cut, just
// before the SIGKILL (the lossy filesystem forgets what was not synced
// there, so nothing the process does after it reaches the disk). A run
// whose power was cut counts as killed however the process then ended.
func (b binary) runCut(parent context.Context, dir string, timeout, killAfter time.Duration, cut func(), args ...string) (outcome, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := b.command(ctx, dir, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return outcome{}, fmt.Errorf("hil: start kpos: %w", err)
	}
	var mu sync.Mutex
	exited, cutDone := false, false
	if killAfter > 0 {
		t := time.AfterFunc(killAfter, func() {
			mu.Lock()
			defer mu.Unlock()
			if exited {
				return
			}
			cutDone = true
			if cut != nil {
				cut()
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
		})
		defer t.Stop()
	}
	err := cmd.Wait()
	mu.Lock()
	exited = true
	cutByRunner := cutDone
	mu.Unlock()
	o := outcome{elapsed: time.Since(start), out: buf.Bytes(), killed: cutByRunner}
	if ctx.Err() != nil {
		if parent.Err() != nil {
			return o, fmt.Errorf("hil: kpos stopped: %w", parent.Err())
		}
		return o, fmt.Errorf("hil: kpos did not end within %v", timeout)
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		o.code = 0
	case errors.As(err, &exit):
		o.code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			o.code = -1
			o.killed = o.killed || ws.Signal() == syscall.SIGKILL
		}
	default:
		return o, fmt.Errorf("hil: kpos: %w", err)
	}
	return o, nil
}
