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
	ErrMissing  = errors.New("emv: ODA data missing")
	ErrFormat   = errors.New("emv: ODA recovered data malformed")
	ErrHash     = errors.New("emv: ODA hash mismatch")
	ErrExpired  = errors.New("emv: ODA certificate expired")
	ErrMismatch = errors.New("emv: ODA certificate does not belong to this card")
)

// RSARecover applies the public key to a signature of the key's length.
func RSARecover(k *PublicKey, sig []byte) ([]byte, error) {
	n := len(k.Modulus)
	if len(sig) != n {
		return nil, fmt.Errorf("%w: signature of %d bytes for a %d-byte key", ErrFormat, len(sig), n)
	}
	c := new(big.Int).SetBytes(sig)
	if c.Cmp(k.n) >= 0 {
		return nil, fmt.Errorf("%w: signature not below the modulus", ErrFormat)
	}
	return new(big.Int).Exp(c, k.e, k.n).FillBytes(make([]byte, n)), nil
}

func NewRSAKey(mod, exp []byte) *PublicKey {
	return &PublicKey{Key: Key{Modulus: mod, Exponent: exp}, n: new(big.Int).SetBytes(mod), e: new(big.Int).SetBytes(exp)}
}

// recoverFrame recovers sig and checks header 6A, trailer BC, the format
// byte and the SHA-1 over the recovered middle and extra.
func recoverFrame(k *PublicKey, sig []byte, format byte, extra ...[]byte) ([]byte, error) {
	rec, err := RSARecover(k, sig)
	if err != nil {
		return nil, err
	}
	n := len(rec)
	if n < 42 || rec[0] != 0x6A || rec[n-1] != 0xBC || rec[1] != format {
		return nil, fmt.Errorf("%w: header/trailer/format", ErrFormat)
	}
	h := sha1.New()
	h.Write(rec[1 : n-21])
	for _, e := range extra {
		h.Write(e)
	}
	if !bytes.Equal(h.Sum(nil), rec[n-21:n-1]) {
		return nil, ErrHash
	}
	return rec, nil
}

// certExpired reports whether an MMYY certificate date has passed today.
func certExpired(mmyy []byte, now time.Time) bool {
	v, ok := tlv.FromBCD(mmyy)
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

// RecoverIssuerKey recovers the issuer public key from its certificate
// (Book 2 5.3).
func RecoverIssuerKey(ca *PublicKey, cert, rem, exp []byte, pan string, now time.Time) (*PublicKey, error) {
	if ca.IsSM2() {
		return recoverIssuerKeySM(ca, cert, pan, now)
	}
	if cert == nil || exp == nil {
		return nil, ErrMissing
	}
	rec, err := recoverFrame(ca, cert, 0x02, rem, exp)
	if err != nil {
		return nil, err
	}
	n := len(rec)
	id := tlv.CNDigits(rec[2:6])
	if len(id) < 3 || len(pan) < len(id) || pan[:len(id)] != id {
		return nil, ErrMismatch
	}
	if certExpired(rec[6:8], now) {
		return nil, ErrExpired
	}
	if rec[11] != 0x01 || rec[12] != 0x01 {
		return nil, fmt.Errorf("%w: algorithm", ErrFormat)
	}
	return keyFromCert(rec, 15, int(rec[13]), n, rem, exp)
}

// keyFromCert assembles a modulus of length l from a recovered certificate
// (bytes from off to n-21) and the remainder.
func keyFromCert(rec []byte, off, l, n int, rem, exp []byte) (*PublicKey, error) {
	room := n - 21 - off
	var mod []byte
	if l <= room {
		mod = bytes.Clone(rec[off : off+l])
	} else {
		if len(rem) != l-room {
			return nil, fmt.Errorf("%w: remainder of %d bytes, want %d", ErrFormat, len(rem), l-room)
		}
		mod = append(bytes.Clone(rec[off:n-21]), rem...)
	}
	if l < 64 || mod[0] == 0 {
		return nil, fmt.Errorf("%w: key length", ErrFormat)
	}
	return NewRSAKey(mod, bytes.Clone(exp)), nil
}

// RecoverICCKey recovers the ICC public key (Book 2 6.4); static is the
// static data to be authenticated.
func RecoverICCKey(issuer *PublicKey, cert, rem, exp, static []byte, pan string, now time.Time) (*PublicKey, error) {
	if issuer.IsSM2() {
		return recoverICCKeySM(issuer, cert, static, pan, now)
	}
	if cert == nil || exp == nil {
		return nil, ErrMissing
	}
	rec, err := recoverFrame(issuer, cert, 0x04, rem, exp, static)
	if err != nil {
		return nil, err
	}
	if tlv.CNDigits(rec[2:12]) != pan {
		return nil, ErrMismatch
	}
	if certExpired(rec[12:14], now) {
		return nil, ErrExpired
	}
	if rec[17] != 0x01 || rec[18] != 0x01 {
		return nil, fmt.Errorf("%w: algorithm", ErrFormat)
	}
	return keyFromCert(rec, 21, int(rec[19]), len(rec), rem, exp)
}

// VerifySSAD checks signed static application data (Book 2 5.4) and
// returns the data authentication code.
func VerifySSAD(issuer *PublicKey, ssad, static []byte) ([]byte, error) {
	if issuer.IsSM2() {
		return verifySSADSM(issuer, ssad, static)
	}
	if ssad == nil {
		return nil, ErrMissing
	}
	rec, err := recoverFrame(issuer, ssad, 0x03, static)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(rec[3:5]), nil
}

// VerifySDAD checks signed dynamic application data (Book 2 6.5, 6.6) and
// returns the ICC dynamic data.
func VerifySDAD(icc *PublicKey, sdad []byte, extra ...[]byte) ([]byte, error) {
	if icc.IsSM2() {
		return verifySDADSM(icc, sdad, extra...)
	}
	if sdad == nil {
		return nil, ErrMissing
	}
	rec, err := recoverFrame(icc, sdad, 0x05, extra...)
	if err != nil {
		return nil, err
	}
	l := int(rec[3])
	if 4+l > len(rec)-21 || rec[2] != 0x01 {
		return nil, fmt.Errorf("%w: dynamic data length", ErrFormat)
	}
	return bytes.Clone(rec[4 : 4+l]), nil
}
