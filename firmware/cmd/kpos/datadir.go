package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"kpos/firmware/durable"
)

// errDataDirInUse is returned when another kpos holds the data directory.
// Two firmwares on one journal would each believe they own the batch, the
// trace counter and the reversal queue.
type errDataDirInUse struct {
	dir string
	pid int // 0 when the holder has not written its pid yet
}

func (e *errDataDirInUse) Error() string {
	if e.pid == 0 {
		return fmt.Sprintf("data directory in use by another kpos: %s", e.dir)
	}
	return fmt.Sprintf("data directory in use by pid %d: %s", e.pid, e.dir)
}

// lockDataDir takes the data directory for this process, or fails at once
// when another process has it. The lock is the kernel's (flock), so it ends
// with the process however the process ends, a power cut or kill -9
// included; the pid in the file is only there to name the holder.
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, "kpos.pid")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &errDataDirInUse{dir: dir, pid: readPid(path)}
		}
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	// The pid is written through to the disk like every other file of the
	// data directory, so that no power cut leaves an older one behind. It
	// only names the holder: a full disk that refuses it must not keep the
	// terminal from starting, so its errors are not the lock's.
	if err := f.Truncate(0); err == nil {
		if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err == nil && f.Sync() == nil {
			durable.SyncDir(dir)
		}
	}
	return func() { f.Close() }, nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}
