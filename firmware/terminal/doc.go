// Package terminal is the transaction state machine: it decides what happens
// next at the counter. Each transaction walks named states; every transition
// is listed in transitions.go — the card table (sale, refund, balance
// inquiry, pre-authorization, with the kernel's requests for another way of
// reading the card: insert after a refused tap, tap again after "see
// phone", swipe after an unreadable chip), the table of the payments
// without a card (the customer's QR payment code, the terminal's own
// merchant-presented code, cash) and the table of the transactions on an
// earlier one found in the journal (void, pre-authorization completion and
// void) — so a reader can check the whole flow in one place. Every step
// where money could be lost is journaled before it is acted on, and
// whatever is in doubt is reversed before the next online transaction, also
// after a power cut.
//
// With a binding (WithBinding) a blank terminal asks for its K code, typed
// or scanned, and does nothing else; a bound one signs on through the
// binding, which checks its status, and the binding's status and limits
// (per transaction and per day, across card, QR and every batch of the day)
// refuse a sale before a card is read or a code is sent. The merchant menu
// (MENU on the idle screen) reaches every kind of transaction, reprints,
// settlement and the settings; void, refund and settlement ask for the
// merchant's password (WithMerchantPassword), which five wrong attempts
// lock for a growing delay and which a storage fault refuses (fail closed).
// With WithSettlement the terminal settles its batch through firmware/settle
// on demand and at the binding's settlement time, and a settlement a power
// cut interrupted resumes at boot, after the reversals and before sign-on
// and any sale; while one is in progress no transaction joins the batch.
//
// It talks to devices only through hal, to the card only through the EMV
// kernel, to the host only through the acquirer's request types and to the
// bank's binding only through the Binding interface. It knows nothing of
// drivers, boards, ISO 8583 fields or APDUs.
package terminal
