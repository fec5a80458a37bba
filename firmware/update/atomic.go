package update

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
		return fmt.Errorf("update: creating temporary file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("update: writing %s: %w", filepath.Base(path), err)
	}
	if err := commitTemp(f, path, perm); err != nil {
		return err
	}
	ok = true
	return nil
}

// commitTemp syncs and closes the temporary file f, gives it perm, renames
// it over path and syncs the directory. On error the caller removes f.
func commitTemp(f *os.File, path string, perm os.FileMode) error {
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("update: chmod %s: %w", filepath.Base(path), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("update: fsync %s: %w", filepath.Base(path), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("update: closing %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("update: renaming into %s: %w", filepath.Base(path), err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("update: opening directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("update: fsync directory: %w", err)
	}
	return nil
}
