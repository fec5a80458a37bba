package emv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"kpos/firmware/emv/status"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
	"kpos/hal"
)

// CVM codes (tag 8E, low six bits).
const (
	cvmFail               = 0x00
	cvmPlainPINICC        = 0x01
	cvmEncPINOnline       = 0x02
	cvmPlainPINSignature  = 0x03
	cvmEncPINICC          = 0x04
	cvmEncPINICCSignature = 0x05
	cvmSignature          = 0x1E
	cvmNoCVM              = 0x1F
	cvmApplyNext          = 0x40
)

// CVM results byte 3.
const (
	cvmResultUnknown    = 0x00
	cvmResultFailed     = 0x01
	cvmResultSuccessful = 0x02
)

// Terminal capabilities byte 2 (9F33): which CVMs the terminal supports.
const (
	capPlainPIN   = 0x80
	capOnlinePIN  = 0x40
	capSignature  = 0x20
	capEncPINICC  = 0x10
	capNoCVM      = 0x08
	maxCVMEntries = 64
)

// cvmCapability returns 9F33 byte 2 as it applies to this transaction:
// on the Mastercard contactless path, below the CVM limit only "no CVM" and
// above it the configured contactless CVMs.
func (s *session) cvmCapability() byte {
	caps := s.k.cfg.Terminal.Capabilities[1]
	if s.iface == hal.Contactless {
		if s.txn.Amount < s.aid.Contactless.CVMLimit {
			return capNoCVM
		}
		if c := s.aid.Contactless.CVMCapability; c != 0 {
			return c
		}
		return caps &^ capNoCVM
	}
	return caps
}

