package logfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dirSize(t *testing.T, dir string) (total int64, files []string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		total += fi.Size()
		files = append(files, e.Name())
	}
	return total, files
}

func TestRotationCaps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kpos.log")
	w, err := Open(path, Config{MaxSize: 1000, MaxTotal: 3000, Free: func(string) (int64, error) { return 1 << 40, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	line := []byte(strings.Repeat("x", 99) + "\n")
	for i := 0; i < 1000; i++ {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	total, files := dirSize(t, dir)
	if total > 3000 {
		t.Errorf("logs take %d bytes, cap 3000: %v", total, files)
	}
	if len(files) != 3 {
		t.Errorf("files %v, want kpos.log, .1, .2", files)
	}
	for _, f := range files {
		fi, _ := os.Stat(filepath.Join(dir, f))
		if fi.Size() > 1000 {
			t.Errorf("%s has %d bytes, cap 1000", f, fi.Size())
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, fi.Mode().Perm())
		}
	}
	// Records are whole: every file is a sequence of full lines.
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if !bytes.Equal(b, bytes.Repeat(line, len(b)/len(line))) {
			t.Errorf("%s holds a cut record", f)
		}
	}
}

// TestReserve: once the filesystem's free space would drop below the
// reserve, nothing more is written and the writer says why.
func TestReserve(t *testing.T) {
	dir := t.TempDir()
	free := int64(10_000)
	w, err := Open(filepath.Join(dir, "audit.log"), Config{MaxSize: 1 << 20, Reserve: 5_000, Free: func(string) (int64, error) { return free, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	rec := []byte(strings.Repeat("a", 999) + "\n")
	written := 0
	for i := 0; i < 100; i++ {
		n, err := w.Write(rec)
		if errors.Is(err, ErrReserve) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		written += n
		free -= int64(n)
	}
	if free < 5_000 {
		t.Errorf("the log took the reserve: %d bytes free, reserve 5000", free)
	}
	if written != 5_000 {
		t.Errorf("wrote %d bytes before the reserve, want 5000", written)
	}
}
