package pcsc

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"
)

// fakePCSC simulates a PC/SC service with readers and cards, in the way
// gousb's tests simulate libusb.
type fakePCSC struct {
	mu       sync.Mutex
	down     bool     // the service is not running
	readers  []string // in listing order
	cards    map[string]*fakeCard
	events   map[string]int // card events per reader, reported in the high word
	notify   chan struct{}  // closed and replaced on every change
	cancels  chan struct{}  // closed by cancel
	connects int
}

func newFakePCSC(readers ...string) *fakePCSC {
	return &fakePCSC{readers: readers, cards: map[string]*fakeCard{}, events: map[string]int{}, notify: make(chan struct{}), cancels: make(chan struct{})}
}

func (f *fakePCSC) changed() {
	close(f.notify)
	f.notify = make(chan struct{})
}

func (f *fakePCSC) insert(reader string, c *fakeCard) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cards[reader] = c
	f.events[reader]++
	f.changed()
}

func (f *fakePCSC) remove(reader string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.cards[reader]; c != nil {
		c.mu.Lock()
		c.gone = true
		c.mu.Unlock()
	}
	delete(f.cards, reader)
	f.events[reader]++
	f.changed()
}

func (f *fakePCSC) addReader(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readers = append(f.readers, name)
	f.changed()
}

func (f *fakePCSC) establish() (pcscContext, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return nil, fmt.Errorf("%w (fake 0x8010001D)", errNoService)
	}
	return fakeContext{f}, nil
}

type fakeContext struct{ f *fakePCSC }

func (c fakeContext) listReaders() ([]string, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if c.f.down {
		return nil, errNoService
	}
	if len(c.f.readers) == 0 {
		return nil, errNoReaders
	}
	return append([]string(nil), c.f.readers...), nil
}

// state returns the reader's state now. Call with f.mu held.
func (f *fakePCSC) state(reader string) (stateFlag, bool) {
	if reader == pnpNotification {
		return stateFlag(len(f.readers) << 16), true
	}
	for _, r := range f.readers {
		if r == reader {
			count := stateFlag(f.events[reader]&0xFFFF) << 16
			if f.cards[reader] != nil {
				return statePresent | count, true
			}
			return stateEmpty | count, true
		}
	}
	return 0, false
}

func (c fakeContext) getStatusChange(states []readerState, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.f.mu.Lock()
		if c.f.down {
			c.f.mu.Unlock()
			return errNoService
		}
		differ := false
		for i := range states {
			now, ok := c.f.state(states[i].reader)
			if !ok {
				c.f.mu.Unlock()
				return errUnknownReader
			}
			states[i].event = now
			if now != states[i].current&^stateChanged {
				states[i].event |= stateChanged
				differ = true
			}
		}
		notify, cancels := c.f.notify, c.f.cancels
		c.f.mu.Unlock()
		if differ {
			return nil
		}
		select {
		case <-notify:
		case <-cancels:
			c.f.mu.Lock()
			c.f.cancels = make(chan struct{})
			c.f.mu.Unlock()
			return errCancelled
		case <-deadline.C:
			return errTimeout
		}
	}
}

func (c fakeContext) connect(reader string) (pcscCard, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.connects++
	card := c.f.cards[reader]
	if card == nil {
		return nil, errNoCard
	}
	return card, nil
}

func (c fakeContext) cancel() error {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	select {
	case <-c.f.cancels:
	default:
		close(c.f.cancels)
	}
	return nil
}

func (c fakeContext) release() error { return nil }

// fakeCard answers each command from a table of hex command → hex response,
// the way a T=0 card behind a transparent reader does.
type fakeCard struct {
	mu         sync.Mutex
	atr        []byte
	proto      protocol
	answers    map[string]string
	resetOnce  bool // the next transmit fails with errCardReset
	gone       bool
	sent       []string
	reconnects int
	resets     int
}

func (c *fakeCard) transmit(cmd []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return nil, errCardRemoved
	}
	if c.resetOnce {
		c.resetOnce = false
		return nil, errCardReset
	}
	k := strings.ToUpper(hex.EncodeToString(cmd))
	c.sent = append(c.sent, k)
	a, ok := c.answers[k]
	if !ok {
		return []byte{0x6D, 0x00}, nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(a, " ", ""))
	if err != nil {
		panic(err)
	}
	return b, nil
}

func (c *fakeCard) reconnect(reset bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return errCardRemoved
	}
	c.reconnects++
	if reset {
		c.resets++
	}
	return nil
}

func (c *fakeCard) status() ([]byte, protocol, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone {
		return nil, protoUnknown, errCardRemoved
	}
	return bytes.Clone(c.atr), c.proto, nil
}

func (c *fakeCard) disconnect(reset bool) error { return nil }

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}
