package fake

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"kpos/firmware/pinblock"
	"kpos/hal"
)

func TestPlaybackCardFailsOnSurprise(t *testing.T) {
	ctx := context.Background()
	c := &PlaybackCard{Script: []Exchange{X("00A4040007A0000003330101", "9000"), X("80A8000002 8300", "800A 1C00 08010100 9000")}}
	if r, err := c.Transmit(ctx, mustHex("00A4040007A0000003330101")); err != nil || len(r) != 2 {
		t.Fatalf("%X %v", r, err)
	}
	if _, err := c.Transmit(ctx, mustHex("00B2010C00")); err == nil || !strings.Contains(err.Error(), "script expects 80A80000028300") {
		t.Fatalf("unexpected command accepted: %v", err)
	}
	if _, err := c.Transmit(ctx, mustHex("80A8000002 8300")); err == nil {
		t.Fatal("a card that failed went on answering")
	}
	if c.Err() == nil {
		t.Fatal("Err hides the mismatch")
	}
	short := &PlaybackCard{Script: []Exchange{X("00", "9000")}}
	if short.Err() == nil {
		t.Fatal("an unplayed script step is not reported")
	}
}

func TestReaderEventsAndPresence(t *testing.T) {
	r := NewCardReader()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	r.Insert(&PlaybackCard{})
	if _, err := r.WaitEvent(ctx); err != nil {
		t.Fatal(err)
	}
	r.Remove()
	r.Insert(&PlaybackCard{}) // in and out before anyone looked: nothing happened
	r.Remove()
	r.Swipe(&hal.Track{Track2: []byte("1=2")})
	for _, want := range []hal.CardEventKind{hal.CardRemoved, hal.CardSwiped} {
		e, err := r.WaitEvent(ctx)
		if err != nil || e.Kind != want {
			t.Fatalf("got %v %v want %v", e.Kind, err, want)
		}
	}
	if p, _ := r.Present(ctx); p {
		t.Fatal("a swiped card is not present")
	}
	// Presence is the slot's state now, not the events taken: a card
	// inserted is present before its event is read; a tap changes nothing.
	r.Insert(&PlaybackCard{})
	r.Tap(&PlaybackCard{})
	if p, _ := r.Present(ctx); !p {
		t.Fatal("an inserted card is not present")
	}
	r.Remove()
	if p, _ := r.Present(ctx); p {
		t.Fatal("a removed card is present")
	}
	for range 1 { // the tap; the insert was taken out before it was read
		if _, err := r.WaitEvent(ctx); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel2()
	if _, err := r.WaitEvent(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("an empty reader returned %v", err)
	}
	r.Fail(hal.ErrNoReader)
	if _, err := r.WaitEvent(ctx); !errors.Is(err, hal.ErrNoReader) {
		t.Fatal(err)
	}
}

type xor struct{}

func (xor) EncryptPINBlock(b []byte) ([]byte, error) {
	out := make([]byte, len(b))
	for i := range b {
		out[i] = b[i] ^ 0x5C
	}
	return out, nil
}
func (xor) KeySerial() []byte { return []byte{1} }

func TestPINPadBuildsTheRealBlock(t *testing.T) {
	p := NewPINPad()
	p.EnterPIN("1234")
	p.Enter(PINEntry{Err: hal.ErrPINCancelled})
	pan := hal.MustPAN("4321987654321098")
	req := hal.PINRequest{PAN: pan, Cipher: xor{}}
	got, err := p.PINBlock(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	clear, _ := pinblock.Format0([]byte("1234"), pan.Digits())
	for i := range clear {
		if got.Block[i] != clear[i]^0x5C {
			t.Fatalf("block %X is not the encrypted format 0 block", got.Block)
		}
	}
	if len(got.KeySerial) != 1 {
		t.Fatal("key serial lost")
	}
	if _, err := p.PINBlock(context.Background(), req); !errors.Is(err, hal.ErrPINCancelled) {
		t.Fatal(err)
	}
	p.EnterPIN("12")
	if _, err := p.PINBlock(context.Background(), req); err == nil {
		t.Fatal("a 2-digit PIN was accepted")
	}
	p.EnterPIN("1234")
	if _, err := p.PINBlock(context.Background(), hal.PINRequest{PAN: pan}); err == nil {
		t.Fatal("a PIN without a cipher was accepted")
	}
}

func TestPrinterRefusesWhenNotReady(t *testing.T) {
	p := NewPrinter()
	ctx := context.Background()
	doc := hal.Document{Lines: []hal.Line{{Text: "hello"}, {QR: "payload"}}}
	for _, c := range []struct {
		s    hal.PrinterStatus
		want error
	}{{hal.PrinterStatus{PaperOut: true}, hal.ErrPaperOut}, {hal.PrinterStatus{CoverOpen: true}, hal.ErrCoverOpen}, {hal.PrinterStatus{Error: true}, hal.ErrPrinter}} {
		p.SetStatus(c.s)
		if err := p.Print(ctx, doc); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v", c.s, err)
		}
	}
	p.SetStatus(hal.PrinterStatus{})
	if err := p.Print(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if p.Text() != "hello\n[QR payload]\n" || len(p.Documents()) != 1 {
		t.Fatalf("%q", p.Text())
	}
}

func TestDisplayWaitFor(t *testing.T) {
	d := NewDisplay()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	go func() {
		d.Show(ctx, hal.Screen{ID: "a"})
		d.Show(ctx, hal.Screen{ID: "b"})
	}()
	s, next, err := d.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == "b" })
	if err != nil || s.ID != "b" || next != 2 {
		t.Fatalf("%v %d %v", s, next, err)
	}
	short, c2 := context.WithTimeout(ctx, 10*time.Millisecond)
	defer c2()
	if _, _, err := d.WaitFor(short, next, func(hal.Screen) bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

func TestLinkDown(t *testing.T) {
	l := NewLink(nil)
	l.SetDown(errors.New("no network"))
	if _, err := l.Dial(context.Background(), "tcp", "127.0.0.1:1"); err == nil {
		t.Fatal("a down link dialled")
	}
	if st, _ := l.Status(context.Background()); st.Up {
		t.Fatal("status says up")
	}
}

func TestARemovedCardAnswersNoMore(t *testing.T) {
	r := NewCardReader()
	ctx := context.Background()
	r.Insert(&PlaybackCard{Script: []Exchange{X("00", "9000"), X("01", "9000")}})
	e, _ := r.WaitEvent(ctx)
	if _, err := e.Card.Transmit(ctx, []byte{0}); err != nil {
		t.Fatal(err)
	}
	r.Remove()
	if _, err := e.Card.Transmit(ctx, []byte{1}); !errors.Is(err, hal.ErrCardRemoved) {
		t.Fatalf("a pulled card answered: %v", err)
	}
}
