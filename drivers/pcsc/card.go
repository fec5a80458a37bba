package pcsc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"kpos/hal"
)

// maxChain bounds the GET RESPONSE and re-send rounds of one command, so a
// card that keeps answering 61xx cannot hold the terminal.
const maxChain = 32

// Card is a connected card in a PC/SC reader.
type Card struct {
	h     pcscCard
	iface hal.CardInterface

	mu      sync.Mutex
	atr     []byte
	proto   protocol
	removed bool
	closed  bool
}

var _ hal.Card = (*Card)(nil)

// ATR returns the answer to reset read at connection (or at the last reset).
func (c *Card) ATR() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.atr...)
}

// Interface says whether the reader is a contact slot or a contactless field.
func (c *Card) Interface() hal.CardInterface { return c.iface }

// Protocol returns "T=0" or "T=1".
func (c *Card) Protocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto.String()
}

// refresh reads ATR and protocol from the handle.
func (c *Card) refresh() error {
	atr, proto, err := c.h.status()
	if err != nil {
		return fmt.Errorf("pcsc: card status: %w", err)
	}
	c.mu.Lock()
	c.atr, c.proto = atr, proto
	c.mu.Unlock()
	return nil
}

// gone marks the card removed; later calls fail with hal.ErrCardRemoved.
func (c *Card) gone() {
	c.mu.Lock()
	c.removed = true
	c.mu.Unlock()
	_ = c.Close() // the card is gone; the handle is released as far as it can be
}

// Close disconnects from the card and leaves it powered as it is.
func (c *Card) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if err := c.h.disconnect(false); err != nil && !errors.Is(err, errCardRemoved) {
		return fmt.Errorf("pcsc: disconnect: %w", err)
	}
	return nil
}

// Reset warm-resets the card and reconnects; the ATR is read again.
func (c *Card) Reset(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.usable(); err != nil {
		return err
	}
	if err := c.h.reconnect(true); err != nil {
		return c.fail("reset", err)
	}
	return c.refresh()
}

func (c *Card) usable() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.removed:
		return hal.ErrCardRemoved
	case c.closed:
		return errors.New("pcsc: card is closed")
	}
	return nil
}

// fail turns a PC/SC error into the driver's error for op.
func (c *Card) fail(op string, err error) error {
	if errors.Is(err, errCardRemoved) || errors.Is(err, errNoCard) {
		c.mu.Lock()
		c.removed = true
		c.mu.Unlock()
		return fmt.Errorf("pcsc: %s: %w: %w", op, hal.ErrCardRemoved, err)
	}
	if errors.Is(err, errNoService) {
		return fmt.Errorf("pcsc: %s: %w", op, noReader(err))
	}
	return fmt.Errorf("pcsc: %s: %w", op, err)
}

// raw sends one command; when the card was reset under this handle (another
// application reset it, or the reader lost power) it reconnects once and
// sends again.
func (c *Card) raw(cmd []byte) ([]byte, error) {
	resp, err := c.h.transmit(cmd)
	if errors.Is(err, errCardReset) {
		if rerr := c.h.reconnect(false); rerr != nil {
			return nil, c.fail("reconnect after reset", rerr)
		}
		if rerr := c.refresh(); rerr != nil {
			return nil, rerr
		}
		resp, err = c.h.transmit(cmd)
	}
	if err != nil {
		return nil, c.fail("transmit", err)
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("pcsc: transmit: response of %d bytes has no status word", len(resp))
	}
	return resp, nil
}

// Transmit sends one command APDU and returns the response data with SW1 SW2.
// On T=0 it follows 61xx with GET RESPONSE, re-sends the command with the Le
// of a 6Cxx, and fetches the data of a case 4 command that ended with a
// warning (62xx, 63xx), keeping the warning, as EMV Book 1 asks of the
// terminal transport layer.
func (c *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(apdu) < 4 {
		return nil, fmt.Errorf("pcsc: command of %d bytes is not an APDU", len(apdu))
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	cmd := apdu
	var data []byte
	for range maxChain {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		resp, err := c.raw(cmd)
		if err != nil {
			return nil, err
		}
		n := len(resp)
		sw1, sw2 := resp[n-2], resp[n-1]
		data = append(data, resp[:n-2]...)
		switch {
		case sw1 == 0x61:
			cmd = []byte{apdu[0] & 0x03, 0xC0, 0x00, 0x00, sw2}
		case sw1 == 0x6C && n == 2:
			cmd = withLe(cmd, sw2)
		case (sw1 == 0x62 || sw1 == 0x63) && n == 2 && len(data) == 0 && isCase4(apdu) && c.isT0():
			return c.warningData(ctx, apdu[0], sw1, sw2)
		default:
			return append(data, sw1, sw2), nil
		}
	}
	return nil, fmt.Errorf("pcsc: transmit: card chained more than %d responses", maxChain)
}

func (c *Card) isT0() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.proto == protoT0
}

// warningData fetches the data of a case 4 command answered with a warning
// and returns it with the warning status.
func (c *Card) warningData(ctx context.Context, cla, sw1, sw2 byte) ([]byte, error) {
	resp, err := c.Transmit(ctx, []byte{cla & 0x03, 0xC0, 0x00, 0x00, 0x00})
	if err != nil {
		return nil, err
	}
	n := len(resp)
	if resp[n-2] != 0x90 || resp[n-1] != 0x00 {
		return []byte{sw1, sw2}, nil
	}
	return append(resp[:n-2], sw1, sw2), nil
}

// isCase4 reports whether apdu carries both data and an Le.
func isCase4(apdu []byte) bool {
	return len(apdu) > 5 && apdu[4] != 0 && len(apdu) == 6+int(apdu[4])
}

// withLe returns cmd with its Le set to le, appending one when cmd has none.
func withLe(cmd []byte, le byte) []byte {
	out := append([]byte(nil), cmd...)
	switch {
	case len(cmd) == 4: // case 1
		return append(out, le)
	case len(cmd) == 5: // case 2
		out[4] = le
		return out
	case len(cmd) == 5+int(cmd[4]): // case 3
		return append(out, le)
	default: // case 4
		out[len(out)-1] = le
		return out
	}
}
