package hostsim

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
)

// The issuer side of the host: it verifies an application cryptogram from
// the authorization alone — field 55 and the PAN, PSN and amount as sent —
// with keys derived from its own issuer master keys by the version the
// issuer application data (9F10) names. It never sees a card's keys or
// state. A cryptogram that does not verify is declined with
// CodeIssuerAuthFailed and counted.

// CodeIssuerAuthFailed is the response code of an authorization whose
// cryptogram does not verify (the dialect's "security processing failed").
const CodeIssuerAuthFailed = "A7"

// Errors of cryptogram verification; a caller branches on them with
// errors.Is. Their text never holds key material or PAN digits.
var (
	// ErrICCData reports field 55 without what the cryptogram needs.
	ErrICCData = errors.New("hostsim: ICC data incomplete")
	// ErrARQC reports a cryptogram that does not verify.
	ErrARQC = errors.New("hostsim: ARQC does not verify")
)

// Cryptogram is an ARQC that verified, with what the issuer needs to
// answer it.
type Cryptogram struct {
	Version emvcrypto.Version
	ARQC    []byte
	iccMK   []byte
	acKey   []byte
}

// cryptogramTags are the field 55 elements every version's cryptogram
// covers, with their lengths.
var cryptogramTags = []struct {
	tag tlv.Tag
	n   int
}{{0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2}, {0x9A, 3}, {0x9C, 1}, {0x9F37, 4},
	{0x82, 2}, {0x9F36, 2}, {0x9F26, 8}}

// VerifyARQC verifies the cryptogram in icc (field 55 as sent) for the card
// pan with sequence number psn ("" is 00) and the amount of the request in
// minor units (which 9F02 must state), under the issuer master key imk. The
// scheme comes from the AID in field 55 (84, else 4F or 9F06) and the
// version from the IAD.
func VerifyARQC(imk []byte, pan, psn string, amount int64, icc []byte) (*Cryptogram, error) {
	objs, err := tlv.Parse(icc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCData, err)
	}
	val := map[tlv.Tag][]byte{}
	for _, t := range []tlv.Tag{0x84, 0x4F, 0x9F06, 0x9F10, 0x9F02, 0x9F03, 0x9F1A, 0x95, 0x5F2A, 0x9A, 0x9C, 0x9F37, 0x82, 0x9F36, 0x9F26} {
		if o, ok := tlv.Find(objs, t); ok {
			val[t] = o.Value
		}
	}
	for _, e := range cryptogramTags {
		if len(val[e.tag]) != e.n {
			return nil, fmt.Errorf("%w: tag %v missing or not %d bytes", ErrICCData, e.tag, e.n)
		}
	}
	if amount >= 0 && bcdValue(val[0x9F02]) != amount {
		return nil, fmt.Errorf("%w: 9F02 differs from the amount of the request", ErrARQC)
	}
	aid := val[0x84]
	if aid == nil {
		aid = val[0x4F]
	}
	if aid == nil {
		aid = val[0x9F06]
	}
	v, err := emvcrypto.VersionOf(emvcrypto.SchemeOf(aid), val[0x9F10])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCData, err)
	}
	return verifyVersion(v, imk, pan, psn, emvcrypto.TerminalData{
		Amount: val[0x9F02], AmountOther: val[0x9F03], Country: val[0x9F1A], TVR: val[0x95],
		Currency: val[0x5F2A], Date: val[0x9A], Type: val[0x9C], UN: val[0x9F37], AIP: val[0x82], ATC: val[0x9F36],
	}, val[0x9F10], val[0x9F26])
}

// verifyVersion verifies arqc by version v over the data as sent.
func verifyVersion(v emvcrypto.Version, imk []byte, pan, psn string, d emvcrypto.TerminalData, iad, arqc []byte) (*Cryptogram, error) {
	mk, err := v.MasterKey(imk, pan, psn)
	if err != nil {
		return nil, fmt.Errorf("hostsim: %v master key: %w", v, err)
	}
	key, err := v.ACKey(mk, d.ATC, d.UN)
	if err != nil {
		return nil, fmt.Errorf("hostsim: %v key: %w", v, err)
	}
	in, err := v.Input(d, iad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrICCData, err)
	}
	want, err := v.Cryptogram(key, in)
	if err != nil {
		return nil, fmt.Errorf("hostsim: %v: %w", v, err)
	}
	if subtle.ConstantTimeCompare(want[:], arqc) != 1 {
		return nil, fmt.Errorf("%w (%v)", ErrARQC, v)
	}
	return &Cryptogram{Version: v, ARQC: append([]byte(nil), arqc...), iccMK: mk, acKey: key}, nil
}

// IssuerAuthData is the issuer authentication data (tag 91) answering the
// cryptogram with response code rc, by the version's own ARPC method: the
// ARPC and the ARC for method 1, the ARPC and a card status update saying
// approved or declined for method 2.
func (c *Cryptogram) IssuerAuthData(rc string) ([]byte, error) {
	arc := []byte(rc + "  ")[:2]
	csu := []byte{0, 0, 0, 0}
	if rc == "00" {
		csu[1] = emvcrypto.CSUApproved
	}
	return c.Version.IssuerAuthData(c.iccMK, c.acKey, c.ARQC, arc, csu)
}

// IssuerAuthFailures is how many authorizations the host declined because
// their cryptogram did not verify.
func (s *Server) IssuerAuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issuerAuthFailures
}

// bcdValue reads an n 12 amount; a malformed one reads as -1.
func bcdValue(b []byte) int64 {
	var v int64
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return -1
		}
		v = v*100 + int64(hi)*10 + int64(lo)
	}
	return v
}

// sentPSN is the PAN sequence number as the request carries it: 5F34 in
// field 55, else field 23; "" (read as 00) when neither is there.
func sentPSN(req acquirer.Request, objs []tlv.TLV) string {
	if v, ok := tlv.Find(objs, 0x5F34); ok && len(v.Value) == 1 {
		return fmt.Sprintf("%02X", v.Value[0])
	}
	return req.PANSeq
}
