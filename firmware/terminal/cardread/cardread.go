// Package cardread is what the counter makes of a card once it is
// presented: the kernel's refusals turned into the next way of presenting
// it (insert after a refused tap, tap again after "see phone", swipe after
// an unreadable chip) or into what the merchant reads; a swiped card's
// track 2 read for the host (a chip card's stripe only as fallback); the
// entry mode the host is told; and the issuer's data in the host's answer
// handed back to the card. It reads nothing itself and knows nothing of the
// terminal's states.
package cardread

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/cardwait"
	"kpos/firmware/terminal/track2"
	"kpos/firmware/ui"
	"kpos/hal"
)

// Next is what a refusal of the card asks of the counter.
type Next int

// The nexts.
const (
	Fail    Next = iota // the transaction fails
	Cancel              // the cardholder or the card ended it
	Present             // present the card again, the way Mode accepts
)

// Refusal is what a kernel error means at the counter.
type Refusal struct {
	Next    Next
	Mode    cardwait.Mode // with Present
	Message string        // what the merchant reads ("" for a plain cancel)
	Err     error         // with Fail
}

// Chip says what the kernel's err means for a card presented as presented.
func Chip(err error, presented hal.CardEventKind, log *slog.Logger) Refusal {
	switch {
	case errors.Is(err, hal.ErrPINCancelled), errors.Is(err, ui.ErrCancelled):
		return Refusal{Next: Cancel}
	case errors.Is(err, hal.ErrCardRemoved):
		return Refusal{Next: Cancel, Message: "卡片已拔出 Card removed: transaction cancelled"}
	case errors.Is(err, emv.ErrUseContact) && presented == hal.CardTapped:
		log.Info("contactless refused: insert the card", "err", err)
		return Refusal{Next: Present, Mode: cardwait.InsertOnly}
	case errors.Is(err, emv.ErrSeePhone) && presented == hal.CardTapped:
		return Refusal{Next: Present, Mode: cardwait.TapAgain}
	case errors.Is(err, emv.ErrCardBlocked):
		return Refusal{Message: "卡片已锁定 Card blocked", Err: fmt.Errorf("cardread: card: %w", err)}
	case errors.Is(err, emv.ErrFallback) && presented == hal.CardInserted:
		log.Info("chip unreadable: stripe fallback", "err", err)
		return Refusal{Next: Present, Mode: cardwait.Fallback}
	}
	return Refusal{Message: "读卡失败 Card error: try again or use another card", Err: fmt.Errorf("cardread: card: %w", err)}
}

// Swipe is a swiped card as the host is sent it.
type Swipe struct {
	PAN    hal.PAN
	Expiry string // YYMM
	Track2 []byte
	Entry  acquirer.EntryMode
}

// ErrSwipe reports a swipe whose track 2 cannot be read: swipe again.
var ErrSwipe = errors.New("cardread: swipe unreadable")

// Stripe reads a swiped card, presented while the sale accepts mode. A chip
// card must be read by its chip while the chip works: insertChip says so,
// and the sale waits for the insert. After a chip failure in this sale
// (cardwait.Fallback) its stripe is accepted, and the host is told so.
func Stripe(tr *hal.Track, mode cardwait.Mode) (sw Swipe, insertChip bool, err error) {
	if tr == nil || len(tr.Track2) == 0 {
		return Swipe{}, false, fmt.Errorf("%w: no track 2", ErrSwipe)
	}
	pan, expiry, service, err := track2.Parse(tr.Track2)
	if err != nil {
		return Swipe{}, false, fmt.Errorf("%w: %w", ErrSwipe, err)
	}
	sw = Swipe{PAN: pan, Expiry: expiry, Track2: tr.Track2, Entry: acquirer.EntryStripe}
	if mode == cardwait.Fallback {
		sw.Entry = acquirer.EntryFallback
	} else if strings.HasPrefix(service, "2") || strings.HasPrefix(service, "6") {
		return Swipe{}, true, nil
	}
	return sw, false, nil
}

// Entry is the entry mode the host is told for a card read by method while
// the sale accepted mode.
func Entry(method journal.Method, mode cardwait.Mode) acquirer.EntryMode {
	switch method {
	case journal.Contactless:
		return acquirer.EntryContactless
	case journal.Stripe:
		if mode == cardwait.Fallback {
			return acquirer.EntryFallback
		}
		return acquirer.EntryStripe
	case journal.QR:
		return acquirer.EntryQR
	case journal.CashMethod:
		return 0
	}
	return acquirer.EntryChip
}

// IssuerData splits the host's field 55 into what the card needs: the
// issuer authentication data (91) and the script templates (71, 72), each
// re-encoded whole for the kernel (emv/tlv, the one BER-TLV reader). A
// field that does not parse gives the card nothing: the kernel then finds
// no issuer authentication data, as EMV Book 3 treats its absence.
func IssuerData(icc []byte) (auth, scripts []byte) {
	objs, _ := tlv.Parse(icc)
	for _, o := range objs {
		switch o.Tag {
		case 0x91:
			auth = o.Value
		case 0x71, 0x72:
			scripts = tlv.Append(scripts, o.Tag, o.Value)
		}
	}
	return auth, scripts
}
