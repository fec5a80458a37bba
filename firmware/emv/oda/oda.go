// Package oda is the computation of offline data authentication over
// values, EMV 4.x Book 2 5 and 6 (with the PBOC 3.0 SM2 variants capk
// implements): the static data to be authenticated, the issuer and ICC
// public keys recovered through the CA key store, the SDA check, the
// signature of an INTERNAL AUTHENTICATE response and the CDA check of a
// GENERATE AC response. It knows nothing of the card's I/O or the kernel's
// session: the kernel chooses the method, sends the commands and sets the
// TVR from the errors (which wrap capk's).
package oda

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"time"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/tlv"
)

// Data is what offline data authentication works on.
type Data struct {
	ICC        map[tlv.Tag][]byte // the card's data elements; read only
	RID        []byte             // the selected ADF, whose RID names the CA key
	AIP        [2]byte
	Records    []byte // the ODA records as the AFL named them
	RecordsBad bool   // an ODA record was not a 70 template
	Time       time.Time
	CAPKs      *capk.Store
	Algorithms emvconfig.ODAAlgorithms // the CA key families the terminal uses
}

// PAN returns the PAN (5A) digits, else those of track 2 (57) up to the
// separator.
func (d *Data) PAN() string {
	if pan := tlv.CNDigits(d.ICC[0x5A]); pan != "" {
		return pan
	}
	return tlv.CNDigits(d.ICC[0x57])
}

// StaticData returns the static data to be authenticated: the ODA records
// and the AIP when the Static Data Authentication Tag List asks for it.
func (d *Data) StaticData() ([]byte, error) {
	out := append([]byte(nil), d.Records...)
	if l, ok := d.ICC[0x9F4A]; ok {
		if !bytes.Equal(l, []byte{0x82}) {
			return nil, fmt.Errorf("%w: tag list %X", capk.ErrFormat, l)
		}
		out = append(out, d.AIP[:]...)
	}
	return out, nil
}

// IssuerKey finds the CA key and recovers the issuer key.
func (d *Data) IssuerKey() (*capk.PublicKey, error) {
	idx, ok := d.ICC[0x8F]
	if !ok || len(idx) != 1 {
		return nil, capk.ErrMissing
	}
	ca := d.CAPKs.Lookup(d.RID, idx[0])
	if ca != nil && !d.Algorithms.Allows(ca.Algorithm) {
		ca = nil // a family the terminal does not use
	}
	if ca == nil {
		return nil, fmt.Errorf("%w: CA key %02X not in the store", capk.ErrMissing, idx[0])
	}
	if ca.Expired(d.Time) {
		return nil, capk.ErrExpired
	}
	return capk.RecoverIssuerKey(ca, d.ICC[0x90], d.ICC[0x92], d.ICC[0x9F32], d.PAN(), d.Time)
}

// ICCKey recovers the ICC public key through the issuer key.
func (d *Data) ICCKey() (*capk.PublicKey, error) {
	if d.RecordsBad {
		return nil, fmt.Errorf("%w: ODA record not a 70 template", capk.ErrFormat)
	}
	ik, err := d.IssuerKey()
	if err != nil {
		return nil, err
	}
	static, err := d.StaticData()
	if err != nil {
		return nil, err
	}
	return capk.RecoverICCKey(ik, d.ICC[0x9F46], d.ICC[0x9F48], d.ICC[0x9F47], static, d.PAN(), d.Time)
}

// PINKey recovers the ICC PIN encipherment key (9F2D) when the card has
// one, Book 2 7.1; nil without error when it has none.
func (d *Data) PINKey() (*capk.PublicKey, error) {
	cert, ok := d.ICC[0x9F2D]
	if !ok {
		return nil, nil
	}
	ik, err := d.IssuerKey()
	if err != nil {
		return nil, err
	}
	return capk.RecoverICCKey(ik, cert, d.ICC[0x9F2F], d.ICC[0x9F2E], nil, tlv.CNDigits(d.ICC[0x5A]), d.Time)
}

// SDA verifies the signed static application data (93) and returns the
// data authentication code (9F45).
func (d *Data) SDA() ([]byte, error) {
	if d.RecordsBad {
		return nil, fmt.Errorf("%w: ODA record not a 70 template", capk.ErrFormat)
	}
	ik, err := d.IssuerKey()
	if err != nil {
		return nil, err
	}
	static, err := d.StaticData()
	if err != nil {
		return nil, err
	}
	return capk.VerifySSAD(ik, d.ICC[0x93], static)
}

// SignatureFrom takes the SDAD from a format 1 (80) or format 2 (77)
// response to INTERNAL AUTHENTICATE.
func SignatureFrom(b []byte) ([]byte, error) {
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

// DynamicNumber returns the ICC dynamic number (9F4C) of ICC dynamic data;
// ok is false when the data holds none.
func DynamicNumber(dd []byte) (idn []byte, ok bool) {
	if len(dd) > 0 && int(dd[0])+1 <= len(dd) {
		return append([]byte(nil), dd[1:1+int(dd[0])]...), true
	}
	return nil, false
}

// CDA checks the CDA signature of a GENERATE AC response (Book 2 6.6.2):
// the dynamic data carries the CID and the AC, and its hash code covers
// the PDOL data, the CDOL data and the response without 9F4B. It returns
// the AC and the ICC dynamic data.
func CDA(key *capk.PublicKey, resp tlv.TLV, un, pdolData []byte, cdolData ...[]byte) (ac, dd []byte, err error) {
	if key == nil {
		return nil, nil, capk.ErrMissing
	}
	sig, ok := tlv.Find(resp.Children, 0x9F4B)
	if !ok {
		return nil, nil, capk.ErrMissing
	}
	dd, err = capk.VerifySDAD(key, sig.Value, un)
	if err != nil {
		return nil, nil, err
	}
	if len(dd) < 1 || len(dd) < 1+int(dd[0])+1+8+20 {
		return nil, nil, fmt.Errorf("%w: CDA dynamic data too short", capk.ErrFormat)
	}
	idnLen := int(dd[0])
	cid, ac, hc := dd[1+idnLen], dd[2+idnLen:10+idnLen], dd[10+idnLen:30+idnLen]
	if c, ok := tlv.Find(resp.Children, 0x9F27); !ok || len(c.Value) != 1 || c.Value[0] != cid {
		return nil, nil, fmt.Errorf("%w: CID differs from the signed one", capk.ErrMismatch)
	}
	h := sha1.New()
	h.Write(pdolData)
	for _, d := range cdolData {
		h.Write(d)
	}
	for _, o := range resp.Children {
		if o.Tag != 0x9F4B {
			h.Write(tlv.Encode(o.Tag, o.Value))
		}
	}
	if !bytes.Equal(h.Sum(nil), hc) {
		return nil, nil, fmt.Errorf("%w: transaction data hash code", capk.ErrHash)
	}
	return append([]byte(nil), ac...), dd, nil
}
