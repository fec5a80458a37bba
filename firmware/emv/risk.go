package emv

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/risk"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// floorLimit is the floor limit that applies to this transaction.
func (s *session) floorLimit() int64 {
	if s.iface == hal.Contactless {
		return s.aid.Contactless.FloorLimit
	}
	return s.aid.FloorLimit
}

// randomPercent returns a uniform number 1..99 from the kernel's source.
func (s *session) randomPercent() (int, error) {
	var b [2]byte
	if _, err := io.ReadFull(s.k.rnd, b[:]); err != nil {
		return 0, fmt.Errorf("emv: random selection: %w", err)
	}
	return int(binary.BigEndian.Uint16(b[:]))%99 + 1, nil
}

// terminalRiskManagement runs floor limit checking, random transaction
// selection and velocity checking, Book 3 10.6.
func (s *session) terminalRiskManagement(ctx context.Context) error {
	if s.aip[0]&aipTRM == 0 {
		return nil
	}
	s.tsi.Set(status.TSITerminalRiskManagementPerformed)
	if s.onExceptionFile() {
		s.tvr.Set(status.TVRCardOnExceptionFile)
	}
	amt, floor := s.txn.Amount, s.floorLimit()
	if amt >= floor {
		s.tvr.Set(status.TVRExceedsFloorLimit)
	} else if s.k.onlineCapable() && (s.aid.RandomTarget > 0 || s.aid.RandomMax > 0) {
		p := risk.SelectionPercent(s.aid, amt, floor)
		r, err := s.randomPercent()
		if err != nil {
			return err
		}
		if r <= p {
			s.tvr.Set(status.TVRSelectedRandomlyForOnline)
		}
	}
	return s.velocity(ctx)
}

// onExceptionFile reports whether the card's PAN is on the terminal
// exception file.
func (s *session) onExceptionFile() bool {
	if len(s.k.cfg.Exceptions) == 0 {
		return false
	}
	return s.k.cfg.Exceptions[sha256.Sum256([]byte(s.pan()))]
}

// velocity compares the ATC with the last online ATC against the card's
// consecutive offline limits (LCOL 9F14, UCOL 9F23).
func (s *session) velocity(ctx context.Context) error {
	lcol, ok1 := s.icc[0x9F14]
	ucol, ok2 := s.icc[0x9F23]
	if !ok1 || !ok2 || len(lcol) != 1 || len(ucol) != 1 {
		return nil
	}
	atc, err := s.getData(ctx, 0x9F36)
	if err != nil {
		return err
	}
	last, err := s.getData(ctx, 0x9F13)
	if err != nil {
		return err
	}
	for _, b := range risk.Velocity(atc, last, lcol[0], ucol[0]) {
		s.tvr.Set(b)
	}
	return nil
}

// getData reads one data object with GET DATA; a refusal or a malformed
// answer yields nil without error.
func (s *session) getData(ctx context.Context, t tlv.Tag) ([]byte, error) {
	r, err := s.transmit(ctx, "GET DATA", apdu.GetData(t))
	if err != nil {
		return nil, err
	}
	if r.SW != apdu.SWOK {
		return nil, nil
	}
	obj, err := tlv.ParseOne(r.Data)
	if err != nil || obj.Tag != t {
		return nil, nil
	}
	return obj.Value, nil
}

// iacs returns the card's issuer action codes.
func (s *session) iacs() risk.IACs {
	return risk.IACs{Denial: s.icc[0x9F0E], Online: s.icc[0x9F0F], Default: s.icc[0x9F0D]}
}

// terminalActionAnalysis decides which cryptogram to ask for in the first
// GENERATE AC, Book 3 10.7.
func (s *session) terminalActionAnalysis() byte {
	if s.txn.ForceOnline {
		s.tvr.Set(status.TVRMerchantForcedOnline)
	}
	goOnline := s.txn.ForceOnline || s.txn.Type == Balance || s.txn.Type == Refund || s.txn.Type == PreAuth
	return risk.Action(s.tvr, s.aid, s.iacs(), s.k.onlineCapable(), goOnline)
}
