package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/cvm"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// cardholderVerification processes the CVM list, Book 3 10.5.
func (s *session) cardholderVerification(ctx context.Context) error {
	if s.aip[0]&aipCVM == 0 {
		s.cvmr = [3]byte{0x3F, 0x00, 0x00}
		return nil
	}
	s.tsi.Set(status.TSICardholderVerificationPerformed)
	if s.onDeviceCVM() {
		s.cvm = CVMCDCVM
		s.cvmr = [3]byte{0x01, 0x00, cvm.ResultSuccessful}
		return nil
	}
	list, err := cvm.ParseList(s.icc[0x8E])
	if errors.Is(err, cvm.ErrMissing) {
		s.tvr.Set(status.TVRICCDataMissing)
		s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
		s.cvmr = [3]byte{0x3F, 0x00, cvm.ResultFailed}
		s.cvm = CVMFailed
		return nil
	}
	if err != nil {
		return fmt.Errorf("emv: CVM list: %w: %w", ErrCardData, err)
	}
	c := cvm.Context{
		Cash:         s.txn.Type == Cash,
		Unattended:   s.k.cfg.Terminal.Type&0x0F >= 4,
		SameCurrency: bytes.Equal(s.icc[0x9F42], s.term[0x5F2A]),
		Amount:       s.txn.Amount,
		OtherAmount:  s.txn.OtherAmount,
		Capabilities: cvm.Capability(s.k.cfg.Terminal.Capabilities[1], s.iface == hal.Contactless,
			s.txn.Amount < s.aid.Contactless.CVMLimit, s.aid.Contactless.CVMCapability),
	}
	cvmr, ok, err := list.Run(c, func(r cvm.Rule) (bool, byte, error) {
		return s.performCVM(ctx, r.Method(), c.Capabilities)
	})
	if err != nil {
		return err
	}
	s.cvmr = cvmr
	if !ok {
		s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
		s.cvm = CVMFailed
		s.signature = false
	}
	return nil
}

// aipOnDeviceCVM is AIP byte 1 bit 2: on-device cardholder verification
// supported (Mastercard contactless).
const aipOnDeviceCVM = 0x02

// onDeviceCVM reports a Mastercard-path contactless transaction at or above
// the CVM limit with a phone or watch that verified its holder: the CVM
// list is not used (CVM results 01 00 02, as the M/Chip kernels set them).
func (s *session) onDeviceCVM() bool {
	return s.iface == hal.Contactless && s.aid.Kind == emvconfig.KindMastercard &&
		s.aip[0]&aipOnDeviceCVM != 0 && s.txn.Amount >= s.aid.Contactless.CVMLimit
}

// performCVM performs one CVM; ok reports success, result is CVM results
// byte 3.
func (s *session) performCVM(ctx context.Context, code, caps byte) (bool, byte, error) {
	switch {
	case code == cvm.Fail:
		return false, cvm.ResultFailed, nil
	case !cvm.Known(code):
		s.tvr.Set(status.TVRUnrecognisedCVM)
		return false, cvm.ResultFailed, nil
	}
	if !cvm.Supported(code, caps) {
		if code != cvm.Signature && code != cvm.NoCVM {
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		}
		return false, cvm.ResultFailed, nil
	}
	switch code {
	case cvm.EncPINOnline:
		return s.onlinePIN(ctx)
	case cvm.Signature:
		s.cvm, s.signature = CVMSignature, true
		return true, cvm.ResultUnknown, nil
	case cvm.NoCVM:
		s.cvm = CVMNone
		return true, cvm.ResultSuccessful, nil
	}
	enciphered := code == cvm.EncPINICC || code == cvm.EncPINICCSignature
	withSignature := code == cvm.PlainPINSignature || code == cvm.EncPINICCSignature
	return s.offlinePIN(ctx, enciphered, withSignature)
}

// OfflinePINVerifier is an optional interface of a Cardholder whose PIN
// pad verifies a PIN with the card itself (offline plaintext PIN): it
// collects the PIN and sends VERIFY (00 20 00 80 08, ISO 9564 format 2
// block) to the card, so the clear PIN never leaves the PIN pad. It
// returns the card's status word; triesLeft is -1 when the card did not
// tell. The kernel offers offline PIN only when the Cardholder implements
// this and terminal capabilities (9F33 byte 2 bit 8) claim it.
type OfflinePINVerifier interface {
	VerifyOfflinePIN(ctx context.Context, card hal.Card, triesLeft int) (sw uint16, err error)
}

// PINEncipherKey is the card's public key for offline PIN encipherment:
// the ICC PIN encipherment key (9F2D) or else the ICC public key (9F46),
// recovered and checked by the kernel.
type PINEncipherKey struct {
	Modulus  []byte
	Exponent []byte
}

// EncipheredPINVerifier is an optional interface of a Cardholder whose PIN
// pad verifies an enciphered offline PIN with the card itself: it collects
// the PIN, asks the card for a challenge (GET CHALLENGE), enciphers the PIN
// block with key (Book 2 7.1) and sends VERIFY (P2 88). It returns the
// card's status word; triesLeft is -1 when the card did not tell.
type EncipheredPINVerifier interface {
	VerifyEncipheredPIN(ctx context.Context, card hal.Card, key PINEncipherKey, triesLeft int) (sw uint16, err error)
}

