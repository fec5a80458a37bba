package emv

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/oda"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
)

// odaKind is the offline data authentication method chosen.
type odaKind int

const (
	odaNone odaKind = iota // no method chosen (yet)
	odaSDA
	odaDDA
	odaCDA
	odaFDDA
)

// odaState is what ODA keeps during a transaction.
type odaState struct {
	kind       odaKind
	records    []byte // static data to be authenticated, from the records
	recordsBad bool   // a record for ODA was not a 70 template
	iccKey     *capk.PublicKey
	cdaFailed  bool // CDA key retrieval failed before GENERATE AC
}

func (s *session) pan() string { return tlv.CNDigits(s.icc[0x5A]) }

// odaData is the session's data for offline data authentication.
func (s *session) odaData() *oda.Data {
	return &oda.Data{ICC: s.icc, RID: s.adf, AIP: s.aip, Records: s.oda.records, RecordsBad: s.oda.recordsBad,
		Time: s.txn.Time, CAPKs: s.k.cfg.CAPKs, Algorithms: s.k.cfg.Terminal.ODAAlgorithms}
}

// markMissing sets ICC data missing when err says data was absent.
func (s *session) markMissing(err error) {
	if errors.Is(err, capk.ErrMissing) {
		s.tvr.Set(status.TVRICCDataMissing)
	}
}

// offlineDataAuthentication chooses CDA, DDA or SDA by AIP and terminal
// capabilities and runs it (CDA completes at GENERATE AC), Book 3 10.3.
func (s *session) offlineDataAuthentication(ctx context.Context) error {
	aip, caps := s.aip[0], s.k.cfg.Terminal.Capabilities[2]
	switch {
	case aip&aipCDA != 0 && caps&0x08 != 0:
		s.oda.kind = odaCDA
		key, err := s.odaData().ICCKey()
		if err != nil {
			s.k.log.Debug("emv: CDA key retrieval failed", "err", err)
			s.markMissing(err)
			s.tvr.Set(status.TVRCDAFailed)
			s.oda.cdaFailed = true
		}
		s.oda.iccKey = key
	case aip&aipDDA != 0 && caps&0x40 != 0:
		s.oda.kind = odaDDA
		if err := s.dda(ctx); err != nil {
			if isCardFailure(err) {
				return err
			}
			s.k.log.Debug("emv: DDA failed", "err", err)
			s.markMissing(err)
			s.tvr.Set(status.TVRDDAFailed)
		}
	case aip&aipSDA != 0 && caps&0x80 != 0:
		s.oda.kind = odaSDA
		s.tvr.Set(status.TVRSDASelected)
		if err := s.sda(); err != nil {
			s.k.log.Debug("emv: SDA failed", "err", err)
			s.markMissing(err)
			s.tvr.Set(status.TVRSDAFailed)
		}
	default:
		s.tvr.Set(status.TVROfflineDataAuthenticationNotPerformed)
		return nil
	}
	s.tsi.Set(status.TSIOfflineDataAuthenticationPerformed)
	return nil
}

// isCardFailure reports errors that end the transaction (card gone,
// context done) rather than fail an ODA method.
func isCardFailure(err error) bool {
	return errors.Is(err, ErrCardRemoved) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errTransmit)
}

// sda runs static data authentication.
func (s *session) sda() error {
	dac, err := s.odaData().SDA()
	if err != nil {
		return err
	}
	s.icc[0x9F45] = dac
	return nil
}

// dda runs dynamic data authentication with INTERNAL AUTHENTICATE.
func (s *session) dda(ctx context.Context) error {
	key, err := s.odaData().ICCKey()
	if err != nil {
		return err
	}
	ddolRaw, ok := s.icc[0x9F49]
	var ddol tlv.DOL
	if ok {
		if ddol, err = tlv.ParseDOL(ddolRaw); err != nil {
			return fmt.Errorf("%w: DDOL: %v", capk.ErrFormat, err)
		}
	} else {
		ddol = s.aid.DefaultDDOL
	}
	if !ddol.Has(0x9F37) {
		return fmt.Errorf("%w: DDOL without unpredictable number", capk.ErrMissing)
	}
	data := ddol.Build(s.value)
	r, err := s.transmit(ctx, "INTERNAL AUTHENTICATE", apdu.Command(0x00, 0x88, 0x00, 0x00, data, true))
	if err != nil {
		return fmt.Errorf("%w: %w", errTransmit, err)
	}
	if r.SW != apdu.SWOK {
		return fmt.Errorf("%w: INTERNAL AUTHENTICATE SW %04X", capk.ErrFormat, r.SW)
	}
	sdad, err := oda.SignatureFrom(r.Data)
	if err != nil {
		return err
	}
	dd, err := capk.VerifySDAD(key, sdad, data)
	if err != nil {
		return err
	}
	s.keepDynamicNumber(dd)
	return nil
}

// errTransmit marks a failure to talk to the card inside an ODA step.
var errTransmit = errors.New("emv: card exchange failed")

// keepDynamicNumber stores the ICC dynamic number from ICC dynamic data.
func (s *session) keepDynamicNumber(dd []byte) {
	if idn, ok := oda.DynamicNumber(dd); ok {
		s.icc[0x9F4C] = idn
	}
}

// verifyCDA checks the CDA signature of a GENERATE AC response (Book 2
// 6.6.2): the dynamic data carries the CID and the AC, and its hash code
// covers the PDOL data, the CDOL data and the response without 9F4B.
func (s *session) verifyCDA(resp tlv.TLV, cdolData ...[]byte) error {
	ac, dd, err := oda.CDA(s.oda.iccKey, resp, s.term[0x9F37], s.pdolData, cdolData...)
	if err != nil {
		return err
	}
	s.icc[0x9F26] = ac
	s.keepDynamicNumber(dd)
	return nil
}
