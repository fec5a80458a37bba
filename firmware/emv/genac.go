package emv

import (
	"context"
	"crypto/sha1"
	"fmt"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/genac"
	"kpos/firmware/emv/issuerscript"
	"kpos/firmware/emv/risk"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
)

func decisionOf(cid byte) Decision {
	switch cid & genac.RFU {
	case genac.TC:
		return Approved
	case genac.ARQC:
		return GoOnline
	}
	return Declined
}

// buildCDOL builds the data for a CDOL, computing the TC hash value (98)
// over the TDOL when the CDOL asks for it.
func (s *session) buildCDOL(tag tlv.Tag) ([]byte, error) {
	dol, err := tlv.ParseDOL(s.icc[tag])
	if err != nil {
		return nil, fmt.Errorf("emv: %s: %w: %w", tlv.Lookup(tag).Name, ErrCardData, err)
	}
	if dol.Has(0x98) {
		tdol := s.aid.DefaultTDOL
		if raw, ok := s.icc[0x97]; ok {
			if tdol, err = tlv.ParseDOL(raw); err != nil {
				return nil, fmt.Errorf("emv: TDOL: %w: %w", ErrCardData, err)
			}
		} else if tdol != nil {
			s.tvr.Set(status.TVRDefaultTDOLUsed)
		}
		sum := sha1.Sum(tdol.Build(s.value))
		s.term[0x98] = sum[:]
	}
	data := dol.Build(s.value)
	s.sent(dol, data)
	return data, nil
}

// generateAC sends GENERATE AC and stores the response data. It checks the
// cryptogram type against the one requested (Book 3 9.3).
func (s *session) generateAC(ctx context.Context, p1 byte, data []byte) (tlv.TLV, byte, error) {
	r, err := s.transmit(ctx, "GENERATE AC", genac.Command(p1, data))
	if err != nil {
		return tlv.TLV{}, 0, err
	}
	if r.SW != apdu.SWOK {
		return tlv.TLV{}, 0, apdu.BadSW("GENERATE AC", r.SW)
	}
	obj, elems, err := genac.ParseResponse(r.Data)
	if err != nil {
		return tlv.TLV{}, 0, fmt.Errorf("emv: GENERATE AC: %w", err)
	}
	delete(s.icc, 0x9F26)
	for _, o := range elems {
		s.icc[o.Tag] = clone(o.Value)
	}
	_, hasAC := s.icc[0x9F26]
	cid, err := genac.Check(p1, s.icc[0x9F27], s.icc[0x9F36], hasAC)
	if err != nil {
		return tlv.TLV{}, 0, fmt.Errorf("emv: GENERATE AC: %w", err)
	}
	return obj, cid, nil
}

// cdaRequested reports whether a GENERATE AC for want asks for a CDA
// signature.
func (s *session) cdaRequested(want byte) bool {
	return s.oda.kind == odaCDA && !s.oda.cdaFailed && want != genac.AAC
}

// firstGenerateAC asks for the cryptogram terminal action analysis chose,
// Book 3 9.3 and 10.8.
func (s *session) firstGenerateAC(ctx context.Context, want byte) (FirstResult, Online, error) {
	data, err := s.buildCDOL(0x8C)
	if err != nil {
		return FirstResult{}, nil, err
	}
	s.cdol1Data = data
	p1 := want
	if s.cdaRequested(want) {
		p1 |= genac.P1CDA
	}
	resp, cid, err := s.generateAC(ctx, p1, data)
	if err != nil {
		return FirstResult{}, nil, err
	}
	s.tsi.Set(status.TSICardRiskManagementPerformed)
	d := decisionOf(cid)
	if p1&genac.P1CDA != 0 && d != Declined {
		if err := s.verifyCDA(resp, data); err != nil {
			s.k.log.Debug("emv: CDA failed", "err", err)
			s.markMissing(err)
			s.tvr.Set(status.TVRCDAFailed)
			d = Declined
		}
	}
	if s.removable() {
		s.cardCanBeRemoved(ctx)
	}
	res := s.firstResult(d)
	if d != GoOnline {
		return res, nil, nil
	}
	return res, &online{s: s}, nil
}

// online is the transaction waiting for the host.
type online struct {
	s    *session
	done bool
}

// Complete runs issuer authentication, scripts and the second GENERATE AC
// (Book 3 10.9 to 10.11). For a contactless transaction the card has left
// and the host's answer decides. An error after the host approved sets
// Reverse in the result as well.
func (o *online) Complete(ctx context.Context, resp HostResponse) (FinalResult, error) {
	if o.done {
		return FinalResult{}, ErrCompleted
	}
	o.done = true
	s := o.s
	res, err := s.complete(ctx, resp)
	if err != nil {
		res = FinalResult{Decision: Declined, Reverse: resp.Answered && resp.Approved, TVR: s.tvr, TSI: s.tsi}
		return res, err
	}
	return res, nil
}