// pinEncipherKey recovers the key for offline PIN encipherment.
func (s *session) pinEncipherKey() (*capk.PublicKey, error) {
	if key, err := s.odaData().PINKey(); key != nil || err != nil {
		return key, err
	}
	if s.oda.iccKey != nil {
		return s.oda.iccKey, nil
	}
	return s.odaData().ICCKey()
}

// maxPINAttempts bounds VERIFY retries against a card that never counts
// down.
const maxPINAttempts = 8

// offlinePIN runs offline PIN verification (plaintext or enciphered)
// through the PIN pad, with the PIN try counter (GET DATA 9F17), Book 3
// 10.5.1.
func (s *session) offlinePIN(ctx context.Context, enciphered, withSignature bool) (bool, byte, error) {
	var verify func(tries int) (uint16, error)
	if enciphered {
		v, ok := s.ch.(EncipheredPINVerifier)
		if !ok {
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
			return false, cvm.ResultFailed, nil
		}
		key, err := s.pinEncipherKey()
		if err == nil && key.IsSM2() {
			err = fmt.Errorf("%w: PIN encipherment under an SM2 key", capk.ErrFormat)
		}
		if err != nil {
			s.k.log.Debug("emv: PIN encipherment key", "err", err)
			s.markMissing(err)
			return false, cvm.ResultFailed, nil
		}
		pk := PINEncipherKey{Modulus: clone(key.Modulus), Exponent: clone(key.Exponent)}
		verify = func(tries int) (uint16, error) { return v.VerifyEncipheredPIN(ctx, s.card, pk, tries) }
	} else {
		v, ok := s.ch.(OfflinePINVerifier)
		if !ok {
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
			return false, cvm.ResultFailed, nil
		}
		verify = func(tries int) (uint16, error) { return v.VerifyOfflinePIN(ctx, s.card, tries) }
	}
	tries := -1
	ptc, err := s.getData(ctx, 0x9F17)
	if err != nil {
		return false, 0, err
	}
	if len(ptc) == 1 {
		tries = int(ptc[0])
	}
	for attempt := 0; attempt < maxPINAttempts; attempt++ {
		if tries == 0 {
			s.tvr.Set(status.TVRPINTryLimitExceeded)
			return false, cvm.ResultFailed, nil
		}
		if tries == 1 {
			s.ch.Notify(ctx, NoticePINTriesLow)
		}
		sw, err := verify(tries)
		switch {
		case err == nil:
		case errors.Is(err, hal.ErrPINBypassed):
			s.tvr.Set(status.TVRPINNotEntered)
			return false, cvm.ResultFailed, nil
		case errors.Is(err, ErrCardRemoved), errors.Is(err, hal.ErrPINCancelled), errors.Is(err, hal.ErrPINTimeout), ctx.Err() != nil:
			if errors.Is(err, ErrCardRemoved) {
				return false, 0, fmt.Errorf("emv: offline PIN: %w", err)
			}
			return false, 0, fmt.Errorf("emv: offline PIN: %w: %w", ErrCancelled, err)
		default:
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
			return false, cvm.ResultFailed, nil
		}
		s.apdus++
		switch {
		case sw == apdu.SWOK:
			s.cvm = CVMOfflinePIN
			if withSignature {
				s.signature = true
				return true, cvm.ResultUnknown, nil
			}
			return true, cvm.ResultSuccessful, nil
		case sw&0xFFF0 == apdu.SWWrongPINPrefix:
			tries = int(sw & 0x0F)
		case sw == apdu.SWAuthBlocked || sw == apdu.SWRefDataInvalid:
			tries = 0
		default:
			return false, cvm.ResultFailed, nil
		}
	}
	return false, cvm.ResultFailed, nil
}

// onlinePIN asks the PIN pad for an online PIN block.
func (s *session) onlinePIN(ctx context.Context) (bool, byte, error) {
	if s.ch == nil {
		s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		return false, cvm.ResultFailed, nil
	}
	pan, err := hal.ParsePAN(s.pan())
	if err != nil {
		if pan, err = hal.ParsePAN(tlv.Track2PAN(s.icc[0x57])); err != nil {
			return false, cvm.ResultFailed, nil
		}
	}
	pb, err := s.ch.OnlinePIN(ctx, pan)
	switch {
	case err == nil:
		s.tvr.Set(status.TVROnlinePINEntered)
		s.cvm, s.pinBlock = CVMOnlinePIN, &pb
		return true, cvm.ResultUnknown, nil
	case errors.Is(err, hal.ErrPINBypassed):
		s.tvr.Set(status.TVRPINNotEntered)
		return false, cvm.ResultFailed, nil
	case errors.Is(err, hal.ErrPINCancelled), errors.Is(err, hal.ErrPINTimeout), ctx.Err() != nil:
		return false, 0, fmt.Errorf("emv: online PIN: %w: %w", ErrCancelled, err)
	default:
		s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		return false, cvm.ResultFailed, nil
	}
}
