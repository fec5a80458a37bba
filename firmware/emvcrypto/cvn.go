package emvcrypto

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Version is a cryptogram version: how a scheme derives the ICC master key
// and the key an application cryptogram is computed under, which data the
// cryptogram covers, how it is padded, and how the issuer answers with an
// ARPC. The card names its version in the issuer application data (9F10),
// so an issuer can verify a cryptogram from the authorization alone.
//
// The versions, and what each does:
//
//	version          ICC MK  AC key                         AC data after 9F36            pad  ARPC
//	UnionPay CVN 01  A       EMV common SK, R = ATC||00..   CVR (IAD bytes 4-7)           2    method 1, SK
//	Visa CVN 10      A       the ICC MK itself              CVR (IAD bytes 4-7)           1    method 1, ICC MK
//	Visa CVN 18      B       EMV common SK, R = ATC||00..   the whole IAD                 2    method 2, SK
//	Visa CVN 22      B       EMV common SK, R = ATC||00..   the whole IAD (format 2)      2    method 2, SK
//	Mastercard 16    A       SK, R = ATC||0000||UN          CVR (IAD bytes 3-8)           2    method 1, ICC MK
//	Mastercard 17    A       SK, R = ATC||0000||UN          CVR, counters (IAD 11-18)     2    method 1, ICC MK
//
// The data before that tail is the same for every version: 9F02 9F03 9F1A
// 95 5F2A 9A 9C 9F37 (as the terminal sent them in the CDOL1 or, for
// qPBOC/qVSDC, the PDOL), then AIP (82) and ATC (9F36). Sources: EMV Book 2
// A1.3, A1.4 and 8.2 (key derivation, session key, ARPC methods);
// JR/T 0025.7 (PBOC debit/credit security, CVN 01); Visa VIS 1.6 and VCPS
// (CVN 10, 18, 22: IAD formats 0/1 and 2); Mastercard M/Chip 4 and M/Chip
// Advance (CVN 10 and 11 hex, named 16 and 17: MasterCard proprietary
// session key derivation, counters in the IAD). Every version is checked
// against testvectors/emv/cvn-vectors.json.
type Version uint8

// The supported versions. The zero value is no version.
const (
	VersionUnknown Version = iota
	UnionPayCVN01
	VisaCVN10
	VisaCVN18
	VisaCVN22
	MastercardCVN16
	MastercardCVN17
)

// ErrVersion reports issuer application data that names no version this
// package implements.
var ErrVersion = errors.New("emvcrypto: unknown cryptogram version")

// Scheme is the payment scheme a version belongs to, told by the RID.
type Scheme uint8

// The schemes.
const (
	SchemeUnknown Scheme = iota
	SchemeUnionPay
	SchemeVisa
	SchemeMastercard
)

// SchemeOf returns the scheme of an AID (its first five bytes, the RID).
func SchemeOf(aid []byte) Scheme {
	switch {
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x03, 0x33}):
		return SchemeUnionPay
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x00, 0x03}):
		return SchemeVisa
	case bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x00, 0x04}):
		return SchemeMastercard
	}
	return SchemeUnknown
}

// VersionFor returns the version a scheme names with a cryptogram version
// number (the byte as the card carries it in its IAD: Visa 10 = 0A,
// 18 = 12, 22 = 16; Mastercard 16 = 10, 17 = 11; UnionPay 01).
func VersionFor(s Scheme, cvn byte) Version {
	switch {
	case s == SchemeUnionPay && cvn == 0x01:
		return UnionPayCVN01
	case s == SchemeVisa && cvn == 0x0A:
		return VisaCVN10
	case s == SchemeVisa && cvn == 0x12:
		return VisaCVN18
	case s == SchemeVisa && cvn == 0x16:
		return VisaCVN22
	case s == SchemeMastercard && cvn == 0x10:
		return MastercardCVN16
	case s == SchemeMastercard && cvn == 0x11:
		return MastercardCVN17
	}
	return VersionUnknown
}

// VersionOf reads the version the issuer application data names:
// UnionPay and Visa formats 0/1 carry the CVN in byte 3 (after the length
// and the DKI), Visa format 2 (length byte 1F) in byte 2, Mastercard in
// byte 2 (after the DKI). The IAD must be long enough for the version.
func VersionOf(s Scheme, iad []byte) (Version, error) {
	var cvn byte
	switch {
	case s == SchemeMastercard && len(iad) >= 2:
		cvn = iad[1]
	case s == SchemeVisa && len(iad) >= 2 && iad[0] == 0x1F:
		cvn = iad[1]
		if cvn != 0x16 {
			return VersionUnknown, ErrVersion
		}
	case (s == SchemeVisa || s == SchemeUnionPay) && len(iad) >= 3:
		cvn = iad[2]
		if cvn == 0x16 {
			return VersionUnknown, ErrVersion // CVN 22 comes only with format 2
		}
	default:
		return VersionUnknown, ErrVersion
	}
	v := VersionFor(s, cvn)
	if v == VersionUnknown {
		return v, ErrVersion
	}
	if len(iad) < v.MinIAD() {
		return VersionUnknown, fmt.Errorf("%w: %d-byte IAD for %v", ErrInput, len(iad), v)
	}
	return v, nil
}

