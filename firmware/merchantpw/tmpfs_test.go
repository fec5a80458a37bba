package merchantpw

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fullTmpfs mounts a 64 KiB tmpfs, the way the failure was first seen (the
// data directory on a full tmpfs). It needs the right to mount; without it
// the test says so and stops.
func fullTmpfs(t *testing.T) (dir string, fill, free func()) {
	t.Helper()
	dir = t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v); TestFullDiskRefuses covers the same with RLIMIT_FSIZE", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, 0) })
	filler := filepath.Join(dir, "filler")
	fill = func() {
		f, err := os.Create(filler)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]byte, 4096)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("filling the tmpfs: %v", err)
				}
				return
			}
		}
	}
	free = func() {
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
	}
	return dir, fill, free
}

// A really full disk (ENOSPC): the right password is refused and the count
// is what it was; with room again it is taken.
func TestFullTmpfsRefuses(t *testing.T) {
	dir, fill, free := fullTmpfs(t)
	c := &clock{t: time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)}
	g := newGuard(t, dir, c)
	if err := g.Set("123456"); err != nil {
		t.Fatal(err)
	}
	_ = g.Check("000000")
	fill()
	for range 10 {
		if err := g.Check("123456"); !errors.Is(err, ErrUnrecorded) {
			t.Fatalf("on a full tmpfs: %v", err)
		}
	}
	free()
	raw, _ := os.ReadFile(filepath.Join(dir, StateFile))
	if string(raw) != "{\"failures\":1,\"locks\":0}\n" {
		t.Fatalf("state after the full disk: %q", raw)
	}
	if err := g.Check("123456"); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
