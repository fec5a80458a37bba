package scanneremu

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestControl(t *testing.T) {
	emu, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	f, err := os.OpenFile(emu.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct{ cmd, want, line string }{
		{"show 6222 0001", "ok shown", "6222 0001\r\n"},
		{"raw 4e520d0a", "ok sent 4 bytes", "NR\r\n"},
		{"raw zz", "error raw wants hex", ""},
		{"show", "error show wants", ""},
		{"status", "ok mode=continuous triggered=false triggers=0 stops=0", ""},
		{"jump", "error unknown command", ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Control(emu, tt.cmd, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), tt.want) {
			t.Errorf("%q answered %q, want %q…", tt.cmd, out.String(), tt.want)
		}
		if tt.line == "" {
			continue
		}
		got := make([]byte, 0, len(tt.line))
		buf := make([]byte, 64)
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < len(tt.line) && time.Now().Before(deadline) {
			n, err := f.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		if string(got) != tt.line {
			t.Errorf("%q sent %q, want %q", tt.cmd, got, tt.line)
		}
	}
}
