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
// What each kind of transaction is (its journal name, message, titles, menu
// entry, limits, books, reversal) is declared once in firmware/txkind;
// parts.go says which table runs each kind (its flow). A state's step is
// short: the cohesive pieces live in packages beside it that know nothing
// of states or events — terminal/cardread (the kernel's refusals, the
// swipe, the issuer's data), terminal/original (the original of a void,
// completion or refund), terminal/qrpay (the payment code's scan, the
// merchant code, the host polled), terminal/outcome (the end screens),
// terminal/slip (the slip's facts, the receipt, reprints) — and the step
// turns what they conclude into the table's event.
//
// With a binding (WithBinding) a blank terminal shows the binding screens
// (terminal/bindflow) and does nothing else; a bound one signs on through
// the binding, which checks its status, and the binding's status and limits
// (terminal/checks) refuse a sale before a card is read or a code is sent.
// MENU on the idle screen opens the merchant menus (terminal/menu); void,
// refund and settlement ask for the merchant's password
// (WithMerchantPassword). With WithSettlement the terminal settles its batch
// (terminal/settlement) on demand and at the binding's settlement time, and
// a settlement a power cut interrupted resumes at boot, after the reversals
// and before sign-on and any sale; while one is in progress no transaction
// joins the batch. One panel (terminal/panel) is shared by
// all of them.
//
// It talks to devices only through hal, to the card only through the EMV
// kernel, to the host only through the acquirer's request types and to the
// bank's binding only through the Binding interface. It knows nothing of
// drivers, boards, ISO 8583 fields or APDUs.
package terminal
