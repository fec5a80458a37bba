package tpmseal

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"kpos/boards"
)

// simulator starts swtpm, the TPM 2.0 simulator, with its own state (its own
// owner seed: another TPM) and returns a TPM that reaches it over a socket.
// Without swtpm installed (scripts/deps.sh installs it) the test says so.
func simulator(t *testing.T) *TPM {
	t.Helper()
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		t.Skip("swtpm not installed (scripts/deps.sh test installs it)")
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tpm.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(dir, "ctrl.sock"),
		"--flags", "not-need-init,startup-clear")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("swtpm did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &TPM{Open: func() (io.ReadWriteCloser, error) { return net.Dial("unix", sock) }}
}

func TestSealUnsealOnlyOnTheSameTPM(t *testing.T) {
	ctx := context.Background()
	tpm := simulator(t)
	key := bytes.Repeat([]byte{0x42}, 32)
	sealed, err := tpm.Seal(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, key) {
		t.Fatal("the key is in the sealed bytes")
	}
	got, err := tpm.Unseal(ctx, sealed)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unseal: %x %v", got, err)
	}
	// Again, as at the next boot: the same primary key is made again.
	if got, err := tpm.Unseal(ctx, sealed); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("second unseal: %v", err)
	}
	if _, err := simulator(t).Unseal(ctx, sealed); !errors.Is(err, ErrTampered) {
		t.Fatalf("another TPM unsealed it: %v", err)
	}
	for _, i := range []int{len(magic) + 10, len(sealed) / 2, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := tpm.Unseal(ctx, bad); err == nil {
			t.Fatalf("byte %d flipped: unsealed", i)
		}
	}
	if _, err := tpm.Unseal(ctx, sealed[:len(sealed)-3]); !errors.Is(err, ErrTampered) {
		t.Fatalf("short: %v", err)
	}
}

// The board's device key, sealed by the TPM outside the data directory: a
// data directory's older device.key moves into the TPM, the same key.
func TestDeviceKeySealedByTheTPM(t *testing.T) {
	ctx := context.Background()
	tpm := simulator(t)
	root := t.TempDir()
	data := filepath.Join(root, "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	old := bytes.Repeat([]byte{0x5A}, 32)
	if err := os.WriteFile(filepath.Join(data, boards.LegacyDeviceKey), old, 0o600); err != nil {
		t.Fatal(err)
	}
	src := boards.KeySource{Kind: boards.KeySealed, Path: filepath.Join(root, "keys", "device.tpm"), Sealer: tpm}
	for boot := range 2 {
		key, err := boards.OpenDeviceKey(ctx, src, data)
		if err != nil || !bytes.Equal(key, old) {
			t.Fatalf("boot %d: %x %v", boot, key, err)
		}
	}
	if _, err := os.Stat(filepath.Join(data, boards.LegacyDeviceKey)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("device.key still in the data directory (%v)", err)
	}
	raw, err := os.ReadFile(src.Path)
	if err != nil || bytes.Contains(raw, old) {
		t.Fatalf("sealed file: %v", err)
	}
}
