package lossyfs

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountT mounts a lossy view of a fresh backing directory; it skips the
// test, saying why, where FUSE cannot be used.
func mountT(t *testing.T) (*Mount, string, string) {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("FUSE unavailable here: %v", err)
	}
	dir := t.TempDir()
	backing, point := filepath.Join(dir, "backing"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, point} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	m, err := New(backing, point, filepath.Join(dir, "attic"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Unmount(); err != nil {
			t.Error(err)
		}
	})
	return m, backing, point
}

func write(t *testing.T, path, data string, sync bool) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// replace is the temp + fsync + rename way of writing a file, with or
// without the fsync of the directory.
func replace(t *testing.T, path, data string, dirSync bool) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, data, true)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if dirSync {
		syncDir(t, filepath.Dir(path))
	}
}

// content reads a file after the cut and remount: "<none>" when it is gone.
func content(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func cutRemount(t *testing.T, m *Mount, c Cut) Report {
	t.Helper()
	rep, err := m.Cut(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Remount(); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestDropKeepsOnlyWhatWasSynced(t *testing.T) {
	cases := []struct {
		name string
		do   func(t *testing.T, p string)
		want map[string]string // file → content after the cut
	}{
		{"new file, file and directory synced", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "hello", true)
			syncDir(t, p)
		}, map[string]string{"a": "hello"}},
		{"new file, directory not synced: the name is lost", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "hello", true)
		}, map[string]string{"a": "<none>"}},
		{"new file, data not synced: the name stays, the data is lost", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "hello", false)
			syncDir(t, p)
		}, map[string]string{"a": ""}},
		{"overwritten, not synced: the old data", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "old data", true)
			syncDir(t, p)
			write(t, filepath.Join(p, "a"), "new", false)
		}, map[string]string{"a": "old data"}},
		{"appended, synced", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "one", true)
			syncDir(t, p)
			f, _ := os.OpenFile(filepath.Join(p, "a"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString(" two")
			f.Sync()
			f.WriteString(" three")
			f.Close()
		}, map[string]string{"a": "one two"}},
		{"renamed over, directory synced: the new file", func(t *testing.T, p string) {
			replace(t, filepath.Join(p, "a"), "v1", true)
			replace(t, filepath.Join(p, "a"), "v2", true)
		}, map[string]string{"a": "v2", "a.tmp": "<none>"}},
		{"renamed over without a directory fsync: the old file", func(t *testing.T, p string) {
			replace(t, filepath.Join(p, "a"), "v1", true)
			replace(t, filepath.Join(p, "a"), "v2", false)
		}, map[string]string{"a": "v1", "a.tmp": "<none>"}},
		{"removed without a directory fsync: back", func(t *testing.T, p string) {
			replace(t, filepath.Join(p, "a"), "v1", true)
			os.Remove(filepath.Join(p, "a"))
		}, map[string]string{"a": "v1"}},
		{"removed, directory synced: gone", func(t *testing.T, p string) {
			replace(t, filepath.Join(p, "a"), "v1", true)
			os.Remove(filepath.Join(p, "a"))
			syncDir(t, p)
		}, map[string]string{"a": "<none>"}},
		{"subdirectory synced, parent not: the subdirectory is lost", func(t *testing.T, p string) {
			os.Mkdir(filepath.Join(p, "d"), 0o700)
			replace(t, filepath.Join(p, "d", "a"), "v1", true)
		}, map[string]string{"d/a": "<none>", "d": "<none>"}},
		{"truncated, not synced: the old size", func(t *testing.T, p string) {
			write(t, filepath.Join(p, "a"), "0123456789", true)
			syncDir(t, p)
			os.Truncate(filepath.Join(p, "a"), 4)
		}, map[string]string{"a": "0123456789"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _, p := mountT(t)
			tc.do(t, p)
			cutRemount(t, m, Cut{Mode: Drop})
			for f, want := range tc.want {
				path := filepath.Join(p, f)
				got := ""
				if st, err := os.Stat(path); err == nil && st.IsDir() {
					got = "<dir>"
				} else {
					got = content(t, path)
				}
				if got != want {
					t.Errorf("%s: %q, want %q", f, got, want)
				}
			}
		})
	}
}

