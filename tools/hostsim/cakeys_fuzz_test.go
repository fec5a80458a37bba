package hostsim

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadCAKeys: CA key files are read by the host simulator as a real
// host reads its key files. No content may panic, and every key that loads
// either encodes for download or is refused with an error.
func FuzzLoadCAKeys(f *testing.F) {
	for _, name := range []string{"capk-test.toml", "capk-published.toml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "emv", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[[capk]]\nrid = \"zz\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text []byte) {
		path := filepath.Join(dir, "capk.toml")
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := LoadCAKeys(path)
		if err != nil {
			return
		}
		for _, k := range keys {
			if ck, err := k.key(); err == nil {
				_ = ck.TLV()
			}
		}
	})
}
