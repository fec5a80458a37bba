package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseRigScript(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // "steps:LINE,LINE" or "rig:ACTION@LINE"
		err  string
	}{
		{"steps only", "keys 1\nexpect screen idle\n", []string{"steps:1,2"}, ""},
		{"an action between steps keeps the file's line numbers", "# start\nkeys 1\nrig printer paper-out\n\nkeys 2\nexpect screen idle\n",
			[]string{"steps:2", "rig:printer paper-out@3", "steps:5,6"}, ""},
		{"actions back to back", "rig modem network-down\nrig printer cover-open\nkeys 1\n",
			[]string{"rig:modem network-down@1", "rig:printer cover-open@2", "steps:3"}, ""},
		{"unknown action", "keys 1\nrig printer explode\n", nil, "unknown rig action"},
		{"a bad step names its line", "keys 1\nrig printer paper-out\nfly away\n", nil, ":3:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			segs, err := parseRigScript("x.txt", tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range segs {
				if s.action != "" {
					got = append(got, "rig:"+s.action+"@"+itoa(s.line))
					continue
				}
				var lines []string
				for _, st := range s.script.Steps {
					lines = append(lines, itoa(st.Line))
				}
				got = append(got, "steps:"+strings.Join(lines, ","))
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHilScenariosParse: every hil scenario (the pending ones too) reads.
func TestHilScenariosParse(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "hil", "*.txt"))
	pending, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "hil", "pending", "*.txt"))
	if len(files) == 0 {
		t.Fatal("no hil scenarios")
	}
	for _, f := range append(files, pending...) {
		if _, err := parseRigScript(f, mustRead(t, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
