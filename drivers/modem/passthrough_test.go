package modem_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"kpos/drivers/modem"
	"kpos/tools/modememu"
)

func TestCheckPassThrough(t *testing.T) {
	tests := []struct {
		cmd string
		ok  bool
	}{
		{"AT", true},
		{"ATI", true},
		{"at+csq", true},
		{"AT+CGSN", true},
		{"AT+QCCID", true},
		{"AT+CREG?", true},
		{"AT+COPS=?", true},
		{`AT+QENG="servingcell"`, true},
		// Everything that could disturb the driver or an open socket.
		{"AT+QIDEACT=1", false},
		{"AT+QICLOSE=0", false},
		{"AT+QIOPEN=1,0,\"TCP\",\"1.2.3.4\",80,0,0", false},
		{"AT+QISEND=0,5", false},
		{"AT+QIRD=0,1500", false},
		{"AT+CFUN=0", false},
		{"AT+CFUN=1,1", false},
		{"AT+QPOWD", false},
		{"ATE1", false},
		{"AT+CMEE=0", false},
		{"AT+CREG=0", false},
		{"AT+IPR=9600", false},
		{"AT&F", false},
		{"ATZ", false},
		{"ATD*99#", false},
		{"ATO", false},
		{"ATH", false},
		{"AT+CGDCONT=1,\"IP\",\"X\"", false},
		{"AT+COPS=2", false},
		{"AT+CSQ;+QIDEACT=1", false},
		{"AT+CSQ?;+CFUN=0", false},
		{"+++", false},
		{"A/", false},
		{"AT+CSQ\r\nAT+QPOWD", false},
		{"AT+CREG=?X", false},
		{"AT+?", false},
	}
	for _, tc := range tests {
		err := modem.CheckPassThrough(tc.cmd)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPassThrough(%q) = %v, want ok=%v", tc.cmd, err, tc.ok)
		}
		if err != nil && !errors.Is(err, modem.ErrATRefused) {
			t.Errorf("CheckPassThrough(%q) = %v, not ErrATRefused", tc.cmd, err)
		}
	}
}

// The pass-through answers with the module's lines, its final result last,
// while a socket stays open and keeps carrying data; a refused command is
// never sent.
func TestATPassThroughBesideAnOpenSocket(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{Signal: 21}, nil)
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "before")
	tests := []struct {
		cmd  string
		want []string
	}{
		{"AT+CSQ", []string{"+CSQ: 21,99", "OK"}},
		{"AT+CREG?", []string{"+CREG: 1,1", "OK"}},
		{"ATI", []string{"Quectel", "EC200T", "Revision: EMU", "OK"}},
		{"AT+CIMI", []string{"460000000000001", "OK"}},
		{"AT+XYZ?", []string{"ERROR"}}, // an error is an answer
	}
	for _, tc := range tests {
		got, err := r.m.AT(ctx, tc.cmd)
		if err != nil {
			t.Fatalf("AT(%s): %v", tc.cmd, err)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("AT(%s) = %q, want %q", tc.cmd, got, tc.want)
		}
		roundTrip(t, c, "after "+tc.cmd)
	}
	before := r.emu.Stats().Commands
	if _, err := r.m.AT(ctx, "AT+QICLOSE=0"); !errors.Is(err, modem.ErrATRefused) {
		t.Errorf("AT+QICLOSE=0: %v, want refused", err)
	}
	if n := r.emu.Stats().Commands; n != before {
		t.Errorf("a refused command reached the module (%d commands, was %d)", n, before)
	}
	roundTrip(t, c, "still open")
}

// A module that does not answer within the command timeout is an error, not
// a hang.
func TestATPassThroughDeadline(t *testing.T) {
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.CommandTimeout = 200 * time.Millisecond })
	if err := r.m.Start(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	r.emu.SetDelay(2 * time.Second)
	start := time.Now()
	_, err := r.m.AT(ctxT(t, 5*time.Second), "AT+CSQ")
	if err == nil {
		t.Fatal("no error from a module that does not answer")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("gave up after %s, want about the command timeout", d)
	}
}

// Whatever a technician types, what passes is one printable command that
// is AT alone, a read or test form, or a listed report.
func FuzzCheckPassThrough(f *testing.F) {
	for _, s := range []string{"AT", "AT+CSQ", "AT+CREG?", "AT+COPS=?", "AT+QIDEACT=1", "AT+CSQ;+CFUN=0", "ATD*99#", "+++", "AT+\x00?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		if modem.CheckPassThrough(cmd) != nil {
			return
		}
		up := strings.ToUpper(strings.TrimSpace(cmd))
		if strings.ContainsAny(up, ";\r\n\x1a\x1b") || !strings.HasPrefix(up, "AT") {
			t.Fatalf("%q passed", cmd)
		}
		if !strings.HasSuffix(up, "?") && !strings.HasPrefix(up, "ATI") && !strings.HasPrefix(up, "AT+") && up != "AT" {
			t.Fatalf("%q passed", cmd)
		}
		if strings.Contains(up, "=") && !strings.HasSuffix(up, "=?") && !strings.HasPrefix(up, "AT+QENG=") {
			t.Fatalf("%q passed: a set command", cmd)
		}
	})
}
