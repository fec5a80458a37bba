package emv

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"kpos/firmware/emv/status"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/capk"
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

// staticData returns the static data to be authenticated: the ODA records
// and the AIP when the Static Data Authentication Tag List asks for it.
func (s *session) staticData() ([]byte, error) {
	out := clone(s.oda.records)
	if l, ok := s.icc[0x9F4A]; ok {
		if !bytes.Equal(l, []byte{0x82}) {
			return nil, fmt.Errorf("%w: tag list %X", capk.ErrFormat, l)
		}
		out = append(out, s.aip[:]...)
	}
	return out, nil
}

func (s *session) pan() string { return tlv.CNDigits(s.icc[0x5A]) }

// issuerKey finds the CA key and recovers the issuer key.
func (s *session) issuerKey() (*capk.PublicKey, error) {
	idx, ok := s.icc[0x8F]
	if !ok || len(idx) != 1 {
		return nil, capk.ErrMissing
	}
	ca := s.k.cfg.CAPKs.Lookup(s.adf, idx[0])
	if ca != nil && !s.k.cfg.Terminal.ODAAlgorithms.Allows(ca.Algorithm) {
		ca = nil // a family the terminal does not use
	}
	if ca == nil {
		return nil, fmt.Errorf("%w: CA key %02X not in the store", capk.ErrMissing, idx[0])
	}
	now := s.txn.Time
	if ca.Expired(now) {
		return nil, capk.ErrExpired
	}
	pan := s.pan()
	if pan == "" {
		pan = track2PAN(s.icc[0x57])
	}
	return capk.RecoverIssuerKey(ca, s.icc[0x90], s.icc[0x92], s.icc[0x9F32], pan, now)
}

// iccKey recovers the ICC public key through the issuer key.
func (s *session) iccKey() (*capk.PublicKey, error) {
	if s.oda.recordsBad {
		return nil, fmt.Errorf("%w: ODA record not a 70 template", capk.ErrFormat)
	}
	ik, err := s.issuerKey()
	if err != nil {
		return nil, err
	}
	static, err := s.staticData()
	if err != nil {
		return nil, err
	}
	pan := s.pan()
	if pan == "" {
		pan = track2PAN(s.icc[0x57])
	}
	return capk.RecoverICCKey(ik, s.icc[0x9F46], s.icc[0x9F48], s.icc[0x9F47], static, pan, s.txn.Time)
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
		key, err := s.iccKey()
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
	if s.oda.recordsBad {
		return fmt.Errorf("%w: ODA record not a 70 template", capk.ErrFormat)
	}
	ik, err := s.issuerKey()
	if err != nil {
		return err
	}
	static, err := s.staticData()
	if err != nil {
		return err
	}
	dac, err := capk.VerifySSAD(ik, s.icc[0x93], static)
	if err != nil {
		return err
	}
	s.icc[0x9F45] = dac
	return nil
}

// dda runs dynamic data authentication with INTERNAL AUTHENTICATE.
func (s *session) dda(ctx context.Context) error {
	key, err := s.iccKey()
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
	sdad, err := signatureFrom(r.Data)
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

// signatureFrom takes the SDAD from a format 1 (80) or format 2 (77)
// response.
func signatureFrom(b []byte) ([]byte, error) {
	obj, err := tlv.ParseOne(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", capk.ErrFormat, err)
	}
	switch obj.Tag {
	case 0x80:
		return obj.Value, nil
	case 0x77:
		if sig, ok := tlv.Find(obj.Children, 0x9F4B); ok {
			return sig.Value, nil
		}
	}
	return nil, capk.ErrMissing
}

// keepDynamicNumber stores the ICC dynamic number from ICC dynamic data.
func (s *session) keepDynamicNumber(dd []byte) {
	if len(dd) > 0 && int(dd[0])+1 <= len(dd) {
		s.icc[0x9F4C] = clone(dd[1 : 1+int(dd[0])])
	}
}

// verifyCDA checks the CDA signature of a GENERATE AC response (Book 2
// 6.6.2): the dynamic data carries the CID and the AC, and its hash code
// covers the PDOL data, the CDOL data and the response without 9F4B.
func (s *session) verifyCDA(resp tlv.TLV, cdolData ...[]byte) error {
	if s.oda.iccKey == nil {
		return capk.ErrMissing
	}
	sig, ok := tlv.Find(resp.Children, 0x9F4B)
	if !ok {
		return capk.ErrMissing
	}
	dd, err := capk.VerifySDAD(s.oda.iccKey, sig.Value, s.term[0x9F37])
	if err != nil {
		return err
	}
	if len(dd) < 1 || len(dd) < 1+int(dd[0])+1+8+20 {
		return fmt.Errorf("%w: CDA dynamic data too short", capk.ErrFormat)
	}
	idnLen := int(dd[0])
	cid, ac, hc := dd[1+idnLen], dd[2+idnLen:10+idnLen], dd[10+idnLen:30+idnLen]
	if c, ok := tlv.Find(resp.Children, 0x9F27); !ok || len(c.Value) != 1 || c.Value[0] != cid {
		return fmt.Errorf("%w: CID differs from the signed one", capk.ErrMismatch)
	}
	h := sha1.New()
	h.Write(s.pdolData)
	for _, d := range cdolData {
		h.Write(d)
	}
	for _, o := range resp.Children {
		if o.Tag != 0x9F4B {
			h.Write(tlv.Encode(o.Tag, o.Value))
		}
	}
	if !bytes.Equal(h.Sum(nil), hc) {
		return fmt.Errorf("%w: transaction data hash code", capk.ErrHash)
	}
	s.icc[0x9F26] = clone(ac)
	s.keepDynamicNumber(dd)
	return nil
}
