package binding

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFileStoreLoad: the binding record is read from storage at every
// boot. No content may panic; a record that loads saves and loads back the
// same.
func FuzzFileStoreLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "binding", "*.json"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":1,"state":"bound","tid":"12345678"}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, raw []byte) {
		path := filepath.Join(dir, "binding.json")
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		s := NewFileStore(path)
		r, err := s.Load()
		if err != nil {
			return
		}
		if err := s.Save(r); err != nil {
			t.Fatal(err)
		}
		again, err := s.Load()
		if err != nil {
			t.Fatalf("a saved record does not load: %v", err)
		}
		a, _ := json.Marshal(r)
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("record changed on a save:\n%s\n%s", a, b)
		}
	})
}
