package console

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeFileAtomic replaces path with data durably: a temporary file in the
// same directory, fsync, close (error checked), rename, fsync the directory.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("console: creating temporary file: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(fmt.Errorf("console: writing %s: %w", filepath.Base(path), err))
	}
	if err := f.Chmod(perm); err != nil {
		return fail(fmt.Errorf("console: chmod %s: %w", filepath.Base(path), err))
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("console: fsync %s: %w", filepath.Base(path), err))
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("console: closing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("console: renaming into %s: %w", filepath.Base(path), err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("console: opening directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("console: fsync directory: %w", err)
	}
	return nil
}
