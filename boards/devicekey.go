package boards

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kpos/firmware/durable"
	"kpos/hal"
)

// How a board keeps its device key (docs/keys.md). The key never lives in
// the data directory: a copy of that directory, or a backup, must not carry
// the key that opens it.
const (
	// KeyFile: the 32-byte key in a file outside the data directory, in a
	// directory only its owner can write, readable only by its owner (a
	// root-only path, or a separate read-only partition).
	KeyFile = "file"
	// KeySealed: the key sealed by the board's hal.KeySealer (a TPM, a TEE,
	// or a hardware-unique secret); the sealed bytes are stored at Path.
	KeySealed = "sealed"
)

// LegacyDeviceKey is where firmware before the key placement kept the
// device key: in the data directory. OpenDeviceKey moves it out.
const LegacyDeviceKey = "device.key"

// KeySource says where a board's device key lives and how it is protected.
type KeySource struct {
	Kind   string        // KeyFile or KeySealed
	Path   string        // the key file, or the sealed key
	Sealer hal.KeySealer // KeySealed only
	// Test marks a TEST ONLY key (the simulated board's): same rules, said
	// in every message about it.
	Test bool
}

// Errors a caller can branch on.
var (
	ErrKeyPlacement = errors.New("boards: device key placement refused")
	ErrKeyConflict  = errors.New("boards: two different device keys")
)

// OpenDeviceKey returns the board's device key from src, creating it on
// first boot. The key must live outside dataDir. A device.key an older
// firmware left in dataDir is moved to src (the same key, so everything
// sealed under it still opens) and only then removed; when src already
// holds a different key, nothing is touched and the board refuses to start
// (ErrKeyConflict): one of the two keys opens the data, and a person must
// say which.
func OpenDeviceKey(ctx context.Context, src KeySource, dataDir string) ([]byte, error) {
	what := "device key"
	if src.Test {
		what = "TEST ONLY device key"
	}
	if err := checkPlacement(src, dataDir); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrKeyPlacement, what, err)
	}
	legacyPath := filepath.Join(dataDir, LegacyDeviceKey)
	legacy, err := os.ReadFile(legacyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		legacy = nil
	case err != nil:
		return nil, fmt.Errorf("boards: %s left in the data directory: %w", what, err)
	case len(legacy) != 32:
		return nil, fmt.Errorf("boards: %s left in the data directory: %d bytes, want 32; nothing moved", what, len(legacy))
	}
	key, err := readKey(ctx, src)
	switch {
	case err == nil && legacy != nil && !bytes.Equal(key, legacy):
		return nil, fmt.Errorf("%w: %s at %s and another in the data directory; nothing moved", ErrKeyConflict, what, src.Path)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		key = legacy
		if key == nil {
			key = make([]byte, 32)
			if _, err := rand.Read(key); err != nil {
				return nil, fmt.Errorf("boards: %s: %w", what, err)
			}
		}
		if err := writeKey(ctx, src, key); err != nil {
			return nil, fmt.Errorf("boards: %s: %w", what, err)
		}
		// Read it back the way the next boot will before the old copy goes.
		again, err := readKey(ctx, src)
		if err != nil || !bytes.Equal(again, key) {
			return nil, fmt.Errorf("boards: %s: written to %s but not read back (%v); nothing removed", what, src.Path, err)
		}
	default:
		return nil, fmt.Errorf("boards: %s: %w", what, err)
	}
	if legacy != nil {
		if err := removeDurably(legacyPath); err != nil {
			return nil, fmt.Errorf("boards: %s moved to %s, the copy in the data directory not removed: %w", what, src.Path, err)
		}
	}
	return key, nil
}

// checkPlacement refuses a key inside the data directory and a key
// directory that others may write to.
func checkPlacement(src KeySource, dataDir string) error {
	switch src.Kind {
	case KeyFile:
	case KeySealed:
		if src.Sealer == nil {
			return errors.New("sealed, but the board has no sealer")
		}
	default:
		return fmt.Errorf("kind %q (want %q or %q)", src.Kind, KeyFile, KeySealed)
	}
	if src.Path == "" {
		return errors.New("no path")
	}
	inside, err := within(src.Path, dataDir)
	if err != nil {
		return err
	}
	if inside {
		return fmt.Errorf("%s is inside the data directory", src.Path)
	}
	dir := filepath.Dir(src.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s may be written by group or others (%v)", dir, st.Mode().Perm())
	}
	return nil
}

// within reports whether path is dir or inside it, after symbolic links.
func within(path, dir string) (bool, error) {
	p, err := resolve(path)
	if err != nil {
		return false, err
	}
	d, err := resolve(dir)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, p)
	if err != nil {
		return false, nil
	}
	return rel == "." || !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != "..", nil
}

// resolve makes path absolute and resolves the symbolic links of the part
// that exists.
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	var rest []string
	for cur := abs; ; cur = filepath.Dir(cur) {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(append([]string{r}, rest...)...), nil
		}
		if cur == filepath.Dir(cur) {
			return abs, nil
		}
		rest = append([]string{filepath.Base(cur)}, rest...)
	}
}

// readKey reads the key from src; fs.ErrNotExist when there is none yet.
func readKey(ctx context.Context, src KeySource) ([]byte, error) {
	raw, err := os.ReadFile(src.Path)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(src.Path)
	if err != nil {
		return nil, err
	}
	if src.Kind == KeyFile && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s may be read by group or others (%v): refused", src.Path, st.Mode().Perm())
	}
	key := raw
	if src.Kind == KeySealed {
		if key, err = src.Sealer.Unseal(ctx, raw); err != nil {
			return nil, fmt.Errorf("unseal %s: %w", src.Path, err)
		}
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%s: want 32 bytes, have %d", src.Path, len(key))
	}
	return key, nil
}

func writeKey(ctx context.Context, src KeySource, key []byte) error {
	data := key
	if src.Kind == KeySealed {
		var err error
		if data, err = src.Sealer.Seal(ctx, key); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
	}
	return durable.WriteFile(src.Path, data, 0o600)
}

// removeDurably removes path and syncs its directory.
func removeDurably(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
