// Package terminal is the transaction state machine: it decides what happens
// next at the counter. Each transaction walks named states; every transition
// is listed in one table (transitions.go) so a reader can check the whole
// flow in one place. Every step where money could be lost is journaled
// before it is acted on, and whatever is in doubt is reversed before the
// next online transaction, also after a power cut.
//
// It talks to devices only through hal, to the card only through the EMV
// kernel and to the host only through the acquirer's request types. It knows
// nothing of drivers, boards, ISO 8583 fields or APDUs.
package terminal
