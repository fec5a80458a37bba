package emv

import (
	"context"
	"fmt"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/contactless"
	"kpos/firmware/emv/status"
	"kpos/hal"
)

// removable reports whether the card may leave after the command just
// sent: contactless transactions end their card dialogue with the first
// cryptogram.
func (s *session) removable() bool { return s.iface == hal.Contactless }

// cardCanBeRemoved tells the cardholder the card may go.
func (s *session) cardCanBeRemoved(ctx context.Context) {
	s.removed = true
	if s.ch != nil {
		s.ch.Notify(ctx, NoticeRemoveCard)
	}
}

// runQuick is the qPBOC and Visa qVSDC-style path: the card produced its
// cryptogram in GPO; read the records, let the card go, then authenticate
// offline (fDDA), check restrictions and decide.
func (s *session) runQuick(ctx context.Context) (FirstResult, Online, error) {
	if _, ok := s.icc[0x9F26]; !ok {
		return FirstResult{}, nil, fmt.Errorf("emv: GPO without cryptogram: %w", ErrUseContact)
	}
	if len(s.icc[0x9F36]) != 2 {
		return FirstResult{}, nil, fmt.Errorf("emv: GPO: %w: ATC missing", ErrCardResponse)
	}
	if err := s.readRecords(ctx); err != nil {
		return FirstResult{}, nil, err
	}
	s.cardCanBeRemoved(ctx)
	if _, ok := s.icc[0x57]; !ok {
		if _, ok := s.icc[0x5A]; !ok {
			return FirstResult{}, nil, fmt.Errorf("emv: %w: neither track 2 nor PAN", ErrCardData)
		}
	}
	cid := contactless.CID(s.icc[0x9F27], s.icc[0x9F10])
	s.icc[0x9F27] = []byte{cid}
	d := decisionOf(cid)
	s.processingRestrictions()
	if d == Approved && (s.tvr.Has(status.TVRExpiredApplication) || s.tvr.Has(status.TVRApplicationNotYetEffective)) {
		d = Declined
	}
	if d == Approved {
		d = s.fdda()
	} else {
		s.tvr.Set(status.TVROfflineDataAuthenticationNotPerformed)
	}
	if d == TryOtherMeans {
		return FirstResult{}, nil, fmt.Errorf("emv: offline data authentication failed: %w", ErrUseContact)
	}
	if d == Declined {
		return s.firstResult(d), nil, nil
	}
	s.quickCVM(d)
	if err := s.quickPIN(ctx, d); err != nil {
		return FirstResult{}, nil, err
	}
	res := s.firstResult(d)
	if d != GoOnline {
		return res, nil, nil
	}
	return res, &online{s: s}, nil
}

// fdda verifies the fast DDA signature of an offline approval: its hash
// covers the unpredictable number and, for fDDA version 01, the amount,
// the currency and the card authentication related data (9F69).
func (s *session) fdda() Decision {
	if s.aip[0]&aipDDA == 0 || s.k.cfg.Terminal.Capabilities[2]&0x40 == 0 {
		s.tvr.Set(status.TVROfflineDataAuthenticationNotPerformed)
		return s.odaFailedOutcome()
	}
	s.oda.kind = odaFDDA
	s.tsi.Set(status.TSIOfflineDataAuthenticationPerformed)
	err := s.fddaVerify()
	if err == nil {
		return Approved
	}
	s.k.log.Debug("emv: fDDA failed", "err", err)
	s.markMissing(err)
	s.tvr.Set(status.TVRDDAFailed)
	return s.odaFailedOutcome()
}

func (s *session) fddaVerify() error {
	key, err := s.odaData().ICCKey()
	if err != nil {
		return err
	}
	extra := [][]byte{s.term[0x9F37]}
	if card := s.icc[0x9F69]; len(card) > 0 && card[0] == 0x01 {
		extra = append(extra, s.term[0x9F02], s.term[0x5F2A], card)
	}
	dd, err := capk.VerifySDAD(key, s.icc[0x9F4B], extra...)
	if err != nil {
		return err
	}
	s.keepDynamicNumber(dd)
	return nil
}

// odaFailedOutcome is what an offline approval becomes when its offline
// data authentication fails.
func (s *session) odaFailedOutcome() Decision {
	switch contactless.ODAFailed(s.icc[0x9F6C], s.k.onlineCapable()) {
	case contactless.Online:
		return GoOnline
	case contactless.OtherInterface:
		return TryOtherMeans
	}
	return Declined
}

// quickCVM decides the CVM of a quick contactless transaction from the
// TTQ and the card's CTQ.
func (s *session) quickCVM(d Decision) {
	var m contactless.CVM
	m, s.cvmr = contactless.ChooseCVM(s.term[0x9F66], s.icc[0x9F6C], d == GoOnline)
	s.cvm = quickCVMs[m]
	s.signature = m == contactless.Signature
	if m == contactless.Failed {
		s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
	}
}

// quickCVMs is the kernel's CVM for each quick path decision.
var quickCVMs = map[contactless.CVM]CVM{contactless.NoCVM: CVMNone, contactless.CDCVM: CVMCDCVM,
	contactless.OnlinePIN: CVMOnlinePIN, contactless.Signature: CVMSignature, contactless.Failed: CVMFailed}

// quickPIN collects the online PIN the CVM decision asked for; the card is
// already gone, so this only talks to the PIN pad.
func (s *session) quickPIN(ctx context.Context, d Decision) error {
	if s.cvm != CVMOnlinePIN {
		return nil
	}
	s.cvm = CVMNone
	ok, _, err := s.onlinePIN(ctx)
	if err != nil {
		return err
	}
	if ok {
		s.cvmr = [3]byte{0x02, 0x00, 0x00}
		return nil
	}
	s.cvm = CVMFailed
	s.tvr.Set(status.TVRCardholderVerificationNotSuccessful)
	return nil
}
