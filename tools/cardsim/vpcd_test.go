package cardsim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"kpos/hal"
)

// reader plays pcscd's side of the vpcd protocol.
type reader struct {
	t    *testing.T
	conn net.Conn
}

func (r reader) send(b []byte) {
	r.t.Helper()
	if err := WriteFrame(r.conn, b); err != nil {
		r.t.Fatal(err)
	}
}

func (r reader) recv() []byte {
	r.t.Helper()
	b, err := ReadFrame(r.conn)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r reader) xfer(cmd string) string {
	r.t.Helper()
	r.send(mustHex(cmd))
	return fmt.Sprintf("%X", r.recv())
}

func serve(t *testing.T, c *Card) (reader, chan error) {
	t.Helper()
	cardEnd, readerEnd := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- c.Serve(context.Background(), cardEnd) }()
	t.Cleanup(func() { readerEnd.Close() })
	_ = readerEnd.SetDeadline(time.Now().Add(10 * time.Second))
	return reader{t, readerEnd}, done
}

func TestVPCDControlAndT0(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contact)
	r, done := serve(t, c)
	r.send([]byte{vpcdPowerOn})
	r.send([]byte{vpcdATR})
	if atr := r.recv(); !bytes.Equal(atr, c.p.ATR) {
		t.Fatalf("ATR %X", atr)
	}
	// SELECT is case 4: T=0 holds the FCI back behind 61xx.
	sel := apdu("00A40400", c.p.Apps[0].AID, true)
	got := r.xfer(sel)
	if len(got) != 4 || got[:2] != "61" {
		t.Fatalf("SELECT over T=0: %s, want 61xx", got)
	}
	fci := r.xfer("00C00000" + got[2:])
	if fci[len(fci)-4:] != "9000" || fci[:2] != "6F" {
		t.Fatalf("GET RESPONSE: %s", fci)
	}
	// Partial GET RESPONSE, then the rest.
	r.xfer(sel)
	part := r.xfer("00C0000004")
	if len(part) != 12 || part[8:10] != "61" {
		t.Fatalf("partial GET RESPONSE: %s", part)
	}
	// READ RECORD is case 2: a wrong Le gets 6Cxx, the right one the record.
	got = r.xfer("00B2010C00")
	if got[:2] != "6C" {
		t.Fatalf("READ RECORD with Le 00: %s, want 6Cxx", got)
	}
	if rec := r.xfer("00B2010C" + got[2:]); rec[:2] != "70" || rec[len(rec)-4:] != "9000" {
		t.Fatalf("READ RECORD with Le %s: %s", got[2:], rec)
	}
	r.send([]byte{vpcdReset})
	if got := r.xfer("00B2010C00"); got != "6985" {
		t.Fatalf("after reset: %s, want 6985 (nothing selected)", got)
	}
	r.conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("Serve after the reader closed: %v", err)
	}
}

func TestVPCDContactlessIsT1(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contactless)
	r, _ := serve(t, c)
	r.send([]byte{vpcdATR})
	if atr := r.recv(); !bytes.Equal(atr, c.p.ATRCL) {
		t.Fatalf("ATR %X", atr)
	}
	got := r.xfer(apdu("00A40400", ppseName, true))
	if got[:2] != "6F" {
		t.Fatalf("PPSE: %s", got)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contact)
	cardEnd, readerEnd := net.Pipe()
	defer readerEnd.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, cardEnd) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not stop")
	}
}

func TestServeVPCDNoListener(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := newCard(t, "unionpay-debit", hal.Contact)
	if err := c.ServeVPCD(context.Background(), addr); err == nil {
		t.Fatal("connected to nothing")
	}
}

func TestFrames(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"0001 04", "04", nil},
		{"0003 00A404", "00A404", nil},
		{"0000", "", ErrFrame},
		{"0005 0102", "", ErrFrame},
		{"00", "", io.ErrUnexpectedEOF},
		{"", "", io.EOF},
	}
	for _, tt := range tests {
		got, err := ReadFrame(bytes.NewReader(mustHex(tt.in)))
		if !errors.Is(err, tt.err) || fmt.Sprintf("%X", got) != tt.want {
			t.Errorf("ReadFrame(%s) = %X, %v; want %s, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, mustHex("6A82")); err != nil || fmt.Sprintf("%X", buf.Bytes()) != "00026A82" {
		t.Fatalf("WriteFrame: %X %v", buf.Bytes(), err)
	}
	if err := WriteFrame(&buf, nil); err == nil {
		t.Fatal("empty frame written")
	}
}

func TestT0Only(t *testing.T) {
	tests := []struct {
		atr  string
		want bool
	}{
		{"3B021450", true},
		{"3B800181", false},
		{"3B80800101", false},
		{"3B6500002063CBA000", true},
		{"3B", true},
	}
	for _, tt := range tests {
		if got := t0Only(mustHex(tt.atr)); got != tt.want {
			t.Errorf("t0Only(%s) = %t", tt.atr, got)
		}
	}
}
