package fake

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"kpos/hal"
)

// Exchange is one scripted command and the card's answer.
type Exchange struct {
	Command  []byte
	Response []byte // data followed by SW1 SW2
}

// X builds an Exchange from hex strings (spaces allowed), for readable scripts.
func X(command, response string) Exchange {
	return Exchange{Command: mustHex(command), Response: mustHex(response)}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(fmt.Sprintf("fake: bad hex %q: %v", s, err))
	}
	return b
}

// PlaybackCard is a card that replays a scripted APDU conversation and fails
// on the first command the script did not expect, the way a strict test peer
// does. After a failure every further command fails too.
type PlaybackCard struct {
	Script []Exchange
	Iface  hal.CardInterface
	Answer []byte // ATR

	mu   sync.Mutex
	next int
	err  error
}

var _ hal.Card = (*PlaybackCard)(nil)

// Transmit answers the next scripted command.
func (c *PlaybackCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	if c.next >= len(c.Script) {
		c.err = fmt.Errorf("fake: unexpected command %X after the script ended", apdu)
		return nil, c.err
	}
	want := c.Script[c.next]
	if !bytes.Equal(want.Command, apdu) {
		c.err = fmt.Errorf("fake: step %d: got command %X, script expects %X", c.next, apdu, want.Command)
		return nil, c.err
	}
	c.next++
	return append([]byte(nil), want.Response...), nil
}

// ATR returns the scripted answer to reset.
func (c *PlaybackCard) ATR() []byte {
	if c.Answer == nil {
		return []byte{0x3B, 0x00}
	}
	return c.Answer
}

// Interface returns the scripted interface, contact by default.
func (c *PlaybackCard) Interface() hal.CardInterface {
	if c.Iface == 0 {
		return hal.Contact
	}
	return c.Iface
}

// Err returns the first mismatch, or an error when script steps are left
// unplayed; nil when the conversation went exactly as scripted.
func (c *PlaybackCard) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.next != len(c.Script) {
		return fmt.Errorf("fake: %d of %d scripted commands were never sent", len(c.Script)-c.next, len(c.Script))
	}
	return nil
}

// RecordingCard passes commands to another card and keeps the conversation.
type RecordingCard struct {
	hal.Card

	mu  sync.Mutex
	Log []Exchange
}

// Transmit forwards to the wrapped card and records the exchange.
func (c *RecordingCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	resp, err := c.Card.Transmit(ctx, apdu)
	c.mu.Lock()
	c.Log = append(c.Log, Exchange{Command: append([]byte(nil), apdu...), Response: append([]byte(nil), resp...)})
	c.mu.Unlock()
	return resp, err
}

// Count returns the number of exchanges so far.
func (c *RecordingCard) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.Log)
}
