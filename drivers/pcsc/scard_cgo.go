//go:build cgo

package pcsc

import (
	"errors"
	"fmt"
	"time"

	"github.com/ebfe/scard"
)

// Open returns the reader slot cfg names on the system's pcscd. It does not
// wait for the service: a missing pcscd shows up as hal.ErrNoReader from the
// first call, and a pcscd started later is picked up.
func Open(cfg Config) (*Reader, error) { return newReader(scardAPI{}, cfg) }

// scardAPI is the libpcsclite implementation of api.
type scardAPI struct{}

func (scardAPI) establish() (pcscContext, error) {
	c, err := scard.EstablishContext()
	if err != nil {
		return nil, mapErr(err)
	}
	return scardContext{c}, nil
}

type scardContext struct{ c *scard.Context }

func (s scardContext) listReaders() ([]string, error) {
	names, err := s.c.ListReaders()
	return names, mapErr(err)
}

func (s scardContext) getStatusChange(states []readerState, timeout time.Duration) error {
	rs := make([]scard.ReaderState, len(states))
	for i, st := range states {
		rs[i] = scard.ReaderState{Reader: st.reader, CurrentState: scard.StateFlag(st.current)}
	}
	if timeout == 0 {
		// scard turns a zero duration into INFINITE; one millisecond is
		// the shortest real wait.
		timeout = time.Millisecond
	}
	if err := s.c.GetStatusChange(rs, timeout); err != nil {
		return mapErr(err)
	}
	for i := range states {
		states[i].event = stateFlag(rs[i].EventState)
		states[i].atr = append([]byte(nil), rs[i].Atr...)
	}
	return nil
}

func (s scardContext) connect(reader string) (pcscCard, error) {
	h, err := s.c.Connect(reader, scard.ShareShared, scard.ProtocolT0|scard.ProtocolT1)
	if err != nil {
		return nil, mapErr(err)
	}
	return scardCard{h}, nil
}

func (s scardContext) cancel() error  { return mapErr(s.c.Cancel()) }
func (s scardContext) release() error { return mapErr(s.c.Release()) }

type scardCard struct{ h *scard.Card }

func (s scardCard) transmit(cmd []byte) ([]byte, error) {
	resp, err := s.h.Transmit(cmd)
	return resp, mapErr(err)
}

func (s scardCard) reconnect(reset bool) error {
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	return mapErr(s.h.Reconnect(scard.ShareShared, scard.ProtocolT0|scard.ProtocolT1, disp))
}

func (s scardCard) status() ([]byte, protocol, error) {
	st, err := s.h.Status()
	if err != nil {
		return nil, protoUnknown, mapErr(err)
	}
	p := protoUnknown
	switch st.ActiveProtocol {
	case scard.ProtocolT0:
		p = protoT0
	case scard.ProtocolT1:
		p = protoT1
	}
	return st.Atr, p, nil
}

func (s scardCard) disconnect(reset bool) error {
	disp := scard.LeaveCard
	if reset {
		disp = scard.ResetCard
	}
	return mapErr(s.h.Disconnect(disp))
}

// mapErr wraps a PC/SC error code with the driver's sentinel for it.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var code scard.Error
	if !errors.As(err, &code) {
		return fmt.Errorf("pcsc: %w", err)
	}
	var kind error
	switch code {
	case scard.ErrNoService, scard.ErrServiceStopped:
		kind = errNoService
	case scard.ErrNoReadersAvailable:
		kind = errNoReaders
	case scard.ErrUnknownReader, scard.ErrReaderUnavailable:
		kind = errUnknownReader
	case scard.ErrTimeout:
		kind = errTimeout
	case scard.ErrCancelled:
		kind = errCancelled
	case scard.ErrNoSmartcard:
		kind = errNoCard
	case scard.ErrRemovedCard:
		kind = errCardRemoved
	case scard.ErrResetCard:
		kind = errCardReset
	case scard.ErrUnresponsiveCard, scard.ErrUnpoweredCard:
		kind = errCardMute
	default:
		return fmt.Errorf("pcsc: %w", err)
	}
	return fmt.Errorf("%w (%w)", kind, code)
}
