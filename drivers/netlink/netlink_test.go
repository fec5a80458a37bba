package netlink

import (
	"context"
	"net"
	"testing"
)

func TestDialAndRefusal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	l := New(Config{})
	c, err := l.Dial(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("%q %v", buf, err)
	}
	c.Close()
	addr := ln.Addr().String()
	ln.Close()
	if _, err := l.Dial(context.Background(), "tcp", addr); err == nil {
		t.Fatal("dialled a closed port")
	}
}

func TestStatusOfAMissingInterface(t *testing.T) {
	st, err := New(Config{Interface: "no-such-if0"}).Status(context.Background())
	if err != nil || st.Up || st.Detail != "no-such-if0 down" {
		t.Fatalf("%+v %v", st, err)
	}
}