func (s *session) complete(ctx context.Context, resp HostResponse) (FinalResult, error) {
	if resp.Answered {
		s.arc = genac.ARC(resp.ResponseCode)
	} else {
		s.arc = []byte("Z3")
	}
	if s.removed {
		d := Declined
		if resp.Answered && resp.Approved {
			d = Approved
		}
		return s.finalResult(d, false, nil), nil
	}
	want := genac.AAC
	var results []byte
	if resp.Answered {
		if len(resp.IssuerAuthData) > 0 {
			s.term[0x91] = clone(resp.IssuerAuthData)
			if err := s.issuerAuthentication(ctx, resp.IssuerAuthData); err != nil {
				return FinalResult{}, err
			}
		}
		r, err := s.runScripts(ctx, resp.Scripts, 0x71)
		if err != nil {
			return FinalResult{}, err
		}
		results = append(results, r...)
		if resp.Approved {
			want = genac.TC
		}
	} else {
		want = risk.DefaultAction(s.tvr, s.aid, s.iacs())
	}
	data, err := s.buildCDOL(0x8D)
	if err != nil {
		return FinalResult{}, err
	}
	p1 := want
	if s.cdaRequested(want) {
		p1 |= genac.P1CDA
	}
	gresp, cid, err := s.generateAC(ctx, p1, data)
	if err != nil {
		return FinalResult{}, err
	}
	d := decisionOf(cid)
	if d == GoOnline {
		return FinalResult{}, fmt.Errorf("emv: second GENERATE AC: %w: ARQC", ErrCardResponse)
	}
	if p1&genac.P1CDA != 0 && d == Approved {
		if err := s.verifyCDA(gresp, s.cdol1Data, data); err != nil {
			s.k.log.Debug("emv: CDA failed at second GENERATE AC", "err", err)
			s.markMissing(err)
			s.tvr.Set(status.TVRCDAFailed)
			d = Declined
		}
	}
	if resp.Answered {
		r, err := s.runScripts(ctx, resp.Scripts, 0x72)
		if err != nil {
			return FinalResult{}, err
		}
		results = append(results, r...)
	}
	reverse := resp.Answered && resp.Approved && d != Approved
	return s.finalResult(d, reverse, results), nil
}

func (s *session) finalResult(d Decision, reverse bool, scripts []byte) FinalResult {
	r := FinalResult{
		Decision:      d,
		Cryptogram:    clone(s.icc[0x9F26]),
		ICCData:       s.iccData(),
		ScriptResults: scripts,
		Reverse:       reverse,
		TVR:           s.tvr,
		TSI:           s.tsi,
	}
	if c := s.icc[0x9F27]; len(c) == 1 {
		r.CID = c[0]
	}
	return r
}

// issuerAuthentication sends EXTERNAL AUTHENTICATE when the AIP says the
// card supports it; otherwise the ARPC travels in CDOL2 (tag 91).
func (s *session) issuerAuthentication(ctx context.Context, iad []byte) error {
	if s.aip[0]&aipIssuerAuth == 0 {
		return nil
	}
	if len(iad) < 8 || len(iad) > 16 {
		s.tvr.Set(status.TVRIssuerAuthenticationFailed)
		return nil
	}
	r, err := s.transmit(ctx, "EXTERNAL AUTHENTICATE", apdu.Command(0x00, 0x82, 0x00, 0x00, iad, false))
	if err != nil {
		return err
	}
	s.tsi.Set(status.TSIIssuerAuthenticationPerformed)
	if r.SW != apdu.SWOK {
		s.tvr.Set(status.TVRIssuerAuthenticationFailed)
	}
	return nil
}

// runScripts sends the issuer scripts of one kind (71 before, 72 after
// the final GENERATE AC) and returns their results, five bytes each: the
// result and failing command number, then the script identifier
// (Book 4 A5, tag 9F5B).
func (s *session) runScripts(ctx context.Context, scripts []byte, kind tlv.Tag) ([]byte, error) {
	if len(scripts) == 0 {
		return nil, nil
	}
	failBit := status.TVRScriptFailedBeforeFinalGenerateAC
	if kind == 0x72 {
		failBit = status.TVRScriptFailedAfterFinalGenerateAC
	}
	parsed, err := issuerscript.Parse(scripts, kind)
	if err != nil {
		if kind == 0x71 {
			s.tvr.Set(failBit)
		}
		return nil, nil
	}
	var results []byte
	for _, sc := range parsed {
		s.tsi.Set(status.TSIScriptProcessingPerformed)
		res, ok, err := sc.Run(func(cmd []byte) (uint16, error) {
			r, err := s.transmit(ctx, "issuer script", cmd)
			return r.SW, err
		})
		if err != nil {
			return results, err
		}
		if !ok {
			s.tvr.Set(failBit)
		}
		results = append(results, res[:]...)
	}
	return results, nil
}
