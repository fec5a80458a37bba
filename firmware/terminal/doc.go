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
// parts.go says which table runs each kind (its flow).
//
// With a binding (WithBinding) a blank terminal shows the binding screens
// (terminal/bindflow) and does nothing else; a bound one signs on through
// the binding, which checks its status, and the binding's status and limits
// (per transaction and per day, across card, QR and every batch of the day)
// refuse a sale before a card is read or a code is sent. MENU on the idle
// screen opens the merchant menus (terminal/menu), which reach every kind of
// transaction, reprints, settlement and the settings; void, refund and
// settlement ask for the merchant's password (WithMerchantPassword). With
// WithSettlement the terminal settles its batch (terminal/settlement) on
// demand and at the binding's settlement time, and a settlement a power cut
// interrupted resumes at boot, after the reversals and before sign-on and
// any sale; while one is in progress no transaction joins the batch. The
// display, keypad, scanner and printer are shared by all of them through one
// panel (terminal/panel).
//
// It talks to devices only through hal, to the card only through the EMV
// kernel, to the host only through the acquirer's request types and to the
// bank's binding only through the Binding interface. It knows nothing of
// drivers, boards, ISO 8583 fields or APDUs.
package terminal
