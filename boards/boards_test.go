package boards

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDeviceKeyIsCreatedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device.key")
	a, err := LoadDeviceKey(path)
	if err != nil || len(a) != 32 {
		t.Fatal(err)
	}
	b, err := LoadDeviceKey(path)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatal("the device key changed between boots")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("device key mode %v", st.Mode())
	}
	os.WriteFile(path, []byte("short"), 0o600)
	if _, err := LoadDeviceKey(path); err == nil {
		t.Fatal("a truncated device key was accepted")
	}
}

func TestSubKeysDiffer(t *testing.T) {
	b := &Board{DeviceKey: bytes.Repeat([]byte{1}, 32)}
	if bytes.Equal(b.SubKey("journal"), b.SubKey("keys")) || len(b.SubKey("x")) != 32 {
		t.Fatal("purpose keys must differ")
	}
}

func TestUnknownBoard(t *testing.T) {
	if _, err := Open(context.Background(), "toaster", Options{DataDir: t.TempDir()}); !errors.Is(err, ErrUnknownBoard) {
		t.Fatal(err)
	}
}
