package printeremu

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEmulatorOverPTY(t *testing.T) {
	var seen []Page
	emu, err := New(Options{Columns: 32, OnPage: func(p Page) { seen = append(seen, p) }})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	f, err := os.OpenFile(emu.Path(), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("\x1b@HELLO\n\x1c&\xc4\xe3\xba\xc3\x1c.\n\x1dVB\x00\x10\x04\x04")); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 1)
	if _, err := f.Read(reply); err != nil || reply[0] != 0x12 {
		t.Fatalf("status reply %x, %v", reply, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pages, err := emu.WaitPages(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := pages[0].Text(32); got != "HELLO\n你好\n" {
		t.Errorf("page text %q", got)
	}
	if len(seen) != 1 {
		t.Errorf("OnPage saw %d pages", len(seen))
	}
}

func TestControl(t *testing.T) {
	emu, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	tests := []struct {
		cmd, want string
		check     func(State) bool
	}{
		{"paper out", "ok paper-out=true", func(s State) bool { return s.PaperOut }},
		{"paper in", "ok paper-out=false", func(s State) bool { return !s.PaperOut }},
		{"cover open", "ok paper-out=false near-end=false cover-open=true", func(s State) bool { return s.CoverOpen }},
		{"cover close", "ok", func(s State) bool { return !s.CoverOpen }},
		{"cutter jam", "ok", func(s State) bool { return s.CutterError }},
		{"runout 3", "ok paper ends after 3 rows", nil},
		{"runout x", "error", nil},
		{"pages", "ok 0", nil},
		{"page 1", "error no page", nil},
		{"current", "ok cut=false interrupted=false\n.\n", nil},
		{"fly", "error unknown command", nil},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Control(emu, tt.cmd, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), tt.want) {
			t.Errorf("%q answered %q, want %q…", tt.cmd, out.String(), tt.want)
		}
		if tt.check != nil && !tt.check(emu.State()) {
			t.Errorf("%q: state %+v", tt.cmd, emu.State())
		}
	}
}
