package pcsc

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"kpos/hal"
)

func testReader(t *testing.T, f *fakePCSC, cfg Config) *Reader {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	r, err := newReader(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func waitEvent(t *testing.T, r *Reader) hal.CardEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := r.WaitEvent(ctx)
	if err != nil {
		t.Fatalf("WaitEvent: %v", err)
	}
	return ev
}

func TestDiscoveryByPattern(t *testing.T) {
	tests := []struct {
		name    string
		readers []string
		pattern string
		want    string
	}{
		{"first reader when no pattern", []string{"ACS ACR39U 00 00", "Virtual PCD 00 00"}, "", "ACS ACR39U 00 00"},
		{"pattern picks the virtual reader", []string{"ACS ACR39U 00 00", "Virtual PCD 00 00", "Virtual PCD 00 01"}, `^Virtual PCD 00 00$`, "Virtual PCD 00 00"},
		{"pattern picks a PICC slot", []string{"ACS ACR1252 1S CL Reader [ACR1252 Dual Reader SAM] 00 00", "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 01"}, `PICC`, "ACS ACR1252 1S CL Reader [ACR1252 Dual Reader PICC] 00 01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakePCSC(tt.readers...)
			r := testReader(t, f, Config{Slots: []Slot{{Pattern: tt.pattern}}})
			if _, err := r.Present(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := r.Names()[0]; got != tt.want {
				t.Fatalf("reader %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBadPattern(t *testing.T) {
	if _, err := newReader(newFakePCSC(), Config{Slots: []Slot{{Pattern: "("}}}); err == nil {
		t.Fatal("bad pattern accepted")
	}
}

func TestNoService(t *testing.T) {
	f := newFakePCSC("Virtual PCD 00 00")
	f.down = true
	r := testReader(t, f, Config{})
	if _, err := r.Present(context.Background()); !errors.Is(err, hal.ErrNoReader) {
		t.Fatalf("Present: %v, want hal.ErrNoReader", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := r.WaitEvent(ctx); !errors.Is(err, hal.ErrNoReader) {
		t.Fatalf("WaitEvent: %v, want hal.ErrNoReader", err)
	}
	// The service comes up: the reader works without being reopened.
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	if _, err := r.Present(context.Background()); err != nil {
		t.Fatalf("after the service came up: %v", err)
	}
}

func TestNoMatchingReader(t *testing.T) {
	f := newFakePCSC("ACS ACR39U 00 00")
	r := testReader(t, f, Config{Slots: []Slot{{Pattern: "PICC"}}})
	if _, err := r.Present(context.Background()); !errors.Is(err, hal.ErrNoReader) {
		t.Fatalf("Present: %v, want hal.ErrNoReader", err)
	}
}

func TestInsertRemoveEvents(t *testing.T) {
	for _, iface := range []hal.CardInterface{hal.Contact, hal.Contactless} {
		t.Run(iface.String(), func(t *testing.T) {
			f := newFakePCSC("Virtual PCD 00 00")
			r := testReader(t, f, Config{Slots: []Slot{{Pattern: "Virtual", Interface: iface}}})
			atr := []byte{0x3B, 0x02, 0x14, 0x50}
			go f.insert("Virtual PCD 00 00", &fakeCard{atr: atr, proto: protoT1})
			ev := waitEvent(t, r)
			wantKind := hal.CardInserted
			if iface == hal.Contactless {
				wantKind = hal.CardTapped
			}
			if ev.Kind != wantKind || ev.Card == nil {
				t.Fatalf("event %v card %v, want %v with a card", ev.Kind, ev.Card, wantKind)
			}
			if !bytes.Equal(ev.Card.ATR(), atr) || ev.Card.Interface() != iface {
				t.Fatalf("ATR %X interface %v", ev.Card.ATR(), ev.Card.Interface())
			}
			if ok, err := r.Present(context.Background()); err != nil || !ok {
				t.Fatalf("Present = %t, %v; want true", ok, err)
			}
			go f.remove("Virtual PCD 00 00")
			if ev2 := waitEvent(t, r); ev2.Kind != hal.CardRemoved {
				t.Fatalf("event %v, want removed", ev2.Kind)
			}
			if _, err := ev.Card.Transmit(context.Background(), []byte{0x00, 0xA4, 0x04, 0x00}); !errors.Is(err, hal.ErrCardRemoved) {
				t.Fatalf("Transmit after removal: %v, want hal.ErrCardRemoved", err)
			}
			if ok, err := r.Present(context.Background()); err != nil || ok {
				t.Fatalf("Present = %t, %v; want false", ok, err)
			}
		})
	}
}

// A dual reader: a contact slot and a contactless field as two PC/SC
// readers behind one hal.CardReader.
func TestTwoSlots(t *testing.T) {
	const contact, field = "ACS ACR1252 Dual Reader SAM 00 00", "ACS ACR1252 Dual Reader PICC 00 01"
	f := newFakePCSC(field, contact)
	r := testReader(t, f, Config{Slots: []Slot{{Pattern: "SAM", Interface: hal.Contact}, {Pattern: "PICC", Interface: hal.Contactless}}})
	if ok, err := r.Present(context.Background()); err != nil || ok {
		t.Fatalf("Present = %t, %v", ok, err)
	}
	if n := r.Names(); n[0] != contact || n[1] != field {
		t.Fatalf("slots matched %q", n)
	}
	// Both change before the driver looks: two events, one per call.
	f.insert(field, &fakeCard{atr: []byte{0x3B, 0x80, 0x80, 0x01, 0x01}})
	f.insert(contact, &fakeCard{atr: []byte{0x3B, 0x00}})
	got := map[hal.CardEventKind]hal.CardInterface{}
	for range 2 {
		ev := waitEvent(t, r)
		got[ev.Kind] = ev.Card.Interface()
	}
	if got[hal.CardInserted] != hal.Contact || got[hal.CardTapped] != hal.Contactless {
		t.Fatalf("events %v", got)
	}
	go f.remove(field)
	if ev := waitEvent(t, r); ev.Kind != hal.CardRemoved {
		t.Fatalf("event %v, want removed", ev.Kind)
	}
	if ok, err := r.Present(context.Background()); err != nil || !ok {
		t.Fatalf("Present = %t, %v with the contact card still in", ok, err)
	}
}

// A card taken out and another put in between two looks is reported as a
// removal and an insertion, not missed.
func TestCardSwappedBetweenPolls(t *testing.T) {
	f := newFakePCSC("Virtual PCD 00 00")
	r := testReader(t, f, Config{})
	f.insert("Virtual PCD 00 00", &fakeCard{atr: []byte{0x3B, 0x01}})
	first := waitEvent(t, r)
	f.remove("Virtual PCD 00 00")
	f.insert("Virtual PCD 00 00", &fakeCard{atr: []byte{0x3B, 0x02}})
	if ev := waitEvent(t, r); ev.Kind != hal.CardRemoved {
		t.Fatalf("event %v, want removed", ev.Kind)
	}
	second := waitEvent(t, r)
	if second.Kind != hal.CardInserted || !bytes.Equal(second.Card.ATR(), []byte{0x3B, 0x02}) {
		t.Fatalf("event %v, want the second card inserted", second.Kind)
	}
	if _, err := first.Card.Transmit(context.Background(), mustHex("0084000008")); !errors.Is(err, hal.ErrCardRemoved) {
		t.Fatalf("the first card still answers: %v", err)
	}
}

func TestCardAlreadyPresent(t *testing.T) {
	f := newFakePCSC("Virtual PCD 00 00")
	f.cards["Virtual PCD 00 00"] = &fakeCard{atr: []byte{0x3B, 0x00}}
	r := testReader(t, f, Config{})
	if ev := waitEvent(t, r); ev.Kind != hal.CardInserted {
		t.Fatalf("event %v, want inserted for a card already in the slot", ev.Kind)
	}
}

func TestReaderAppearsLater(t *testing.T) {
	f := newFakePCSC()
	r := testReader(t, f, Config{Slots: []Slot{{Pattern: "Virtual"}}})
	go func() {
		f.addReader("Virtual PCD 00 00")
		f.insert("Virtual PCD 00 00", &fakeCard{atr: []byte{0x3B, 0x00}})
	}()
	if ev := waitEvent(t, r); ev.Kind != hal.CardInserted {
		t.Fatalf("event %v, want inserted", ev.Kind)
	}
	if r.Names()[0] != "Virtual PCD 00 00" {
		t.Fatalf("reader %q", r.Names()[0])
	}
}

func TestWaitEventHonoursContext(t *testing.T) {
	f := newFakePCSC("Virtual PCD 00 00")
	r := testReader(t, f, Config{Poll: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.WaitEvent(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("WaitEvent returned %v after the deadline", d)
	}
}

func TestTransmitT0(t *testing.T) {
	tests := []struct {
		name    string
		proto   protocol
		answers map[string]string
		cmd     string
		want    string
		sent    []string
	}{
		{
			name:    "plain answer",
			proto:   protoT1,
			answers: map[string]string{"00B2010C00": "7003 5A0112 9000"},
			cmd:     "00B2010C00",
			want:    "70035A01129000",
			sent:    []string{"00B2010C00"},
		},
		{
			name:  "61xx chain with GET RESPONSE",
			proto: protoT0,
			answers: map[string]string{
				"00A404000E315041592E5359532E444446303100": "6105",
				"00C0000005": "0102030405 6103",
				"00C0000003": "060708 9000",
			},
			cmd:  "00A404000E315041592E5359532E444446303100",
			want: "01020304050607089000",
			sent: []string{"00A404000E315041592E5359532E444446303100", "00C0000005", "00C0000003"},
		},
		{
			name:    "6Cxx re-sends with the right Le",
			proto:   protoT0,
			answers: map[string]string{"00B2011400": "6C04", "00B2011404": "70025A00 9000"},
			cmd:     "00B2011400",
			want:    "70025A009000",
			sent:    []string{"00B2011400", "00B2011404"},
		},
		{
			name:    "6Cxx on a case 1 command appends Le",
			proto:   protoT0,
			answers: map[string]string{"80CA9F36": "6C05", "80CA9F3605": "9F36020011 9000"},
			cmd:     "80CA9F36",
			want:    "9F360200119000",
			sent:    []string{"80CA9F36", "80CA9F3605"},
		},
		{
			name:    "case 4 warning fetches the data and keeps the warning",
			proto:   protoT0,
			answers: map[string]string{"00A4040007A000000333010100": "6283", "00C0000000": "6F03840100 9000"},
			cmd:     "00A4040007A000000333010100",
			want:    "6F038401006283",
			sent:    []string{"00A4040007A000000333010100", "00C0000000"},
		},
		{
			name:    "warning on T=1 is passed as it is",
			proto:   protoT1,
			answers: map[string]string{"00A4040007A000000333010100": "6283"},
			cmd:     "00A4040007A000000333010100",
			want:    "6283",
			sent:    []string{"00A4040007A000000333010100"},
		},
		{
			name:    "error status is passed as it is",
			proto:   protoT0,
			answers: map[string]string{},
			cmd:     "80CA9F1700",
			want:    "6D00",
			sent:    []string{"80CA9F1700"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fc := &fakeCard{atr: []byte{0x3B, 0x00}, proto: tt.proto, answers: tt.answers}
			c := &Card{h: fc, iface: hal.Contact}
			if err := c.refresh(); err != nil {
				t.Fatal(err)
			}
			got, err := c.Transmit(context.Background(), mustHex(tt.cmd))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, mustHex(tt.want)) {
				t.Fatalf("response %X, want %s", got, tt.want)
			}
			if len(fc.sent) != len(tt.sent) {
				t.Fatalf("sent %v, want %v", fc.sent, tt.sent)
			}
			for i := range tt.sent {
				if fc.sent[i] != tt.sent[i] {
					t.Fatalf("sent %v, want %v", fc.sent, tt.sent)
				}
			}
		})
	}
}

func TestTransmitEndlessChain(t *testing.T) {
	fc := &fakeCard{proto: protoT0, answers: map[string]string{"00C0000001": "61 01", "80CA9F3600": "6101"}}
	c := &Card{h: fc, iface: hal.Contact}
	if _, err := c.Transmit(context.Background(), mustHex("80CA9F3600")); err == nil {
		t.Fatal("a card that never stops chaining was not stopped")
	}
}

func TestTransmitReconnectsAfterReset(t *testing.T) {
	fc := &fakeCard{proto: protoT1, resetOnce: true, answers: map[string]string{"0084000008": "0102030405060708 9000"}}
	c := &Card{h: fc, iface: hal.Contact}
	got, err := c.Transmit(context.Background(), mustHex("0084000008"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || fc.reconnects != 1 || fc.resets != 0 {
		t.Fatalf("response %X after %d reconnects (%d resets)", got, fc.reconnects, fc.resets)
	}
}

func TestReset(t *testing.T) {
	fc := &fakeCard{proto: protoT1, atr: []byte{0x3B, 0x00}}
	c := &Card{h: fc, iface: hal.Contact}
	if err := c.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fc.resets != 1 || !bytes.Equal(c.ATR(), fc.atr) || c.Protocol() != "T=1" {
		t.Fatalf("resets %d ATR %X protocol %s", fc.resets, c.ATR(), c.Protocol())
	}
}

func TestTransmitErrors(t *testing.T) {
	c := &Card{h: &fakeCard{gone: true}, iface: hal.Contact}
	if _, err := c.Transmit(context.Background(), mustHex("0084000008")); !errors.Is(err, hal.ErrCardRemoved) {
		t.Fatalf("removed card: %v", err)
	}
	c = &Card{h: &fakeCard{}, iface: hal.Contact}
	if _, err := c.Transmit(context.Background(), []byte{0x00}); err == nil {
		t.Fatal("short command accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Transmit(ctx, mustHex("0084000008")); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestWithLe(t *testing.T) {
	tests := []struct{ cmd, want string }{
		{"80CA9F36", "80CA9F3605"},
		{"00B2010C00", "00B2010C05"},
		{"0088000004 01020304", "008800000401020304 05"},
		{"0088000004 01020304 00", "008800000401020304 05"},
	}
	for _, tt := range tests {
		if got := withLe(mustHex(tt.cmd), 5); !bytes.Equal(got, mustHex(tt.want)) {
			t.Errorf("withLe(%s) = %X, want %s", tt.cmd, got, tt.want)
		}
	}
}

// FuzzTransmit feeds the driver arbitrary card answers (one per round of a
// chained exchange) and checks that it never panics, never loops without
// bound and always returns a status word or an error.
func FuzzTransmit(f *testing.F) {
	f.Add(mustHex("6105"), mustHex("01020304056103"), mustHex("0607089000"), true)
	f.Add(mustHex("6C04"), mustHex("70025A009000"), []byte{}, true)
	f.Add(mustHex("6283"), mustHex("6F0384010090"), []byte{0x00}, true)
	f.Add([]byte{0x90}, []byte{}, []byte{}, false)
	f.Fuzz(func(t *testing.T, r1, r2, r3 []byte, t0 bool) {
		proto := protoT1
		if t0 {
			proto = protoT0
		}
		fc := &seqCard{answers: [][]byte{r1, r2, r3}, proto: proto}
		c := &Card{h: fc, iface: hal.Contact}
		if err := c.refresh(); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Transmit(context.Background(), mustHex("00A4040007A000000333010100"))
		if err == nil && len(resp) < 2 {
			t.Fatalf("response %X without a status word", resp)
		}
		if fc.n > maxChain+1 {
			t.Fatalf("%d commands for one APDU", fc.n)
		}
	})
}

// seqCard answers with its answers in turn, then 9000.
type seqCard struct {
	answers [][]byte
	proto   protocol
	n       int
}

func (c *seqCard) transmit(cmd []byte) ([]byte, error) {
	c.n++
	if c.n <= len(c.answers) {
		return bytes.Clone(c.answers[c.n-1]), nil
	}
	return []byte{0x90, 0x00}, nil
}
func (c *seqCard) reconnect(bool) error              { return nil }
func (c *seqCard) status() ([]byte, protocol, error) { return []byte{0x3B, 0x00}, c.proto, nil }
func (c *seqCard) disconnect(bool) error             { return nil }
