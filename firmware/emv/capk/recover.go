package capk

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"kpos/firmware/emv/tlv"
)

// Certificate recovery and signature checks of offline data authentication
// with RSA keys (EMV Book 2 5 and 6): the chain from a CA public key through
// the issuer public key to the ICC public key, and the signed static and
// dynamic data under them. SM2 keys take the forms of recover_sm.go.

// Errors of certificate and signature checks; the kernel turns them into
// TVR bits, tests match them.
var (
	errODAMissing  = errors.New("emv: ODA data missing")
	errODAFormat   = errors.New("emv: ODA recovered data malformed")
	errODAHash     = errors.New("emv: ODA hash mismatch")
	errODAExpired  = errors.New("emv: ODA certificate expired")
	errODAMismatch = errors.New("emv: ODA certificate does not belong to this card")
)

// rsaRecover applies the public key to a signature of the key's length.
func rsaRecover(k *rsaKey, sig []byte) ([]byte, error) {
	n := len(k.Modulus)
	if len(sig) != n {
		return nil, fmt.Errorf("%w: signature of %d bytes for a %d-byte key", errODAFormat, len(sig), n)
	}
	c := new(big.Int).SetBytes(sig)
	if c.Cmp(k.n) >= 0 {
		return nil, fmt.Errorf("%w: signature not below the modulus", errODAFormat)
	}
	return new(big.Int).Exp(c, k.e, k.n).FillBytes(make([]byte, n)), nil
}

func newRSAKey(mod, exp []byte) *rsaKey {
	return &rsaKey{CAPK: CAPK{Modulus: mod, Exponent: exp}, n: new(big.Int).SetBytes(mod), e: new(big.Int).SetBytes(exp)}
}

// recoverFrame recovers sig and checks header 6A, trailer BC, the format
// byte and the SHA-1 over the recovered middle and extra.
func recoverFrame(k *rsaKey, sig []byte, format byte, extra ...[]byte) ([]byte, error) {
	rec, err := rsaRecover(k, sig)
	if err != nil {
		return nil, err
	}
	n := len(rec)
	if n < 42 || rec[0] != 0x6A || rec[n-1] != 0xBC || rec[1] != format {
		return nil, fmt.Errorf("%w: header/trailer/format", errODAFormat)
	}
	h := sha1.New()
	h.Write(rec[1 : n-21])
	for _, e := range extra {
		h.Write(e)
	}
	if !bytes.Equal(h.Sum(nil), rec[n-21:n-1]) {
		return nil, errODAHash
	}
	return rec, nil
}

// certExpired reports whether an MMYY certificate date has passed today.
func certExpired(mmyy []byte, now time.Time) bool {
	v, ok := fromBCD(mmyy)
	if !ok {
		return true
	}
	mm, yy := int(v/100), int(v%100)
	if mm < 1 || mm > 12 {
		return true
	}
	year := 2000 + yy
	if yy >= 50 {
		year = 1900 + yy
	}
	// Valid through the last day of the month.
	end := time.Date(year, time.Month(mm)+1, 1, 0, 0, 0, 0, time.UTC)
	return !now.Before(end)
}

// recoverIssuerKey recovers the issuer public key from its certificate
// (Book 2 5.3).
func recoverIssuerKey(capk *rsaKey, cert, rem, exp []byte, pan string, now time.Time) (*rsaKey, error) {
	if capk.isSM2() {
		return recoverIssuerKeySM(capk, cert, pan, now)
	}
	if cert == nil || exp == nil {
		return nil, errODAMissing
	}
	rec, err := recoverFrame(capk, cert, 0x02, rem, exp)
	if err != nil {
		return nil, err
	}
	n := len(rec)
	id := cnDigits(rec[2:6])
	if len(id) < 3 || len(pan) < len(id) || pan[:len(id)] != id {
		return nil, errODAMismatch
	}
	if certExpired(rec[6:8], now) {
		return nil, errODAExpired
	}
	if rec[11] != 0x01 || rec[12] != 0x01 {
		return nil, fmt.Errorf("%w: algorithm", errODAFormat)
	}
	return keyFromCert(rec, 15, int(rec[13]), n, rem, exp)
}

// keyFromCert assembles a modulus of length l from a recovered certificate
// (bytes from off to n-21) and the remainder.
func keyFromCert(rec []byte, off, l, n int, rem, exp []byte) (*rsaKey, error) {
	room := n - 21 - off
	var mod []byte
	if l <= room {
		mod = clone(rec[off : off+l])
	} else {
		if len(rem) != l-room {
			return nil, fmt.Errorf("%w: remainder of %d bytes, want %d", errODAFormat, len(rem), l-room)
		}
		mod = append(clone(rec[off:n-21]), rem...)
	}
	if l < 64 || mod[0] == 0 {
		return nil, fmt.Errorf("%w: key length", errODAFormat)
	}
	return newRSAKey(mod, clone(exp)), nil
}

// recoverICCKey recovers the ICC public key (Book 2 6.4); static is the
// static data to be authenticated.
func recoverICCKey(issuer *rsaKey, cert, rem, exp, static []byte, pan string, now time.Time) (*rsaKey, error) {
	if issuer.isSM2() {
		return recoverICCKeySM(issuer, cert, static, pan, now)
	}
	if cert == nil || exp == nil {
		return nil, errODAMissing
	}
	rec, err := recoverFrame(issuer, cert, 0x04, rem, exp, static)
	if err != nil {
		return nil, err
	}
	if cnDigits(rec[2:12]) != pan {
		return nil, errODAMismatch
	}
	if certExpired(rec[12:14], now) {
		return nil, errODAExpired
	}
	if rec[17] != 0x01 || rec[18] != 0x01 {
		return nil, fmt.Errorf("%w: algorithm", errODAFormat)
	}
	return keyFromCert(rec, 21, int(rec[19]), len(rec), rem, exp)
}

// verifySSAD checks signed static application data (Book 2 5.4) and
// returns the data authentication code.
func verifySSAD(issuer *rsaKey, ssad, static []byte) ([]byte, error) {
	if issuer.isSM2() {
		return verifySSADSM(issuer, ssad, static)
	}
	if ssad == nil {
		return nil, errODAMissing
	}
	rec, err := recoverFrame(issuer, ssad, 0x03, static)
	if err != nil {
		return nil, err
	}
	return clone(rec[3:5]), nil
}

// verifySDAD checks signed dynamic application data (Book 2 6.5, 6.6) and
// returns the ICC dynamic data.
func verifySDAD(icc *rsaKey, sdad []byte, extra ...[]byte) ([]byte, error) {
	if icc.isSM2() {
		return verifySDADSM(icc, sdad, extra...)
	}
	if sdad == nil {
		return nil, errODAMissing
	}
	rec, err := recoverFrame(icc, sdad, 0x05, extra...)
	if err != nil {
		return nil, err
	}
	l := int(rec[3])
	if 4+l > len(rec)-21 || rec[2] != 0x01 {
		return nil, fmt.Errorf("%w: dynamic data length", errODAFormat)
	}
	return clone(rec[4 : 4+l]), nil
}

