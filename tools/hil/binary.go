package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// binary is a kpos build for one architecture and how to run it: directly,
// or under an emulator (qemu-arm-static for ARMv7).
type binary struct {
	arch string // amd64, armv7
	path string
	emu  string // emulator to run it under, "" for none
	// slow scales the waits of scripts written for this binary.
	slow int
}

// build compiles firmware/cmd/kpos for arch into dir. The ARMv7 build is
// the one that ships: cgo on, with the cross compiler and PC/SC for armhf,
// as `make arm` builds it.
func build(ctx context.Context, root, dir, arch, qemu string, log *os.File) (binary, error) {
	out := filepath.Join(dir, arch, "kpos")
	// The HIL binaries are development builds: the sim board runs scenarios.
	args := []string{"build", "-tags", "sim", "-trimpath", "-o", out, "./firmware/cmd/kpos"}
	cmd := exec.CommandContext(ctx, "go", args...)
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
		b.emu, b.slow = emu, 4
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
	killed  bool // ended by SIGKILL (a power cut)
	elapsed time.Duration
	out     []byte
}

// runKpos runs kpos to its end, or until killAfter (when > 0) has passed,
// then cuts its power with SIGKILL.
func (b binary) runKpos(parent context.Context, dir string, timeout, killAfter time.Duration, args ...string) (outcome, error) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	defer cancel()
	cmd := b.command(ctx, dir, args...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return outcome{}, fmt.Errorf("hil: start kpos: %w", err)
	}
	if killAfter > 0 {
		t := time.AfterFunc(killAfter, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer t.Stop()
	}
	err := cmd.Wait()
	o := outcome{elapsed: time.Since(start), out: buf.Bytes()}
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
			o.killed = ws.Signal() == syscall.SIGKILL
		}
	default:
		return o, fmt.Errorf("hil: kpos: %w", err)
	}
	return o, nil
}
