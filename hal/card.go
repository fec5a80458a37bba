package hal

import (
	"context"
	"errors"
	"fmt"
)

// CardInterface says how a card talks to the reader.
type CardInterface int

// The card interfaces.
const (
	Contact CardInterface = iota + 1
	Contactless
)

func (i CardInterface) String() string {
	switch i {
	case Contact:
		return "contact"
	case Contactless:
		return "contactless"
	}
	return fmt.Sprintf("interface(%d)", int(i))
}

// Card is a powered card ready for APDUs. The reader owns it; the EMV kernel
// only borrows it for a transaction.
type Card interface {
	// Transmit sends one command APDU and returns the response data with
	// SW1 SW2 at its end. T=0 details (61xx, 6Cxx) are the driver's concern.
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
	// ATR returns the answer to reset (or ATS-derived ATR for contactless).
	ATR() []byte
	// Interface says whether the card was inserted or tapped.
	Interface() CardInterface
}

// CardEventKind names what happened at the reader.
type CardEventKind int

// The card events.
const (
	CardInserted CardEventKind = iota + 1 // a chip card in the contact slot
	CardTapped                            // a card or phone in the contactless field
	CardSwiped                            // a magnetic stripe read
	CardRemoved                           // the card left the slot or field
)

func (k CardEventKind) String() string {
	switch k {
	case CardInserted:
		return "inserted"
	case CardTapped:
		return "tapped"
	case CardSwiped:
		return "swiped"
	case CardRemoved:
		return "removed"
	}
	return fmt.Sprintf("event(%d)", int(k))
}

// CardEvent is one reader event. Card is set for inserted and tapped cards,
// Track for swipes.
type CardEvent struct {
	Kind  CardEventKind
	Card  Card
	Track *Track
}

// Track is magnetic stripe data. Its String never shows the contents.
type Track struct {
	Track1 []byte // ISO 7813 track 1 without sentinels, may be empty
	Track2 []byte // track 2 as ASCII digits and '=' without sentinels
}

// String reports only which tracks are present.
func (t *Track) String() string {
	if t == nil {
		return "track(none)"
	}
	return fmt.Sprintf("track(t1=%t t2=%t)", len(t.Track1) > 0, len(t.Track2) > 0)
}

// GoString hides the track contents from %#v.
func (t *Track) GoString() string { return t.String() }

// ErrNoReader reports that the card reader is absent or its service is down.
var ErrNoReader = errors.New("hal: card reader not available")

// ErrCardRemoved reports that the card left during an exchange.
var ErrCardRemoved = errors.New("hal: card removed")

// CardReader reports card events. A reader may have a contact slot, a
// contactless field and a stripe head behind one interface.
type CardReader interface {
	// WaitEvent blocks until the next event or until ctx is done.
	WaitEvent(ctx context.Context) (CardEvent, error)
	// Present reports whether a card is in the slot or field now.
	Present(ctx context.Context) (bool, error)
}
