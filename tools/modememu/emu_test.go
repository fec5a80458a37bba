package modememu

import (
	"bufio"
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/term"
)

// dialogue talks raw AT to the emulator through the slave side of its pty.
type dialogue struct {
	t  *testing.T
	f  *os.File
	rd *bufio.Reader
}

func open(t *testing.T, cfg Config) (*Emulator, *dialogue) {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(e.Path(), os.O_RDWR, 0)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	if _, err := term.MakeRaw(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		e.Close()
	})
	return e, &dialogue{t: t, f: f, rd: bufio.NewReader(f)}
}

// lines sends cmd and returns the non-empty lines up to and including the
// final result (OK, ERROR, +CME ERROR, SEND OK/FAIL) or a "> " prompt.
func (d *dialogue) lines(cmd string) []string {
	d.t.Helper()
	if _, err := d.f.WriteString(cmd + "\r"); err != nil {
		d.t.Fatal(err)
	}
	return d.until(func(l string) bool {
		return l == "OK" || l == "ERROR" || strings.HasPrefix(l, "+CME ERROR") || l == "SEND OK" || l == "SEND FAIL" || l == ">"
	})
}

func (d *dialogue) until(done func(string) bool) []string {
	d.t.Helper()
	d.f.SetReadDeadline(time.Now().Add(3 * time.Second))
	var out []string
	var cur strings.Builder
	for {
		b, err := d.rd.ReadByte()
		if err != nil {
			d.t.Fatalf("after %q: %v", out, err)
		}
		if b == '\r' || b == '\n' {
			if cur.Len() > 0 {
				out = append(out, cur.String())
				if done(cur.String()) {
					return out
				}
				cur.Reset()
			}
			continue
		}
		cur.WriteByte(b)
		if cur.String() == "> " {
			return append(out, ">")
		}
	}
}

func TestDialogue(t *testing.T) {
	e, d := open(t, Config{Operator: "TEST NET", Signal: 17})
	tests := []struct {
		cmd  string
		want []string
	}{
		{"ATE0", []string{"ATE0", "OK"}}, // echo still on for this one
		{"AT", []string{"OK"}},
		{"AT+CPIN?", []string{"+CPIN: READY", "OK"}},
		{"AT+CSQ", []string{"+CSQ: 17,99", "OK"}},
		{"AT+CREG?", []string{"+CREG: 0,1", "OK"}},
		{"AT+COPS?", []string{`+COPS: 0,0,"TEST NET",7`, "OK"}},
		{"AT+QIACT?", []string{"OK"}},
		{`AT+QICSGP=1,1,"CMNET","","",1`, []string{"OK"}},
		{"AT+QIACT=1", []string{"OK"}},
		{"AT+QIACT?", []string{`+QIACT: 1,1,1,"10.64.1.7"`, "OK"}},
		{"AT+QIRD=3,10", []string{"ERROR"}},
		{"AT+BOGUS", []string{"ERROR"}},
	}
	for _, tc := range tests {
		if got := d.lines(tc.cmd); strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: got %q, want %q", tc.cmd, got, tc.want)
		}
	}
	e.SetSIM(false)
	if got := d.lines("AT+CPIN?"); got[0] != "+CME ERROR: 10" {
		t.Errorf("no SIM: %q", got)
	}
}

func TestSocketBridgeAndFaults(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	e, d := open(t, Config{})
	d.lines("ATE0")
	d.lines("AT+CREG=1")
	d.lines("AT+QIACT=1")
	if got := d.lines(`AT+QIOPEN=1,0,"TCP","192.0.2.1",80,0,0`); got[0] != "OK" {
		t.Fatalf("open: %q", got)
	}
	if got := d.until(func(l string) bool { return strings.HasPrefix(l, "+QIOPEN") }); got[len(got)-1] != "+QIOPEN: 0,565" {
		t.Fatalf("a non-loopback host must be refused: %q", got)
	}
	d.lines(`AT+QIOPEN=1,0,"TCP","127.0.0.1",` + strconv.Itoa(port) + `,0,0`)
	if got := d.until(func(l string) bool { return strings.HasPrefix(l, "+QIOPEN") }); got[len(got)-1] != "+QIOPEN: 0,0" {
		t.Fatalf("open: %q", got)
	}
	peer := <-accepted
	defer peer.Close()
	if got := d.lines("AT+QISEND=0,5"); got[len(got)-1] != ">" {
		t.Fatalf("no prompt: %q", got)
	}
	d.f.Write([]byte("a\r\nb\x1a"))
	if got := d.until(func(l string) bool { return l == "SEND OK" }); got[len(got)-1] != "SEND OK" {
		t.Fatal(got)
	}
	buf := make([]byte, 5)
	peer.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := peer.Read(buf); err != nil || string(buf) != "a\r\nb\x1a" {
		t.Fatalf("peer got %q, %v", buf, err)
	}
	peer.Write([]byte("xyz"))
	if got := d.until(func(l string) bool { return strings.HasPrefix(l, "+QIURC") }); got[len(got)-1] != `+QIURC: "recv",0` {
		t.Fatal(got)
	}
	if got := d.lines("AT+QIRD=0,1500"); strings.Join(got, "|") != "+QIRD: 3|xyz|OK" {
		t.Fatalf("read: %q", got)
	}
	if n := e.DropSockets(); n != 1 {
		t.Fatalf("dropped %d", n)
	}
	if got := d.until(func(l string) bool { return strings.HasPrefix(l, "+QIURC") }); got[len(got)-1] != `+QIURC: "closed",0` {
		t.Fatal(got)
	}
	if got := d.lines("AT+QISEND=0,1"); got[0] != "SEND FAIL" {
		t.Fatalf("send on a dropped socket: %q", got)
	}
	e.SetNetwork(false)
	if got := d.until(func(l string) bool { return strings.Contains(l, "pdpdeact") }); got[0] != "+CREG: 2" {
		t.Fatalf("network loss: %q", got)
	}
	if got := d.lines("AT+QIACT=1"); got[0] != "ERROR" {
		t.Fatalf("activation without network: %q", got)
	}
	e.SetNetwork(true)
	e.SetStuck(true)
	if got := d.lines("AT+CREG?"); got[len(got)-2] != "+CREG: 1,2" {
		t.Fatalf("stuck: %q", got)
	}
	// A power cycle clears the stuck radio.
	ctx := context.Background()
	e.Press(ctx, time.Second)
	d.until(func(l string) bool { return l == "POWERED DOWN" })
	e.Press(ctx, time.Second)
	d.until(func(l string) bool { return l == "RDY" })
	if got := d.lines("AT+CREG?"); got[len(got)-2] != "+CREG: 0,1" {
		t.Fatalf("after power cycle: %q", got)
	}
	if s := e.Stats(); s.PowerOffs != 1 || s.PowerOns != 2 || s.SocketsOpen != 2 {
		t.Errorf("stats %+v", s)
	}
}

// FuzzRespond feeds arbitrary command lines to the emulator's command
// handler: it must answer every one without panicking.
func FuzzRespond(f *testing.F) {
	for _, s := range []string{"AT", "AT+QISEND=0,5", "AT+QIRD=0,1500", `AT+QIOPEN=1,0,"TCP","127.0.0.1",1,0,0`, "AT+CREG=9", "AT+QICLOSE=x", "AT+QIRD=", "AT+CEREG?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cmd string) {
		e := &Emulator{on: true, sim: true, network: true, socks: map[int]*socket{}, ctx: context.Background()}
		out, prompt := e.respond(cmd)
		if !prompt && len(out) == 0 {
			t.Fatalf("no answer to %q", cmd)
		}
	})
}
