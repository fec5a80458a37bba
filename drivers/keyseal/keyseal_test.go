package keyseal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func secretFile(t *testing.T, secret []byte, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "huk")
	if err := os.WriteFile(p, secret, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSealOpensOnlyOnTheSameBoard(t *testing.T) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{0x42}, 32)
	board := HUK{SecretPath: secretFile(t, bytes.Repeat([]byte{1, 2, 3, 4}, 8), 0o400)}
	sealed, err := board.Seal(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, key) {
		t.Fatal("the key is in the sealed bytes")
	}
	got, err := board.Unseal(ctx, sealed)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("unseal: %x %v", got, err)
	}
	other := HUK{SecretPath: secretFile(t, bytes.Repeat([]byte{5, 6, 7, 8}, 8), 0o400)}
	if _, err := other.Unseal(ctx, sealed); !errors.Is(err, ErrTampered) {
		t.Fatalf("another board: %v", err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := board.Unseal(ctx, bad); !errors.Is(err, ErrTampered) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := board.Unseal(ctx, sealed[:20]); !errors.Is(err, ErrTampered) {
		t.Fatalf("short: %v", err)
	}
}

func TestUnusableSecrets(t *testing.T) {
	cases := []struct {
		name   string
		secret []byte
		mode   os.FileMode
	}{
		{"readable by others", bytes.Repeat([]byte{1, 2, 3, 4}, 8), 0o444},
		{"short", []byte{1, 2, 3, 4}, 0o400},
		{"blank fuses (zeros)", make([]byte, 32), 0o400},
		{"blank fuses (ones)", bytes.Repeat([]byte{0xFF}, 32), 0o400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := HUK{SecretPath: secretFile(t, c.secret, c.mode)}
			if _, err := h.Seal(context.Background(), make([]byte, 32)); !errors.Is(err, ErrSecret) {
				t.Fatalf("sealed with %s: %v", c.name, err)
			}
		})
	}
	if _, err := (HUK{SecretPath: filepath.Join(t.TempDir(), "none")}).Seal(context.Background(), nil); !errors.Is(err, ErrSecret) {
		t.Fatal(err)
	}
}
