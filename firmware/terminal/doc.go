// Package terminal is the transaction state machine: it decides what happens
// next at the counter. Each transaction walks named states; every transition
// is listed in transitions.go — the card sale's table and, beside it, the
// table of the payments without a card (the customer's QR payment code, the
// terminal's own merchant-presented code, cash) — so a reader can check the
// whole flow in one place. Every step where money could be lost is journaled
// before it is acted on, and whatever is in doubt is reversed before the
// next online transaction, also after a power cut.
//
// With a binding (WithBinding) a blank terminal asks for its K code, typed
// or scanned, and does nothing else; a bound one signs on through the
// binding, which checks its status, and the binding's status and limits
// refuse a sale before a card is read or a code is sent. The merchant menu
// (MENU on the idle screen) reaches every kind of sale and the settings.
//
// It talks to devices only through hal, to the card only through the EMV
// kernel, to the host only through the acquirer's request types and to the
// bank's binding only through the Binding interface. It knows nothing of
// drivers, boards, ISO 8583 fields or APDUs.
package terminal
