package capk

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"time"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
)

// SM2 offline data authentication of PBOC 3.0 SM cards (JR/T 0025.17, the
// SM extensions of JR/T 0025.7). The chain is the RSA one of EMV Book 2 with
// other formats: a CA public key whose algorithm indicator is 04 (SM2), and
// certificates and signed data that carry the SM2 public key in the clear
// followed by an SM2 signature (r || s, 64 bytes) over SM3, computed with the
// user ID 1234567812345678 and the signer's public key (ZA, GB/T 32918.2),
// over every byte before the signature and then the data the RSA form hashes
// (the static data to be authenticated, the terminal dynamic data).
//
// Issuer public key certificate (tag 90), format 12:
//
//	12 | issuer ID (4, cn, F-padded) | expiry MMYY (2) | serial (3) |
//	signature algorithm 04 | key algorithm 04 | parameter 00 | key length 40 |
//	issuer public key X||Y (64) | signature (64)
//
// ICC public key certificate (9F46), format 14, signed over the certificate
// and the static data to be authenticated:
//
//	14 | PAN (10, cn, F-padded) | expiry MMYY (2) | serial (3) |
//	signature algorithm 04 | key algorithm 04 | parameter 00 | key length 40 |
//	ICC public key X||Y (64) | signature (64)
//
// Signed static application data (93), format 13, over it and the static
// data: 13 | 04 | DAC (2) | signature (64).
//
// Signed dynamic application data (9F4B), format 15, over it and the
// terminal dynamic data (DDOL data for DDA; UN, amount, currency and 9F69
// for fDDA): 15 | 04 | L | ICC dynamic data (L) | signature (64).
//
// The TVR and TSI come out exactly as for RSA: the same errors reach the
// same callers (the ODA steps of package emv).

// Key algorithm indicators (EMV Book 2 annex B2; 04 the SM2 indicator of the
// UnionPay CA key list and JR/T 0025.17).
const (
	AlgRSA byte = 0x01
	AlgSM2 byte = 0x04
)

// SM certificate formats.
const (
	smIssuerCertFormat = 0x12
	smSSADFormat       = 0x13
	smICCCertFormat    = 0x14
	smSDADFormat       = 0x15
)

// IsSM2 reports whether a key of the chain is an SM2 key.
func (k *PublicKey) IsSM2() bool { return k != nil && k.Algorithm == AlgSM2 }

// sm2Key returns the key as an SM2 point, refused when off the curve.
func (k *PublicKey) sm2Key() (*ecdsa.PublicKey, error) {
	pub, err := emvcrypto.SM2PublicKey(k.Modulus)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return pub, nil
}

func NewSM2Key(xy []byte) *PublicKey {
	return &PublicKey{Key: Key{Algorithm: AlgSM2, Modulus: bytes.Clone(xy)}}
}

// smVerify checks the 64-byte signature that ends signed, over the bytes
// before it and extra, under signer.
func smVerify(signer *PublicKey, signed []byte, extra ...[]byte) error {
	pub, err := signer.sm2Key()
	if err != nil {
		return err
	}
	n := len(signed) - emvcrypto.SM2SignatureLen
	if n < 1 {
		return fmt.Errorf("%w: SM signed data of %d bytes", ErrFormat, len(signed))
	}
	msg := bytes.Clone(signed[:n])
	for _, e := range extra {
		msg = append(msg, e...)
	}
	if err := emvcrypto.SM2Verify(pub, emvcrypto.SM2DefaultUserID, msg, signed[n:]); err != nil {
		return ErrHash
	}
	return nil
}

// smCertKey checks the algorithm bytes and key of an SM certificate whose
// algorithm indicators start at off, and returns the certified key.
func smCertKey(cert []byte, off int) (*PublicKey, error) {
	if cert[off] != AlgSM2 || cert[off+1] != AlgSM2 {
		return nil, fmt.Errorf("%w: SM certificate algorithm %02X/%02X", ErrFormat, cert[off], cert[off+1])
	}
	if int(cert[off+3]) != emvcrypto.SM2PublicKeyLen {
		return nil, fmt.Errorf("%w: SM2 key length %d", ErrFormat, cert[off+3])
	}
	k := NewSM2Key(cert[off+4 : off+4+emvcrypto.SM2PublicKeyLen])
	if _, err := k.sm2Key(); err != nil {
		return nil, err
	}
	return k, nil
}

// recoverIssuerKeySM checks the SM issuer certificate under the SM2 CA key.
func recoverIssuerKeySM(ca *PublicKey, cert []byte, pan string, now time.Time) (*PublicKey, error) {
	if cert == nil {
		return nil, ErrMissing
	}
	if len(cert) != 14+64+64 || cert[0] != smIssuerCertFormat {
		return nil, fmt.Errorf("%w: SM issuer certificate of %d bytes", ErrFormat, len(cert))
	}
	if err := smVerify(ca, cert); err != nil {
		return nil, err
	}
	id := tlv.CNDigits(cert[1:5])
	if len(id) < 3 || len(pan) < len(id) || pan[:len(id)] != id {
		return nil, ErrMismatch
	}
	if certExpired(cert[5:7], now) {
		return nil, ErrExpired
	}
	return smCertKey(cert, 10)
}

// recoverICCKeySM checks the SM ICC certificate under the SM2 issuer key
// over the certificate and the static data.
func recoverICCKeySM(issuer *PublicKey, cert, static []byte, pan string, now time.Time) (*PublicKey, error) {
	if cert == nil {
		return nil, ErrMissing
	}
	if len(cert) != 20+64+64 || cert[0] != smICCCertFormat {
		return nil, fmt.Errorf("%w: SM ICC certificate of %d bytes", ErrFormat, len(cert))
	}
	if err := smVerify(issuer, cert, static); err != nil {
		return nil, err
	}
	if tlv.CNDigits(cert[1:11]) != pan {
		return nil, ErrMismatch
	}
	if certExpired(cert[11:13], now) {
		return nil, ErrExpired
	}
	return smCertKey(cert, 16)
}

// verifySSADSM checks SM signed static application data and returns the
// data authentication code.
func verifySSADSM(issuer *PublicKey, ssad, static []byte) ([]byte, error) {
	if ssad == nil {
		return nil, ErrMissing
	}
	if len(ssad) != 4+64 || ssad[0] != smSSADFormat || ssad[1] != AlgSM2 {
		return nil, fmt.Errorf("%w: SM signed static data", ErrFormat)
	}
	if err := smVerify(issuer, ssad, static); err != nil {
		return nil, err
	}
	return bytes.Clone(ssad[2:4]), nil
}

// verifySDADSM checks SM signed dynamic application data and returns the
// ICC dynamic data.
func verifySDADSM(icc *PublicKey, sdad []byte, extra ...[]byte) ([]byte, error) {
	if sdad == nil {
		return nil, ErrMissing
	}
	if len(sdad) < 3+64 || sdad[0] != smSDADFormat || sdad[1] != AlgSM2 || 3+int(sdad[2])+64 != len(sdad) {
		return nil, fmt.Errorf("%w: SM signed dynamic data", ErrFormat)
	}
	if err := smVerify(icc, sdad, extra...); err != nil {
		return nil, err
	}
	return bytes.Clone(sdad[3 : 3+int(sdad[2])]), nil
}
