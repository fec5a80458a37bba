package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFileBook: after a cut a file may be as the last finished run left it
// or newer, never gone and never older; receipts are never taken back; the
// log, the journal and temporary files are not held to it.
func TestFileBook(t *testing.T) {
	put := func(t *testing.T, dir, rel, body string) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		cut  func(t *testing.T, dir string) // what the cut left
		want []string                       // substrings of what was lost
	}{
		{"as left", func(t *testing.T, dir string) {}, nil},
		{"newer", func(t *testing.T, dir string) { put(t, dir, "keys.db", "v3") }, nil},
		{"older", func(t *testing.T, dir string) {
			// The cut forgot the last run's write: the older file, with
			// its older time, is back.
			put(t, dir, "keys.db", "v1")
			old := time.Now().Add(-time.Hour)
			os.Chtimes(filepath.Join(dir, "keys.db"), old, old)
		}, []string{"keys.db: back at an older version"}},
		{"an earlier state written again by the cut run", func(t *testing.T, dir string) { put(t, dir, "keys.db", "v1") }, nil},
		{"gone", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "binding.json")) }, []string{"binding.json: gone"}},
		{"receipt gone", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "receipts", "r1.txt")) },
			[]string{"receipts/r1.txt: gone"}},
		{"receipt changed", func(t *testing.T, dir string) { put(t, dir, "receipts/r1.txt", "other") },
			[]string{"receipts/r1.txt: changed after it was printed"}},
		{"log, journal and temporary files are free", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "kpos.log"))
			os.Remove(filepath.Join(dir, "journal.db"))
			os.Remove(filepath.Join(dir, ".keys.db.tmp-1"))
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			b := newFileBook()
			put(t, dir, "keys.db", "v1")
			put(t, dir, "binding.json", "b1")
			if err := b.snapshot(dir); err != nil {
				t.Fatal(err)
			}
			put(t, dir, "keys.db", "v2")
			for rel, body := range map[string]string{"receipts/r1.txt": "receipt", "kpos.log": "log", "journal.db": "j", ".keys.db.tmp-1": "t"} {
				put(t, dir, rel, body)
			}
			if err := b.snapshot(dir); err != nil {
				t.Fatal(err)
			}
			tc.cut(t, dir)
			got := b.check(dir)
			if len(got) != len(tc.want) {
				t.Fatalf("lost %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("%q does not say %q", got[i], tc.want[i])
				}
			}
		})
	}
}
