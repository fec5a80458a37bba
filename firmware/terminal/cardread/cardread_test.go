package cardread

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/cardwait"
	"kpos/firmware/ui"
	"kpos/hal"
)

func TestChipRefusals(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("kernel: %w", err) }
	cases := []struct {
		name      string
		err       error
		presented hal.CardEventKind
		next      Next
		mode      cardwait.Mode
		message   bool
	}{
		{"PIN cancelled", wrap(hal.ErrPINCancelled), hal.CardInserted, Cancel, 0, false},
		{"screen cancelled", wrap(ui.ErrCancelled), hal.CardTapped, Cancel, 0, false},
		{"card pulled", wrap(hal.ErrCardRemoved), hal.CardInserted, Cancel, 0, true},
		{"tap refused: insert", wrap(emv.ErrUseContact), hal.CardTapped, Present, cardwait.InsertOnly, false},
		{"use contact from a chip is no request", wrap(emv.ErrUseContact), hal.CardInserted, Fail, 0, true},
		{"see phone", wrap(emv.ErrSeePhone), hal.CardTapped, Present, cardwait.TapAgain, false},
		{"blocked", wrap(emv.ErrCardBlocked), hal.CardInserted, Fail, 0, true},
		{"chip unreadable: swipe", wrap(emv.ErrFallback), hal.CardInserted, Present, cardwait.Fallback, false},
		{"fallback from a tap is no request", wrap(emv.ErrFallback), hal.CardTapped, Fail, 0, true},
		{"anything else", errors.New("apdu: 6F00"), hal.CardInserted, Fail, 0, true},
	}
	for _, c := range cases {
		r := Chip(c.err, c.presented, slog.New(slog.DiscardHandler))
		if r.Next != c.next || r.Mode != c.mode || (r.Message != "") != c.message {
			t.Errorf("%s: got %+v", c.name, r)
		}
		if (r.Next == Fail) != (r.Err != nil) {
			t.Errorf("%s: a failure carries its error, nothing else does: %+v", c.name, r)
		}
	}
}

func TestStripe(t *testing.T) {
	const pan = "6222021234567890128"
	cases := []struct {
		name       string
		track      *hal.Track
		mode       cardwait.Mode
		insertChip bool
		entry      acquirer.EntryMode
		err        bool
	}{
		{"no track", nil, cardwait.AnyCard, false, 0, true},
		{"empty track 2", &hal.Track{}, cardwait.AnyCard, false, 0, true},
		{"malformed", &hal.Track{Track2: []byte("6222")}, cardwait.AnyCard, false, 0, true},
		{"stripe card", &hal.Track{Track2: []byte(pan + "=3012101")}, cardwait.AnyCard, false, acquirer.EntryStripe, false},
		{"chip card: insert it", &hal.Track{Track2: []byte(pan + "=3012201")}, cardwait.AnyCard, true, 0, false},
		{"chip card (6xx): insert it", &hal.Track{Track2: []byte(pan + "=3012601")}, cardwait.AnyCard, true, 0, false},
		{"chip card after a chip failure", &hal.Track{Track2: []byte(pan + "=3012201")}, cardwait.Fallback, false, acquirer.EntryFallback, false},
	}
	for _, c := range cases {
		sw, insertChip, err := Stripe(c.track, c.mode)
		if (err != nil) != c.err || insertChip != c.insertChip {
			t.Errorf("%s: insertChip %t err %v", c.name, insertChip, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrSwipe) {
				t.Errorf("%s: %v is not ErrSwipe", c.name, err)
			}
			continue
		}
		if insertChip {
			continue
		}
		if sw.Entry != c.entry || sw.PAN.Digits() != pan || sw.Expiry != "3012" || string(sw.Track2) != string(c.track.Track2) {
			t.Errorf("%s: got entry %v expiry %q", c.name, sw.Entry, sw.Expiry)
		}
	}
}

func TestEntry(t *testing.T) {
	cases := []struct {
		method journal.Method
		mode   cardwait.Mode
		want   acquirer.EntryMode
	}{
		{journal.Chip, cardwait.AnyCard, acquirer.EntryChip},
		{journal.Contactless, cardwait.AnyCard, acquirer.EntryContactless},
		{journal.Stripe, cardwait.AnyCard, acquirer.EntryStripe},
		{journal.Stripe, cardwait.Fallback, acquirer.EntryFallback},
		{journal.QR, cardwait.AnyCard, acquirer.EntryQR},
		{journal.CashMethod, cardwait.AnyCard, 0},
	}
	for _, c := range cases {
		if got := Entry(c.method, c.mode); got != c.want {
			t.Errorf("%v in mode %v: %v, want %v", c.method, c.mode, got, c.want)
		}
	}
}

func TestIssuerData(t *testing.T) {
	auth := []byte{1, 2, 3, 4, 5, 6, 7, 8, 0x30, 0x30}
	s71 := []byte{0x86, 0x01, 0xAA}
	s72 := []byte{0x86, 0x01, 0xBB}
	icc := tlv.Append(nil, 0x91, auth)
	icc = tlv.Append(icc, 0x8A, []byte("00"))
	icc = tlv.Append(icc, 0x71, s71)
	icc = tlv.Append(icc, 0x72, s72)
	gotAuth, gotScripts := IssuerData(icc)
	if string(gotAuth) != string(auth) {
		t.Errorf("auth % X", gotAuth)
	}
	if want := tlv.Append(tlv.Append(nil, 0x71, s71), 0x72, s72); string(gotScripts) != string(want) {
		t.Errorf("scripts % X, want % X", gotScripts, want)
	}
	if a, s := IssuerData([]byte{0x91, 0x20, 0x01}); a != nil || s != nil {
		t.Errorf("a field that does not parse gives the card something: % X % X", a, s)
	}
}
