package pcsclab

import (
	"fmt"
	"net"
	"testing"
)

func TestFreePorts(t *testing.T) {
	port, err := freePorts()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{port, port + 1} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
	d := &Daemon{Port: port}
	if d.ReaderName(1) != "Virtual PCD 00 01" || d.VPCDAddr(1) != fmt.Sprintf("127.0.0.1:%d", port+1) {
		t.Fatalf("slot 1: %q %q", d.ReaderName(1), d.VPCDAddr(1))
	}
}

func TestLogsKeepTheTail(t *testing.T) {
	d := &Daemon{}
	for i := range 250 {
		d.keep(fmt.Sprint(i))
	}
	if len(d.logs) != 200 || d.logs[0] != "50" || d.logs[199] != "249" {
		t.Fatalf("kept %d lines from %q", len(d.logs), d.logs[0])
	}
}
