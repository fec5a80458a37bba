package boards

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kpos/hal/fake"
)

// layout is a root with a data directory and a key directory beside it.
func layout(t *testing.T) (data, keyPath string) {
	t.Helper()
	root := t.TempDir()
	data = filepath.Join(root, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	return data, filepath.Join(root, "keys", "device.key")
}

func mustNotExist(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (%v)", path, err)
	}
}

func TestFileKeyIsCreatedOutsideTheDataDirectoryAndKept(t *testing.T) {
	ctx := context.Background()
	data, keyPath := layout(t)
	src := KeySource{Kind: KeyFile, Path: keyPath}
	a, err := OpenDeviceKey(ctx, src, data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenDeviceKey(ctx, src, data)
	if err != nil || !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("second boot: %v", err)
	}
	for p, want := range map[string]os.FileMode{keyPath: 0o600, filepath.Dir(keyPath): 0o700} {
		if st, _ := os.Stat(p); st.Mode().Perm() != want {
			t.Fatalf("%s mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
	mustNotExist(t, filepath.Join(data, LegacyDeviceKey))
}

func TestKeyPlacementRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name  string
		setup func(t *testing.T, data, keyPath string) KeySource
	}{
		{"in the data directory", func(t *testing.T, data, _ string) KeySource {
			return KeySource{Kind: KeyFile, Path: filepath.Join(data, "device.key")}
		}},
		{"in a folder of the data directory", func(t *testing.T, data, _ string) KeySource {
			return KeySource{Kind: KeyFile, Path: filepath.Join(data, "keys", "device.key")}
		}},
		{"through a symbolic link into the data directory", func(t *testing.T, data, keyPath string) KeySource {
			link := filepath.Join(filepath.Dir(data), "link")
			if err := os.Symlink(data, link); err != nil {
				t.Fatal(err)
			}
			return KeySource{Kind: KeyFile, Path: filepath.Join(link, "device.key")}
		}},
		{"readable by others", func(t *testing.T, data, keyPath string) KeySource {
			os.MkdirAll(filepath.Dir(keyPath), 0o700)
			os.WriteFile(keyPath, bytes.Repeat([]byte{1}, 32), 0o644)
			os.Chmod(keyPath, 0o644)
			return KeySource{Kind: KeyFile, Path: keyPath}
		}},
		{"directory writable by others", func(t *testing.T, data, keyPath string) KeySource {
			os.MkdirAll(filepath.Dir(keyPath), 0o700)
			os.Chmod(filepath.Dir(keyPath), 0o777)
			return KeySource{Kind: KeyFile, Path: keyPath}
		}},
		{"sealed without a sealer", func(t *testing.T, data, keyPath string) KeySource {
			return KeySource{Kind: KeySealed, Path: keyPath}
		}},
		{"no kind", func(t *testing.T, data, keyPath string) KeySource {
			return KeySource{Path: keyPath}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, keyPath := layout(t)
			if _, err := OpenDeviceKey(ctx, c.setup(t, data, keyPath), data); err == nil {
				t.Fatal("accepted")
			}
			mustNotExist(t, filepath.Join(data, "device.key"))
		})
	}
}

// An existing data directory's device.key moves out, the same key, for
// both kinds of source; sealed, the key is nowhere in the clear.
func TestLegacyKeyMovesOutOfTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	sealer := fake.NewKeySealer()
	for _, kind := range []string{KeyFile, KeySealed} {
		t.Run(kind, func(t *testing.T) {
			data, keyPath := layout(t)
			old := bytes.Repeat([]byte{0x5A}, 32)
			if err := os.WriteFile(filepath.Join(data, LegacyDeviceKey), old, 0o600); err != nil {
				t.Fatal(err)
			}
			src := KeySource{Kind: kind, Path: keyPath, Sealer: sealer}
			got, err := OpenDeviceKey(ctx, src, data)
			if err != nil || !bytes.Equal(got, old) {
				t.Fatalf("migrated key %x, %v", got, err)
			}
			mustNotExist(t, filepath.Join(data, LegacyDeviceKey))
			raw, _ := os.ReadFile(keyPath)
			if kind == KeySealed && bytes.Contains(raw, old) {
				t.Fatal("sealed file holds the key in the clear")
			}
			again, err := OpenDeviceKey(ctx, src, data)
			if err != nil || !bytes.Equal(again, old) {
				t.Fatalf("after the move: %v", err)
			}
		})
	}
}

func TestTwoDifferentKeysRefuseToStart(t *testing.T) {
	ctx := context.Background()
	data, keyPath := layout(t)
	src := KeySource{Kind: KeyFile, Path: keyPath}
	placed, err := OpenDeviceKey(ctx, src, data)
	if err != nil {
		t.Fatal(err)
	}
	legacy := bytes.Repeat([]byte{0x33}, 32)
	os.WriteFile(filepath.Join(data, LegacyDeviceKey), legacy, 0o600)
	if _, err := OpenDeviceKey(ctx, src, data); !errors.Is(err, ErrKeyConflict) {
		t.Fatalf("two keys: %v", err)
	}
	a, _ := os.ReadFile(keyPath)
	b, _ := os.ReadFile(filepath.Join(data, LegacyDeviceKey))
	if !bytes.Equal(a, placed) || !bytes.Equal(b, legacy) {
		t.Fatal("a key was touched")
	}
	// The same key in both places: the data directory's copy goes.
	os.WriteFile(filepath.Join(data, LegacyDeviceKey), placed, 0o600)
	if _, err := OpenDeviceKey(ctx, src, data); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, filepath.Join(data, LegacyDeviceKey))
}

// A sealer that fails (the TPM is gone) refuses the key; a sealed key from
// another device does not open.
func TestSealedKeyNeedsItsSealer(t *testing.T) {
	ctx := context.Background()
	data, keyPath := layout(t)
	sealer := fake.NewKeySealer()
	if _, err := OpenDeviceKey(ctx, KeySource{Kind: KeySealed, Path: keyPath, Sealer: sealer}, data); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDeviceKey(ctx, KeySource{Kind: KeySealed, Path: keyPath, Sealer: fake.NewKeySealer()}, data); !errors.Is(err, fake.ErrNotSealedHere) {
		t.Fatalf("another device's sealer: %v", err)
	}
	sealer.Fail = errors.New("tpm gone")
	if _, err := OpenDeviceKey(ctx, KeySource{Kind: KeySealed, Path: keyPath, Sealer: sealer}, data); err == nil {
		t.Fatal("opened without the sealer")
	}
}
