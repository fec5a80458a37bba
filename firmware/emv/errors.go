package emv

import (
	"errors"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/selection"
	"kpos/hal"
)

// Sentinel errors the terminal branches on. Returned errors wrap them.
var (
	// ErrCardRemoved reports that the card left during the transaction. It
	// is hal.ErrCardRemoved, so either name matches.
	ErrCardRemoved = hal.ErrCardRemoved
	// ErrNoApplication reports that the card and the terminal share no
	// application (or every candidate failed).
	ErrNoApplication = errors.New("emv: no supported application")
	// ErrCardBlocked reports a blocked card (6A81 to SELECT). It is
	// selection.ErrCardBlocked.
	ErrCardBlocked = selection.ErrCardBlocked
	// ErrFallback reports a contact chip that cannot be read: use the stripe.
	ErrFallback = errors.New("emv: chip unreadable, use magnetic stripe")
	// ErrUseContact reports a contactless transaction the card or the limits
	// refuse: insert the card. It is selection.ErrUseContact.
	ErrUseContact = selection.ErrUseContact
	// ErrSeePhone reports a mobile wallet that asks the cardholder to
	// verify on the phone and tap again (GPO status 6986).
	ErrSeePhone = errors.New("emv: see phone, then tap again")
	// ErrCardData reports card data that breaks the rules (missing mandatory
	// data, duplicates, bad formats): the transaction is terminated.
	ErrCardData = errors.New("emv: card data invalid")
	// ErrCardResponse reports an unexpected status word or a malformed
	// response to a command: the transaction is terminated. It is
	// apdu.ErrCardResponse, so either name matches.
	ErrCardResponse = apdu.ErrCardResponse
	// ErrCancelled reports that the cardholder or the merchant cancelled.
	ErrCancelled = errors.New("emv: cancelled")
	// ErrCompleted reports a second call to Online.Complete.
	ErrCompleted = errors.New("emv: transaction already completed")
)