// String names the version.
func (v Version) String() string {
	switch v {
	case UnionPayCVN01:
		return "UnionPay CVN 01"
	case VisaCVN10:
		return "Visa CVN 10"
	case VisaCVN18:
		return "Visa CVN 18"
	case VisaCVN22:
		return "Visa CVN 22"
	case MastercardCVN16:
		return "Mastercard CVN 16"
	case MastercardCVN17:
		return "Mastercard CVN 17"
	}
	return "unknown version"
}

// MinIAD is the shortest issuer application data the version can use.
func (v Version) MinIAD() int {
	switch v {
	case UnionPayCVN01, VisaCVN10, VisaCVN18:
		return 7
	case VisaCVN22:
		return 8
	case MastercardCVN16:
		return 8
	case MastercardCVN17:
		return 18
	}
	return 0
}

// CVR returns the card verification results inside the issuer application
// data: four bytes with their length byte (UnionPay, Visa formats 0/1),
// five (Visa format 2) or six (Mastercard).
func (v Version) CVR(iad []byte) []byte {
	if len(iad) < v.MinIAD() {
		return nil
	}
	switch v {
	case UnionPayCVN01, VisaCVN10, VisaCVN18:
		return iad[3:7]
	case VisaCVN22:
		return iad[3:8]
	case MastercardCVN16, MastercardCVN17:
		return iad[2:8]
	}
	return nil
}

// Counters returns the Mastercard CVN 17 counters inside the IAD (bytes
// 11 to 18), nil for other versions.
func (v Version) Counters(iad []byte) []byte {
	if v != MastercardCVN17 || len(iad) < 18 {
		return nil
	}
	return iad[10:18]
}

// MasterKey derives the ICC master key for application cryptograms from
// the issuer master key: option B for Visa CVN 18 and 22, option A for the
// others.
func (v Version) MasterKey(issuerMK []byte, pan, psn string) ([]byte, error) {
	switch v {
	case VisaCVN18, VisaCVN22:
		return DeriveICCMasterKeyB(issuerMK, pan, psn)
	case UnionPayCVN01, VisaCVN10, MastercardCVN16, MastercardCVN17:
		return DeriveICCMasterKeyA(issuerMK, pan, psn)
	}
	return nil, ErrVersion
}

// ACKey returns the key the application cryptogram is computed under: the
// ICC master key itself for Visa CVN 10, the Mastercard session key from
// ATC||0000||UN for Mastercard, the EMV common session key from ATC
// otherwise. un is the unpredictable number (9F37) as the card received it.
func (v Version) ACKey(iccMK, atc, un []byte) ([]byte, error) {
	if len(atc) != 2 {
		return nil, fmt.Errorf("%w: ATC is %d bytes, want 2", ErrInput, len(atc))
	}
	switch v {
	case VisaCVN10:
		if len(iccMK) != 16 {
			return nil, fmt.Errorf("%w: ICC master key is %d bytes, want 16", ErrKeyLength, len(iccMK))
		}
		return bytes.Clone(iccMK), nil
	case UnionPayCVN01, VisaCVN18, VisaCVN22:
		return SessionKeyCommon(iccMK, atc)
	case MastercardCVN16, MastercardCVN17:
		if len(un) != 4 {
			return nil, fmt.Errorf("%w: unpredictable number is %d bytes, want 4", ErrInput, len(un))
		}
		var r [BlockSize]byte
		copy(r[:2], atc)
		copy(r[4:], un)
		return SessionKeyCommonR(iccMK, r)
	}
	return nil, ErrVersion
}

// TerminalData is the data of the transaction every version's cryptogram
// covers, each at its EMV length: 9F02 (6), 9F03 (6), 9F1A (2), 95 (5),
// 5F2A (2), 9A (3), 9C (1), 9F37 (4), then from the card 82 (2) and
// 9F36 (2).
type TerminalData struct {
	Amount, AmountOther, Country, TVR, Currency, Date, Type, UN, AIP, ATC []byte
}

// fields lists the data in cryptogram order with their lengths.
func (d TerminalData) fields() []struct {
	v []byte
	n int
} {
	return []struct {
		v []byte
		n int
	}{{d.Amount, 6}, {d.AmountOther, 6}, {d.Country, 2}, {d.TVR, 5}, {d.Currency, 2}, {d.Date, 3},
		{d.Type, 1}, {d.UN, 4}, {d.AIP, 2}, {d.ATC, 2}}
}