// cardholderVerification processes the CVM list, Book 3 10.5.
func (s *session) cardholderVerification(ctx context.Context) error {
	if s.aip[0]&aipCVM == 0 {
		s.cvmr = [3]byte{0x3F, 0x00, 0x00}
		return nil
	}
	s.tsi.Set(status.TSICardholderVerificationPerformed)
	if s.onDeviceCVM() {
		s.cvm = CVMCDCVM
		s.cvmr = [3]byte{0x01, 0x00, cvmResultSuccessful}
		return nil
	}
	list, ok := s.icc[0x8E]
	if !ok || len(list) < 10 {
		s.tvr.Set(status.TVRICCDataMissing)
		s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
		s.cvmr = [3]byte{0x3F, 0x00, cvmResultFailed}
		s.cvm = CVMFailed
		return nil
	}
	if len(list)%2 != 0 || (len(list)-8)/2 > maxCVMEntries {
		return fmt.Errorf("emv: CVM list: %w: length %d", ErrCardData, len(list))
	}
	x := int64(binary.BigEndian.Uint32(list[0:4]))
	y := int64(binary.BigEndian.Uint32(list[4:8]))
	caps := s.cvmCapability()
	var last [2]byte
	anyApplied := false
	for i := 8; i+1 < len(list); i += 2 {
		code, cond := list[i], list[i+1]
		if !s.conditionMet(cond, code, x, y, caps) {
			continue
		}
		anyApplied = true
		last = [2]byte{code, cond}
		ok, result, err := s.performCVM(ctx, code&0x3F, caps)
		if err != nil {
			return err
		}
		if ok {
			s.cvmr = [3]byte{code, cond, result}
			return nil
		}
		if code&cvmApplyNext == 0 {
			break
		}
	}
	s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
	s.cvm = CVMFailed
	s.signature = false
	if !anyApplied {
		s.cvmr = [3]byte{0x3F, 0x00, cvmResultFailed}
		return nil
	}
	s.cvmr = [3]byte{last[0], last[1], cvmResultFailed}
	if last[0]&0x3F == cvmFail {
		s.cvmr[0] = last[0]
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

// supported reports whether the terminal supports a CVM code.
func supported(code, caps byte) bool {
	switch code {
	case cvmPlainPINICC:
		return caps&capPlainPIN != 0
	case cvmEncPINOnline:
		return caps&capOnlinePIN != 0
	case cvmPlainPINSignature:
		return caps&capPlainPIN != 0 && caps&capSignature != 0
	case cvmEncPINICC:
		return caps&capEncPINICC != 0
	case cvmEncPINICCSignature:
		return caps&capEncPINICC != 0 && caps&capSignature != 0
	case cvmSignature:
		return caps&capSignature != 0
	case cvmNoCVM:
		return caps&capNoCVM != 0
	case cvmFail:
		return true
	}
	return false
}

// conditionMet evaluates a CVM condition code (Book 3 Annex C3).
func (s *session) conditionMet(cond, code byte, x, y int64, caps byte) bool {
	cash := s.txn.Type == Cash
	unattended := s.k.cfg.Terminal.Type&0x0F >= 4
	sameCurrency := bytes.Equal(s.icc[0x9F42], s.term[0x5F2A])
	amt := s.txn.Amount
	switch cond {
	case 0x00:
		return true
	case 0x01:
		return unattended && cash
	case 0x02:
		return !cash && s.txn.OtherAmount == 0
	case 0x03:
		return supported(code&0x3F, caps)
	case 0x04:
		return !unattended && cash
	case 0x05:
		return s.txn.OtherAmount > 0
	case 0x06:
		return sameCurrency && amt < x
	case 0x07:
		return sameCurrency && amt > x
	case 0x08:
		return sameCurrency && amt < y
	case 0x09:
		return sameCurrency && amt > y
	}
	return false
}

// performCVM performs one CVM; ok reports success, result is CVM results
// byte 3.
func (s *session) performCVM(ctx context.Context, code, caps byte) (bool, byte, error) {
	switch code {
	case cvmFail:
		return false, cvmResultFailed, nil
	case cvmPlainPINICC, cvmPlainPINSignature, cvmEncPINICC, cvmEncPINICCSignature,
		cvmEncPINOnline, cvmSignature, cvmNoCVM:
	default:
		s.tvr.Set(status.TVRUnrecognisedCVM)
		return false, cvmResultFailed, nil
	}
	if !supported(code, caps) {
		if code != cvmSignature && code != cvmNoCVM {
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		}
		return false, cvmResultFailed, nil
	}
	switch code {
	case cvmEncPINOnline:
		return s.onlinePIN(ctx)
	case cvmSignature:
		s.cvm, s.signature = CVMSignature, true
		return true, cvmResultUnknown, nil
	case cvmNoCVM:
		s.cvm = CVMNone
		return true, cvmResultSuccessful, nil
	}
	enciphered := code == cvmEncPINICC || code == cvmEncPINICCSignature
	withSignature := code == cvmPlainPINSignature || code == cvmEncPINICCSignature
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
	if cert, ok := s.icc[0x9F2D]; ok {
		ik, err := s.issuerKey()
		if err != nil {
			return nil, err
		}
		pan := s.pan()
		return capk.RecoverICCKey(ik, cert, s.icc[0x9F2F], s.icc[0x9F2E], nil, pan, s.txn.Time)
	}
	if s.oda.iccKey != nil {
		return s.oda.iccKey, nil
	}
	return s.iccKey()
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
			return false, cvmResultFailed, nil
		}
		key, err := s.pinEncipherKey()
		if err == nil && key.IsSM2() {
			err = fmt.Errorf("%w: PIN encipherment under an SM2 key", capk.ErrFormat)
		}
		if err != nil {
			s.k.log.Debug("emv: PIN encipherment key", "err", err)
			s.markMissing(err)
			return false, cvmResultFailed, nil
		}
		pk := PINEncipherKey{Modulus: clone(key.Modulus), Exponent: clone(key.Exponent)}
		verify = func(tries int) (uint16, error) { return v.VerifyEncipheredPIN(ctx, s.card, pk, tries) }
	} else {
		v, ok := s.ch.(OfflinePINVerifier)
		if !ok {
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
			return false, cvmResultFailed, nil
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
			return false, cvmResultFailed, nil
		}
		if tries == 1 {
			s.ch.Notify(ctx, NoticePINTriesLow)
		}
		sw, err := verify(tries)
		switch {
		case err == nil:
		case errors.Is(err, hal.ErrPINBypassed):
			s.tvr.Set(status.TVRPINNotEntered)
			return false, cvmResultFailed, nil
		case errors.Is(err, ErrCardRemoved), errors.Is(err, hal.ErrPINCancelled), errors.Is(err, hal.ErrPINTimeout), ctx.Err() != nil:
			if errors.Is(err, ErrCardRemoved) {
				return false, 0, fmt.Errorf("emv: offline PIN: %w", err)
			}
			return false, 0, fmt.Errorf("emv: offline PIN: %w: %w", ErrCancelled, err)
		default:
			s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
			return false, cvmResultFailed, nil
		}
		s.apdus++
		switch {
		case sw == apdu.SWOK:
			s.cvm = CVMOfflinePIN
			if withSignature {
				s.signature = true
				return true, cvmResultUnknown, nil
			}
			return true, cvmResultSuccessful, nil
		case sw&0xFFF0 == apdu.SWWrongPINPrefix:
			tries = int(sw & 0x0F)
		case sw == apdu.SWAuthBlocked || sw == apdu.SWRefDataInvalid:
			tries = 0
		default:
			return false, cvmResultFailed, nil
		}
	}
	return false, cvmResultFailed, nil
}

// onlinePIN asks the PIN pad for an online PIN block.
func (s *session) onlinePIN(ctx context.Context) (bool, byte, error) {
	if s.ch == nil {
		s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		return false, cvmResultFailed, nil
	}
	pan, err := hal.ParsePAN(s.pan())
	if err != nil {
		if pan, err = hal.ParsePAN(track2PAN(s.icc[0x57])); err != nil {
			return false, cvmResultFailed, nil
		}
	}
	pb, err := s.ch.OnlinePIN(ctx, pan)
	switch {
	case err == nil:
		s.tvr.Set(status.TVROnlinePINEntered)
		s.cvm, s.pinBlock = CVMOnlinePIN, &pb
		return true, cvmResultUnknown, nil
	case errors.Is(err, hal.ErrPINBypassed):
		s.tvr.Set(status.TVRPINNotEntered)
		return false, cvmResultFailed, nil
	case errors.Is(err, hal.ErrPINCancelled), errors.Is(err, hal.ErrPINTimeout), ctx.Err() != nil:
		return false, 0, fmt.Errorf("emv: online PIN: %w: %w", ErrCancelled, err)
	default:
		s.tvr.Set(status.TVRPINPadNotPresentOrNotWorking)
		return false, cvmResultFailed, nil
	}
}
