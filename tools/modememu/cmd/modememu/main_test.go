package main

import (
	"bytes"
	"strings"
	"testing"

	"kpos/tools/modememu"
)

func TestControl(t *testing.T) {
	emu, err := modememu.New(modememu.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer emu.Close()
	tests := []struct {
		in, want string
	}{
		{"sim off\n", "ok\n"},
		{"slow 10ms\n", "ok\n"},
		{"slow soon\n", "slow: "},
		{"drop\n", "dropped 0\nok\n"},
		{"power\nstats\n", "ok\n{PowerOns:1 PowerOffs:1 "},
		{"dance\n", `unknown command "dance"`},
		{"\nquit\nsim on\n", ""},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		if err := control(emu, strings.NewReader(tc.in), &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), tc.want) {
			t.Errorf("%q: got %q, want prefix %q", tc.in, out.String(), tc.want)
		}
	}
}