// Input returns the data the version's cryptogram is computed over: the
// transaction data, then the CVR, the counters or the whole IAD as the
// version says. Every element must have its EMV length.
func (v Version) Input(d TerminalData, iad []byte) ([]byte, error) {
	if v == VersionUnknown || v > MastercardCVN17 {
		return nil, ErrVersion
	}
	if len(iad) < v.MinIAD() {
		return nil, fmt.Errorf("%w: %d-byte IAD for %v", ErrInput, len(iad), v)
	}
	out := make([]byte, 0, 64)
	for i, f := range d.fields() {
		if len(f.v) != f.n {
			return nil, fmt.Errorf("%w: cryptogram data element %d is %d bytes, want %d", ErrInput, i+1, len(f.v), f.n)
		}
		out = append(out, f.v...)
	}
	switch v {
	case VisaCVN18, VisaCVN22:
		return append(out, iad...), nil
	case MastercardCVN17:
		out = append(out, v.CVR(iad)...)
		return append(out, v.Counters(iad)...), nil
	}
	return append(out, v.CVR(iad)...), nil
}

// Cryptogram computes the application cryptogram (ARQC, TC or AAC) over
// input: ISO 9797-1 MAC algorithm 3 under the AC key, padding method 1
// (zeros) for Visa CVN 10 and method 2 for the others.
func (v Version) Cryptogram(acKey, input []byte) ([8]byte, error) {
	switch v {
	case VisaCVN10:
		return MACAlg3(acKey, input, PadMethod1)
	case UnionPayCVN01, VisaCVN18, VisaCVN22, MastercardCVN16, MastercardCVN17:
		return MACAlg3(acKey, input, PadMethod2)
	}
	return [8]byte{}, ErrVersion
}

// ARPCMethod reports which EMV ARPC method the version uses: 1 (ARQC xor
// ARC, 8 bytes, tag 91 = ARPC||ARC) or 2 (MAC over ARQC||CSU, 4 bytes,
// tag 91 = ARPC||CSU).
func (v Version) ARPCMethod() int {
	if v == VisaCVN18 || v == VisaCVN22 {
		return 2
	}
	return 1
}

// arpcKey is the key the version's ARPC is computed under.
func (v Version) arpcKey(iccMK, acKey []byte) []byte {
	switch v {
	case VisaCVN10, MastercardCVN16, MastercardCVN17:
		return iccMK
	}
	return acKey
}

// CSU bits (EMV Book 2 8.2.2, card status update byte 2).
const (
	CSUApproved byte = 0x80 // byte 2 bit 8: the issuer approves the online transaction
)

// IssuerAuthData returns the issuer authentication data (tag 91) the
// version's issuer sends: for method 1 the ARPC over the ARQC and the
// 2-byte response code arc, then arc; for method 2 the 4-byte ARPC over
// the ARQC and the card status update csu (4 bytes), then csu.
func (v Version) IssuerAuthData(iccMK, acKey, arqc, arc, csu []byte) ([]byte, error) {
	switch v.ARPCMethod() {
	case 2:
		a, err := ARPCMethod2(v.arpcKey(iccMK, acKey), arqc, csu, nil)
		if err != nil {
			return nil, err
		}
		return append(a[:], csu...), nil
	}
	if v == VersionUnknown || v > MastercardCVN17 {
		return nil, ErrVersion
	}
	a, err := ARPCMethod1(v.arpcKey(iccMK, acKey), arqc, arc)
	if err != nil {
		return nil, err
	}
	return append(a[:], arc...), nil
}

// VerifyIssuerAuthData checks issuer authentication data (tag 91) as the
// card does: the ARPC must be the one the version computes over the ARQC
// and the ARC or CSU that follows it. It returns ErrCryptogram when it does
// not verify.
func (v Version) VerifyIssuerAuthData(iccMK, acKey, arqc, iad []byte) error {
	var want []byte
	var err error
	switch {
	case v.ARPCMethod() == 2 && len(iad) >= 8:
		want, err = v.IssuerAuthData(iccMK, acKey, arqc, nil, iad[4:8])
	case v.ARPCMethod() == 1 && len(iad) >= 10:
		want, err = v.IssuerAuthData(iccMK, acKey, arqc, iad[8:10], nil)
	default:
		return ErrCryptogram
	}
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, iad[:len(want)]) != 1 {
		return ErrCryptogram
	}
	return nil
}

// CVN is the cryptogram version number a card of version v carries in its
// IAD (0 for no version).
func (v Version) CVN() byte {
	return map[Version]byte{UnionPayCVN01: 0x01, VisaCVN10: 0x0A, VisaCVN18: 0x12, VisaCVN22: 0x16,
		MastercardCVN16: 0x10, MastercardCVN17: 0x11}[v]
}
