package pcsc

import (
	"errors"
	"time"
)

// api is the part of the PC/SC API the driver needs: a resource manager
// context. The cgo implementation wraps github.com/ebfe/scard; tests use a
// fake.
type api interface {
	// establish opens a resource manager context.
	establish() (pcscContext, error)
}

// pcscContext is one SCARDCONTEXT.
type pcscContext interface {
	listReaders() ([]string, error)
	// getStatusChange blocks until one of the states differs from its
	// current field, the timeout passes (errTimeout) or cancel is called
	// (errCancelled). It fills in the event fields.
	getStatusChange(states []readerState, timeout time.Duration) error
	// connect powers the card in reader and connects with T=0 or T=1 in
	// shared mode.
	connect(reader string) (pcscCard, error)
	// cancel interrupts a blocked getStatusChange from another goroutine.
	cancel() error
	release() error
}

// pcscCard is one SCARDHANDLE.
type pcscCard interface {
	transmit(cmd []byte) ([]byte, error)
	// reconnect re-establishes the connection; reset says whether the card
	// is reset (warm reset) or left as it is.
	reconnect(reset bool) error
	// status returns the ATR and the active protocol.
	status() (atr []byte, proto protocol, err error)
	// disconnect ends the connection, resetting the card when asked.
	disconnect(reset bool) error
}

// protocol is the active transmission protocol.
type protocol int

const (
	protoUnknown protocol = iota
	protoT0
	protoT1
)

func (p protocol) String() string {
	switch p {
	case protoT0:
		return "T=0"
	case protoT1:
		return "T=1"
	}
	return "unknown"
}

// stateFlag mirrors SCARD_STATE_* bits, so that driver logic needs no cgo.
type stateFlag uint32

const (
	stateUnaware     stateFlag = 0x0000
	stateIgnore      stateFlag = 0x0001
	stateChanged     stateFlag = 0x0002
	stateUnknown     stateFlag = 0x0004
	stateUnavailable stateFlag = 0x0008
	stateEmpty       stateFlag = 0x0010
	statePresent     stateFlag = 0x0020
	stateMute        stateFlag = 0x0200
)

// readerState is one entry of SCardGetStatusChange.
type readerState struct {
	reader  string
	current stateFlag
	event   stateFlag
	atr     []byte
}

// The PC/SC conditions the driver branches on. The cgo layer wraps the
// scard error with the matching one of these so that the message keeps the
// PC/SC code.
var (
	errNoService     = errors.New("pcsc: PC/SC service not running")
	errNoReaders     = errors.New("pcsc: no readers available")
	errUnknownReader = errors.New("pcsc: unknown reader")
	errTimeout       = errors.New("pcsc: timeout")
	errCancelled     = errors.New("pcsc: cancelled")
	errNoCard        = errors.New("pcsc: no card in reader")
	errCardRemoved   = errors.New("pcsc: card removed")
	errCardReset     = errors.New("pcsc: card was reset")
	errCardMute      = errors.New("pcsc: card does not answer")
)
