package serialport

import (
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestOpenAPtyWithAReadTimeout(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	port, err := Open(tty.Name(), 115200, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	buf := make([]byte, 16)
	start := time.Now()
	if n, err := port.Read(buf); n != 0 || err != nil {
		t.Fatalf("quiet line: read %d, %v", n, err)
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("read returned after %v, before its timeout", d)
	}
	if _, err := ptmx.Write([]byte("ok")); err != nil {
		t.Fatal(err)
	}
	n, err := port.Read(buf)
	if err != nil || string(buf[:n]) != "ok" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
}

func TestOpenNamesTheDevice(t *testing.T) {
	_, err := Open("/dev/kpos-no-such-port", 9600, 0)
	if err == nil || !strings.Contains(err.Error(), "serialport: open /dev/kpos-no-such-port") {
		t.Fatalf("err %v", err)
	}
}
