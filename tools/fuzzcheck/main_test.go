package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The module itself passes: every parser has a fuzz target or a reason.
func TestModulePasses(t *testing.T) {
	problems, err := check(filepath.Join("..", ".."), "tools/fuzzcheck/allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("fuzzcheck:\n%s", strings.Join(problems, "\n"))
	}
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindsWhatIsMissing(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{
		"firmware/p/p.go": `package p
type Store struct{}
func ParseA(s string) error { return nil }
func DecodeB(b []byte) error { return nil }
func (s *Store) Load() error { return nil }
func (s store) LoadHidden() error { return nil }
type store struct{}
func parseHidden() {}
func LoadC() error { return nil }
func Other() {}
`,
		"firmware/p/p_fuzz_test.go": `package p
import "testing"
func FuzzA(f *testing.F) { _ = DecodeB(nil); f.Fuzz(func(t *testing.T, s string) { _ = ParseA(s); helper() }) }
func helper() { var s Store; _ = s.Load() }
`,
		"drivers/d/d.go": `package d
func UnmarshalX(b []byte) error { return nil }
`,
		"boards/b/b.go": `package b
func LoadBoard() {}
`,
		"tools/t/t.go": `package t
func ParseIgnored() {}
`,
		"allow.txt": `# comment
firmware/p.LoadC: reads a trusted constant
firmware/p.ParseA: stale: a fuzz target covers it
firmware/p.Gone: no longer exists
`,
	})
	problems, err := check(root, "allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"boards/b.LoadBoard: no fuzz target calls it, and it is not in the allow-list",
		"drivers/d.UnmarshalX: no fuzz target calls it, and it is not in the allow-list",
		"firmware/p.DecodeB: no fuzz target calls it, and it is not in the allow-list",
		"firmware/p.Gone: in the allow-list, but no such exported parser",
		"firmware/p.ParseA: has a fuzz target; remove it from the allow-list",
	}
	if strings.Join(problems, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

func TestAllowListNeedsReasons(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"firmware/p/p.go": "package p\n", "allow.txt": "firmware/p.ParseA:\n"})
	if _, err := check(root, "allow.txt"); err == nil {
		t.Fatal("an entry without a reason was accepted")
	}
}
