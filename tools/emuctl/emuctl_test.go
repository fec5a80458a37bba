package emuctl

import (
	"bufio"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestLinkReplacesAndRemoves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "printer")
	os.WriteFile(path, []byte("stale"), 0o600)
	remove, err := Link(path, "/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(path); target != "/dev/null" {
		t.Fatalf("link points at %q", target)
	}
	remove()
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatal("the link is still there")
	}
}

func TestControlServesEachConnection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ctl")
	stop, err := Control(path, func(c net.Conn) error {
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return err
		}
		_, err = c.Write([]byte("ok " + line))
		return err
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for i := 0; i < 2; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("paper-out\n"))
		got, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if got != "ok paper-out\n" {
			t.Fatalf("reply %q", got)
		}
	}
}
