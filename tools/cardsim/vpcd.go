package cardsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"kpos/hal"
)

// The vpcd protocol (vsmartcard's virtual reader driver for pcscd): the
// card is a TCP client of the driver; every message both ways is a two-byte
// big-endian length and a payload. A one-byte payload from the reader is a
// control byte; anything longer is a command APDU.
const (
	vpcdPowerOff byte = 0
	vpcdPowerOn  byte = 1
	vpcdReset    byte = 2
	vpcdATR      byte = 4
)

// DefaultVPCD is where pcscd's vpcd driver waits for the card of its first
// virtual reader ("Virtual PCD 00 00").
const DefaultVPCD = "127.0.0.1:35963"

// ErrFrame reports a malformed vpcd message.
var ErrFrame = errors.New("cardsim: bad vpcd frame")

// ReadFrame reads one length-prefixed vpcd message. An empty message is a
// framing error.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%w: %d-byte message cut short: %w", ErrFrame, n, err)
	}
	return b, nil
}

// WriteFrame writes one length-prefixed vpcd message.
func WriteFrame(w io.Writer, b []byte) error {
	if len(b) == 0 || len(b) > 0xFFFF {
		return fmt.Errorf("%w: cannot send %d bytes", ErrFrame, len(b))
	}
	msg := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(b)), uint16(len(b)))
	_, err := w.Write(append(msg, b...))
	return err
}

// t0Link emulates the T=0 transport of a contact card whose ATR offers only
// T=0: a case 4 command's data is held back behind 61xx until GET RESPONSE,
// and a case 2 command with the wrong Le is answered 6Cxx. The EMV kernel
// never sees this: the reader driver hides it (hal.Card's contract).
type t0Link struct {
	pending []byte // response data waiting for GET RESPONSE
	sw      [2]byte
}

// exchange passes cmd to the card through T=0 rules.
func (t *t0Link) exchange(c *Card, cmd []byte) []byte {
	if len(cmd) == 5 && cmd[1] == 0xC0 && t.pending != nil {
		le := int(cmd[4])
		if le == 0 || le > len(t.pending) {
			le = len(t.pending)
		}
		out := append([]byte(nil), t.pending[:le]...)
		t.pending = t.pending[le:]
		if len(t.pending) > 0 {
			return append(out, 0x61, byte(min(len(t.pending), 256)))
		}
		t.pending = nil
		return append(out, t.sw[0], t.sw[1])
	}
	t.pending = nil
	resp := c.handleLocked(cmd)
	data, sw := resp[:len(resp)-2], resp[len(resp)-2:]
	if len(data) == 0 {
		return resp
	}
	parsed, err := parseCommand(cmd)
	if err != nil {
		return resp
	}
	switch {
	case parsed.case4 || (len(parsed.data) > 0 && !parsed.hasLe):
		t.pending = bytes.Clone(data)
		t.sw = [2]byte{sw[0], sw[1]}
		return []byte{0x61, byte(min(len(data), 256))}
	case len(cmd) == 5 && parsed.le != len(data):
		return []byte{0x6C, byte(len(data))}
	}
	return resp
}

// t0Only reports whether an ATR offers T=0 alone: it walks the TDi bytes
// and looks for any protocol other than T=0 (or T=15, global bytes).
func t0Only(atr []byte) bool {
	if len(atr) < 2 {
		return true
	}
	y, i := atr[1]>>4, 2
	for y != 0 {
		for _, bit := range []byte{0x1, 0x2, 0x4} { // TAi, TBi, TCi
			if y&bit != 0 {
				i++
			}
		}
		if y&0x8 == 0 || i >= len(atr) {
			return true
		}
		td := atr[i]
		i++
		if p := td & 0x0F; p != 0 && p != 0x0F {
			return false
		}
		y = td >> 4
	}
	return true
}

// speaksT0 reports whether the card is a contact card with a T=0 ATR.
func (c *Card) speaksT0() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.iface == hal.Contact && t0Only(c.p.ATR)
}

// ServeVPCD plugs the card into pcscd's vpcd reader at addr: it connects
// (the card is inserted), answers the reader until ctx is done or the reader
// closes the connection, then disconnects (the card is removed). A contact
// card whose ATR offers only T=0 speaks T=0 (61xx, 6Cxx) on this link.
func (c *Card) ServeVPCD(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cardsim: connect to vpcd: %w", err)
	}
	return c.Serve(ctx, conn)
}

// Serve answers the vpcd protocol on conn and closes it when ctx is done or
// the peer goes away. A clean close by the peer returns nil.
func (c *Card) Serve(ctx context.Context, conn net.Conn) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer conn.Close()
	var link t0Link
	for {
		quickAck(conn)
		msg, err := ReadFrame(conn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("cardsim: vpcd: %w", err)
		}
		var reply []byte
		if len(msg) == 1 {
			switch msg[0] {
			case vpcdPowerOff, vpcdPowerOn, vpcdReset:
				c.Reset()
				link = t0Link{}
			case vpcdATR:
				reply = c.ATR()
			default:
				return fmt.Errorf("%w: unknown control byte %d", ErrFrame, msg[0])
			}
		} else {
			if c.speaksT0() {
				reply = link.exchange(c, msg)
			} else {
				reply = c.handleLocked(msg)
			}
		}
		if reply == nil {
			continue
		}
		if err := WriteFrame(conn, reply); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("cardsim: vpcd: %w", err)
		}
	}
}
