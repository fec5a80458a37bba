// Package pcsc is the card reader driver for PC/SC: it implements
// hal.CardReader and hal.Card on pcsc-lite (through github.com/ebfe/scard),
// so the terminal reads contact and contactless cards in any reader pcscd
// serves, including the vpcd virtual reader that the card simulator plugs
// into.
//
// The driver finds its reader by a name pattern from the board, reports card
// insertion and removal from SCardGetStatusChange, connects with T=0 or T=1,
// and hides T=0 transport details from the EMV kernel: it follows 61xx with
// GET RESPONSE, re-sends a command with the Le a 6Cxx names, and reconnects a
// card that was reset under it. When pcscd is absent every call fails with an
// error wrapping hal.ErrNoReader.
//
// All PC/SC calls sit behind the unexported api interface; the cgo
// implementation lives in scard_cgo.go alone, so a CGO_ENABLED=0 build of the
// tree still compiles (Open then reports ErrNoCGO) and the driver's logic is
// unit-tested against a fake.
//
// pcsc must not know anything about EMV, payments or which board it is on:
// it moves APDUs and reports card events.
package pcsc