func TestTearCutsTheLastWriteAtASector(t *testing.T) {
	m, _, p := mountT(t)
	a := filepath.Join(p, "a")
	write(t, a, strings.Repeat("a", 4096), true)
	syncDir(t, p)
	f, err := os.OpenFile(a, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte(strings.Repeat("x", 100)), 0) // before the last write: kept
	f.WriteAt([]byte(strings.Repeat("b", 4000)), 50)
	f.Close()
	rep := cutRemount(t, m, Cut{Mode: Tear, Sector: 512, Keep: 3})
	// The last write ran from 50 to 4050: boundaries at 512, 1024, 1536…
	want := strings.Repeat("x", 50) + strings.Repeat("b", 1536-50) + strings.Repeat("a", 4096-1536)
	if got := content(t, a); got != want {
		t.Errorf("torn file: %d bytes, first b at %d, first a at %d; want b from 50 to 1536",
			len(got), strings.Index(got, "b"), strings.Index(got, "a"))
	}
	if rep.TornKept != 1536-50 || rep.TornOf != 4000 {
		t.Errorf("report: kept %d of %d, want %d of 4000", rep.TornKept, rep.TornOf, 1536-50)
	}
}

func TestTearOfAnAppendLeavesAWholeSectorPrefix(t *testing.T) {
	m, _, p := mountT(t)
	a := filepath.Join(p, "a")
	write(t, a, "", true)
	syncDir(t, p)
	f, _ := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(bytes.Repeat([]byte("z"), 2000))
	f.Close()
	cutRemount(t, m, Cut{Mode: Tear, Sector: 512, Keep: 2})
	if got := content(t, a); got != strings.Repeat("z", 1024) {
		t.Errorf("torn append: %d bytes, want 1024", len(got))
	}
}

func TestPrefixKeepsChangesInOrder(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		m, _, p := mountT(t)
		a := filepath.Join(p, "a")
		write(t, a, "", true)
		syncDir(t, p)
		f, _ := os.OpenFile(a, os.O_WRONLY|os.O_APPEND, 0)
		for i := range 10 {
			f.Write([]byte{'0' + byte(i)})
		}
		f.Close()
		rep := cutRemount(t, m, Cut{Mode: Prefix, Seed: seed})
		if want := "0123456789"[:rep.Kept]; content(t, a) != want || rep.Pending != 10 {
			t.Errorf("seed %d: %q after keeping %d of %d, want %q", seed, content(t, a), rep.Kept, rep.Pending, want)
		}
	}
}

func TestRefusesIOAfterTheCutUntilRemounted(t *testing.T) {
	m, _, p := mountT(t)
	write(t, filepath.Join(p, "a"), "v1", true)
	syncDir(t, p)
	f, err := os.OpenFile(filepath.Join(p, "a"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := m.Cut(Cut{Mode: Drop}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("v2"), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("write after the cut: %v, want EIO", err)
	}
	if err := os.WriteFile(filepath.Join(p, "b"), []byte("x"), 0o600); err == nil {
		t.Error("a file was created after the cut")
	}
	if _, err := m.Cut(Cut{Mode: Drop}); !errors.Is(err, ErrCut) {
		t.Errorf("second cut: %v, want ErrCut", err)
	}
	f.Close()
	if err := m.Remount(); err != nil {
		t.Fatal(err)
	}
	if got := content(t, filepath.Join(p, "a")); got != "v1" {
		t.Errorf("after the remount: %q, want v1", got)
	}
	write(t, filepath.Join(p, "b"), "x", true)
}

func TestControlSocket(t *testing.T) {
	m, _, p := mountT(t)
	sock := filepath.Join(t.TempDir(), "ctl")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, m) }()
	c, err := Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	replace(t, filepath.Join(p, "a"), "v1", true)
	replace(t, filepath.Join(p, "a"), "v2", false)
	if n, err := c.Pending(); err != nil || n == 0 {
		t.Fatalf("pending: %d, %v", n, err)
	}
	rep, err := c.Cut(Cut{Mode: Drop})
	if err != nil || rep.Lost == 0 {
		t.Fatalf("cut: %+v, %v", rep, err)
	}
	if err := c.Remount(); err != nil {
		t.Fatal(err)
	}
	if got := content(t, filepath.Join(p, "a")); got != "v1" {
		t.Errorf("after the cut: %q, want v1", got)
	}
	if _, err := c.Cut(Cut{Mode: "sideways"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
	cancel()
	<-done
}
