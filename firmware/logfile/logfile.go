// Package logfile is the firmware's append-only log file (kpos.log, the
// console audit log) with bounds: it rotates at a size cap per file into
// PATH.1, PATH.2, …, removes the oldest beyond a total cap, and never
// writes into the reserve of disk kept for the journal. A log that cannot
// be written says so (ErrReserve); what it is for decides whether that is
// fatal (the console refuses what it cannot audit).
//
// It must not know what is logged.
package logfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// ErrReserve is returned instead of writing into the disk reserve.
var ErrReserve = errors.New("logfile: disk reserve reached: log not written")

// Config bounds a log.
type Config struct {
	MaxSize  int64 // bytes per file; default 1 MiB
	MaxTotal int64 // bytes of the current and rotated files together; default 4 × MaxSize
	// Reserve is what the log leaves free on its filesystem for the
	// journal; default 16 MiB.
	Reserve int64
	// Free reports the bytes available to the firmware on the filesystem
	// holding dir; default statfs(2). Tests replace it.
	Free func(dir string) (int64, error)
}

func (c Config) withDefaults() Config {
	if c.MaxSize <= 0 {
		c.MaxSize = 1 << 20
	}
	if c.MaxTotal < c.MaxSize {
		c.MaxTotal = 4 * c.MaxSize
	}
	if c.Reserve <= 0 {
		c.Reserve = 16 << 20
	}
	if c.Free == nil {
		c.Free = statfsFree
	}
	return c
}

// statfsFree is the space available to unprivileged writers (f_bavail).
func statfsFree(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("logfile: statfs: %w", err)
	}
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// Writer appends to a bounded log. It is safe for concurrent use.
type Writer struct {
	path string
	cfg  Config

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (or creates, mode 0600) the log at path.
func Open(path string, cfg Config) (*Writer, error) {
	w := &Writer{path: path, cfg: cfg.withDefaults()}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logfile: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// keep is how many rotated files the total cap leaves room for.
func (w *Writer) keep() int {
	return int(max(w.cfg.MaxTotal/w.cfg.MaxSize-1, 0))
}

// Write appends p whole, or nothing: a record is never cut by rotation,
// and none is written into the reserve.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return 0, fmt.Errorf("logfile: %s is closed", w.path)
	}
	if int64(len(p)) > w.cfg.MaxSize {
		return 0, fmt.Errorf("logfile: a record of %d bytes is over the file cap", len(p))
	}
	if w.size > 0 && w.size+int64(len(p)) > w.cfg.MaxSize {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	free, err := w.cfg.Free(filepath.Dir(w.path))
	if err != nil {
		return 0, err
	}
	if free-int64(len(p)) < w.cfg.Reserve {
		return 0, ErrReserve
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err != nil {
		return n, fmt.Errorf("logfile: %w", err)
	}
	return n, nil
}

// rotate moves PATH to PATH.1 (PATH.1 to PATH.2, …) and drops what the
// total cap has no room for.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("logfile: %w", err)
	}
	w.f = nil
	keep := w.keep()
	// PATH.keep would be pushed beyond the cap; drop it, and any left
	// behind by a larger cap.
	for i := max(keep, 1); i <= keep+8; i++ {
		if err := os.Remove(w.rotated(i)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotating: %w", err)
		}
	}
	for i := keep - 1; i >= 1; i-- {
		if err := os.Rename(w.rotated(i), w.rotated(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("logfile: rotating: %w", err)
		}
	}
	if keep > 0 {
		if err := os.Rename(w.path, w.rotated(1)); err != nil {
			return fmt.Errorf("logfile: rotating: %w", err)
		}
	} else if err := os.Remove(w.path); err != nil {
		return fmt.Errorf("logfile: rotating: %w", err)
	}
	return w.open()
}

func (w *Writer) rotated(i int) string { return w.path + "." + strconv.Itoa(i) }

// Close closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
