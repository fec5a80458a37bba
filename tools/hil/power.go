package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kpos/tools/lossyfs"
)

// lossyfsEnv, set in the environment, makes this program the lossy
// filesystem's server (lossyfs.Main) instead of the suite: the campaign
// starts it so, as a process of its own, because a Go process must not
// serve a FUSE mount that it reads itself (a page fault on the mount
// would stall the very runtime that has to answer it).
const lossyfsEnv = "KPOS_HIL_LOSSYFS"

// power cuts the power of the campaign's terminal. Lossy: the data folder
// is a lossyfs mount, and a cut forgets what kpos did not sync. Otherwise
// a cut is only the SIGKILL: the kernel keeps every write, so the run is
// weaker (docs/hil.md).
type power struct {
	lossy  bool
	why    string // why the run is not lossy
	disk   string // the backing directory: what survives
	mount  string // where kpos sees it
	proc   *exec.Cmd
	done   chan error
	client *lossyfs.Client
}

// startPower mounts the lossy filesystem over disk at mount, or reports
// why it cannot and leaves a SIGKILL-only power whose mount is disk itself.
func startPower(ctx context.Context, dir, disk, mount string, want bool) (*power, error) {
	p := &power{disk: disk, mount: disk}
	if !want {
		p.why = "lossy cuts turned off (-lossy=false)"
		return p, nil
	}
	if err := lossyfs.Available(); err != nil {
		p.why = err.Error()
		return p, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(mount, 0o700); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "lossyfs.sock")
	logFile, err := os.Create(filepath.Join(dir, "lossyfs.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(exe, "-backing", disk, "-mount", mount, "-control", sock, "-attic", filepath.Join(dir, "attic"))
	cmd.Env = append(os.Environ(), lossyfsEnv+"=1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("hil: lossyfs: %w", err)
	}
	p.proc, p.done = cmd, make(chan error, 1)
	go func() { p.done <- cmd.Wait() }()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel() // it ended before serving: the mount failed
		case <-dctx.Done():
		}
	}()
	c, err := lossyfs.Dial(dctx, sock)
	if err != nil {
		_ = cmd.Process.Kill()
		raw, _ := os.ReadFile(filepath.Join(dir, "lossyfs.log"))
		p.proc, p.why = nil, strings.TrimSpace(fmt.Sprintf("the lossy filesystem did not start: %v %s", err, raw))
		return p, nil
	}
	p.lossy, p.mount, p.client = true, mount, c
	return p, nil
}

// cut forgets, as c says, what was not synced.
func (p *power) cut(c lossyfs.Cut) (lossyfs.Report, error) {
	if !p.lossy {
		return lossyfs.Report{}, nil
	}
	return p.client.Cut(c)
}

// restore brings the power back: a fresh mount of what survived.
func (p *power) restore() error {
	if !p.lossy {
		return nil
	}
	return p.client.Remount()
}

// stop unmounts the lossy filesystem; what is still pending is written (a
// clean shutdown).
func (p *power) stop() error {
	if !p.lossy || p.proc == nil {
		return nil
	}
	err := p.client.Quit()
	p.client.Close()
	select {
	case werr := <-p.done:
		err = errors.Join(err, werr)
	case <-time.After(30 * time.Second):
		_ = p.proc.Process.Kill()
		err = errors.Join(err, errors.New("hil: lossyfs did not end"))
	}
	p.proc = nil
	return err
}
