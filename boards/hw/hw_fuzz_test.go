package hw

import (
	"os"
	"path/filepath"
	"testing"

	"kpos/firmware/merchantpw"
)

// FuzzLoad: a board file is read from the terminal's storage at every
// boot. No content may panic, and whatever loads has its device key at an
// absolute path and a password cost inside the bounds.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"../hil.toml", "../rpi-ref.toml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name = \"x\"\n[device_key]\nsource = \"sealed\"\npath = \"k\"\nsecret = \"s\"\n"))
	f.Add([]byte("name = "))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text []byte) {
		path := filepath.Join(dir, "board.toml")
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := Load(path)
		if err != nil {
			return
		}
		src := b.KeySource()
		if !filepath.IsAbs(src.Path) || src.Kind == "" {
			t.Fatalf("loaded a device key placement %+v", src)
		}
		if b.PasswordIterations < merchantpw.MinIterations || b.PasswordIterations > merchantpw.MaxIterations {
			t.Fatalf("loaded a password cost of %d", b.PasswordIterations)
		}
		if b.Name == "" || b.Tty.Device == "" || b.Printer.Device == "" {
			t.Fatalf("loaded an incomplete board: %+v", b)
		}
	})
}
