package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kpos/firmware/update"
)

func TestKeygenSignVerify(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	name := filepath.Join(dir, "k")
	if err := run([]string{"keygen", "-test", "-out", name}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{name + ".key", name + ".pub"} {
		b, err := os.ReadFile(f)
		if err != nil || !strings.HasPrefix(string(b), "TEST ONLY") {
			t.Fatalf("%s not marked TEST ONLY (%v)", f, err)
		}
	}
	if err := run([]string{"keygen", "-out", name}, &out, &errOut); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	bin := filepath.Join(dir, "kpos")
	if err := os.WriteFile(bin, bytes.Repeat([]byte("\x7fELF..."), 1000), 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "kpos.img")
	if err := run([]string{"sign", "-key", name + ".key", "-version", "1.4.0", "-board", "sim", "-in", bin, "-out", img}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run([]string{"verify", "-pub", name + ".pub", "-board", "sim", "-in", img}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ok: version 1.4.0, board sim") {
		t.Errorf("verify said %q", out.String())
	}
	tests := []struct {
		name string
		mut  func([]byte) []byte
		args []string
		want error
	}{
		{"tampered", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, nil, update.ErrSignature},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }, nil, update.ErrSignature},
		{"wrong board", func(b []byte) []byte { return b }, []string{"-board", "pi-ref"}, update.ErrBoard},
		{"committed test key does not match", func(b []byte) []byte { return b }, []string{"-pub", "../../testdata/update/fwsign-test.pub"}, update.ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := os.ReadFile(img)
			bad := filepath.Join(t.TempDir(), "bad.img")
			if err := os.WriteFile(bad, tt.mut(b), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"verify", "-pub", name + ".pub", "-in", bad}, tt.args...)
			if err := run(args, &out, &errOut); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{nil, {"frobnicate"}, {"sign", "-key", "x"}, {"verify"}, {"keygen"}} {
		if err := run(args, &out, &errOut); !errors.Is(err, errUsage) {
			t.Errorf("%v: got %v", args, err)
		}
	}
}
