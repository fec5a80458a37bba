package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"kpos/tools/cardsim"
)

// The command inserts the card into a vpcd listener, answers it and ends
// when the reader closes the connection.
func TestRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "../../../../testdata/cards/visa-credit.toml", l.Addr().String(), true, 0)
	}()
	conn, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if err := cardsim.WriteFrame(conn, []byte{4}); err != nil {
		t.Fatal(err)
	}
	atr, err := cardsim.ReadFrame(conn)
	if err != nil || len(atr) < 2 || atr[0] != 0x3B {
		t.Fatalf("ATR %X, %v", atr, err)
	}
	ppse := append([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E}, "2PAY.SYS.DDF01"...)
	if err := cardsim.WriteFrame(conn, append(ppse, 0)); err != nil {
		t.Fatal(err)
	}
	resp, err := cardsim.ReadFrame(conn)
	if err != nil || resp[len(resp)-2] != 0x90 {
		t.Fatalf("PPSE on the contactless card: %X, %v", resp, err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := run(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "../../../../testdata/cards/magstripe-only.toml", l.Addr().String(), false, 0); err == nil {
		t.Fatal("a card without a chip was inserted")
	}
}
