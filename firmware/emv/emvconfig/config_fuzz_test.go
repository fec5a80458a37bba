package emvconfig

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig: the EMV parameter files arrive from the acquirer's
// parameter download and the technician's console. No content may panic;
// a configuration that loads has a terminal table and at least one AID.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"terminal.toml", "capk-test.toml"} {
		if b, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "emv", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[terminal]\n[[aid]]\naid = \"A000000333010101\"\n"))
	f.Add([]byte("[[capk]]\nrid = \"A000000333\"\nindex = \"08\"\nmodulus = \"00\"\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text []byte) {
		path := filepath.Join(dir, "params.toml")
		if err := os.WriteFile(path, text, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadConfig(path)
		if err != nil {
			return
		}
		if len(cfg.AIDs) == 0 || cfg.CAPKs == nil {
			t.Fatalf("loaded a configuration without AIDs or a CA key store: %+v", cfg)
		}
	})
}
