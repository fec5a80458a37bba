// Package durable writes small files so that a power cut at any instruction
// leaves either the old file or the new one, whole: a temporary file in the
// same directory, fsync, close with its error checked, rename over the old
// file, fsync of the directory. Parameters, keys, binding records, console
// passwords and update state are all written this way.
//
// It knows nothing of what the files hold.
package durable

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data, durably, with permissions perm.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Temp(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("durable: %s: write: %w", filepath.Base(path), err)
	}
	return Commit(f, path, perm)
}

// Temp creates the temporary file that will replace path, in the same
// directory, for callers that stream into it; Commit puts it in place.
// Temporary files of path that a power cut left behind are removed first:
// one writer replaces a file at a time, so any other is garbage.
func Temp(path string) (*os.File, error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if stale, err := filepath.Glob(filepath.Join(dir, "."+globEscape(name)+".tmp-*")); err == nil {
		for _, p := range stale {
			os.Remove(p)
		}
	}
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("durable: %s: %w", name, err)
	}
	return f, nil
}

// globEscape quotes the characters filepath.Match treats as special.
func globEscape(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', '\\':
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Commit gives the temporary file f permissions perm, syncs and closes it,
// renames it over path and syncs the directory. On any error f is removed
// and path is left as it was.
func Commit(f *os.File, path string, perm os.FileMode) error {
	name := filepath.Base(path)
	tmp := f.Name()
	fail := func(step string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("durable: %s: %s: %w", name, step, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail("chmod", err)
	}
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("durable: %s: close: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("durable: %s: rename: %w", name, err)
	}
	if skipDirSync {
		return nil
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("durable: %s: %w", name, err)
	}
	return nil
}

// MkdirAll is os.MkdirAll whose new directories survive a power cut: the
// parent of each directory it creates is synced.
func MkdirAll(dir string, perm os.FileMode) error {
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("durable: %s: not a directory", filepath.Base(dir))
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := MkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil
		}
		return fmt.Errorf("durable: %w", err)
	}
	return SyncDir(parent)
}

// SyncDir makes the names in dir durable: after creating, renaming or
// removing a file in it, the new name survives a power cut only once the
// directory itself is synced (fsync(2) of the file covers its data, not
// its name).
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("durable: open directory: %w", err)
	}
	serr := d.Sync()
	cerr := d.Close()
	if serr != nil {
		return fmt.Errorf("durable: fsync directory %s: %w", filepath.Base(dir), serr)
	}
	if cerr != nil {
		return fmt.Errorf("durable: close directory %s: %w", filepath.Base(dir), cerr)
	}
	return nil
}
