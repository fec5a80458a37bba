package cardsim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"kpos/firmware/emvcrypto"
)

// smKeys are the SM2 keys of a PBOC 3.0 SM card (JR/T 0025.17) and the
// certificates built from them, in the formats firmware/emv/oda_sm.go
// documents: the SM2 public key in the clear, then an SM2 signature over SM3
// with the user ID 1234567812345678.
type smKeys struct {
	caIndex    byte
	issuer     *sm2.PrivateKey
	icc        *sm2.PrivateKey // nil for an SDA-only card
	certExpiry []byte          // MMYY
	dac        []byte
	issuerCert []byte
	tamper     string
}

// SM2PEMType is the PEM block type of the test SM2 keys (SEC 1 DER on
// sm2p256v1, as smx509 writes it).
const SM2PEMType = "SM2 PRIVATE KEY"

// LoadTestSM2Key reads an SM2 private key from a PEM file.
func LoadTestSM2Key(path string) (*sm2.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != SM2PEMType {
		return nil, fmt.Errorf("cardsim: %s: no %s block", filepath.Base(path), SM2PEMType)
	}
	k, err := smx509.ParseSM2PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %s: %w", filepath.Base(path), err)
	}
	return k, nil
}

// GenerateTestSM2Key makes a new SM2 key as a PEM block marked TEST KEY ONLY.
func GenerateTestSM2Key(what string) ([]byte, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("cardsim: generate %s: %w", what, err)
	}
	der, err := smx509.MarshalSM2PrivateKey(k)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %s: %w", what, err)
	}
	return pem.EncodeToMemory(&pem.Block{
		Type:    SM2PEMType,
		Headers: map[string]string{"Comment": "TEST KEY ONLY - " + what + " - kpos simulated cards, never for production"},
		Bytes:   der,
	}), nil
}

// loadSMKeys loads an SM card's keys; the CA key signs the issuer
// certificate at load, as a personalisation bureau would have.
func loadSMKeys(f *keysFile, dir string, p *Profile) (*cardKeys, error) {
	if f.Algorithm != "sm2" {
		return nil, errors.New(`keys.algorithm: must be "rsa" or "sm2"`)
	}
	k := &smKeys{tamper: f.Tamper}
	switch f.Tamper {
	case "", "icc_cert":
	default:
		return nil, errors.New(`keys.tamper: must be "icc_cert"`)
	}
	ca, err := LoadTestSM2Key(filepath.Join(dir, f.CA))
	if err != nil {
		return nil, fmt.Errorf("keys.ca: %w", err)
	}
	idx, err := unhex("keys.ca_index", f.CAIndex)
	if err != nil || len(idx) != 1 {
		return nil, errors.New("keys.ca_index: must be one byte of hex")
	}
	k.caIndex = idx[0]
	if k.issuer, err = LoadTestSM2Key(filepath.Join(dir, f.Issuer)); err != nil {
		return nil, fmt.Errorf("keys.issuer: %w", err)
	}
	if f.ICC != "" {
		if k.icc, err = LoadTestSM2Key(filepath.Join(dir, f.ICC)); err != nil {
			return nil, fmt.Errorf("keys.icc: %w", err)
		}
	}
	if k.certExpiry, err = unhex("keys.cert_expiry", f.CertExpiry); err != nil || len(k.certExpiry) != 2 {
		return nil, errors.New("keys.cert_expiry: must be MMYY")
	}
	if f.DAC == "" {
		f.DAC = "DAC1"
	}
	if k.dac, err = unhex("keys.dac", f.DAC); err != nil || len(k.dac) != 2 {
		return nil, errors.New("keys.dac: must be two bytes of hex")
	}
	// Issuer certificate, format 12: the issuer ID is the PAN's first six
	// digits, F-padded.
	id, _ := hex.DecodeString(p.PAN.Digits()[:6] + "FF") // digits only
	body := []byte{0x12}
	body = append(body, id...)
	body = append(body, k.certExpiry...)
	body = append(body, 0x00, 0x00, 0x01, 0x04, 0x04, 0x00, emvcrypto.SM2PublicKeyLen)
	body = append(body, emvcrypto.SM2PublicKeyBytes(&k.issuer.PublicKey)...)
	if k.issuerCert, err = smSign(ca, body); err != nil {
		return nil, fmt.Errorf("issuer certificate: %w", err)
	}
	return &cardKeys{caIndex: k.caIndex, sm: k}, nil
}

// smSign appends the SM2 signature over body and extra to body.
func smSign(k *sm2.PrivateKey, body []byte, extra ...[]byte) ([]byte, error) {
	msg := append([]byte(nil), body...)
	for _, e := range extra {
		msg = append(msg, e...)
	}
	sig, err := emvcrypto.SM2Sign(rand.Reader, k, emvcrypto.SM2DefaultUserID, msg)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(nil), body...), sig...), nil
}

// iccCert builds the ICC certificate, format 14, signed over it and the
// static data to be authenticated. With tamper = "icc_cert" one bit of the
// certified key is flipped after signing, as an altered card would carry it.
func (k *smKeys) iccCert(p *Profile, sda []byte) ([]byte, error) {
	pan := p.PAN.Digits()
	for len(pan) < 20 {
		pan += "F"
	}
	panb, _ := hex.DecodeString(pan) // digits and F only
	body := []byte{0x14}
	body = append(body, panb...)
	body = append(body, k.certExpiry...)
	body = append(body, 0x00, 0x00, 0x02, 0x04, 0x04, 0x00, emvcrypto.SM2PublicKeyLen)
	body = append(body, emvcrypto.SM2PublicKeyBytes(&k.icc.PublicKey)...)
	cert, err := smSign(k.issuer, body, sda)
	if err != nil {
		return nil, fmt.Errorf("ICC certificate: %w", err)
	}
	if k.tamper == "icc_cert" {
		cert[len(body)-1] ^= 0x01
	}
	return cert, nil
}

// computed answers the @names of the records for an SM card. There is no
// remainder and no exponent in the SM formats.
func (k *smKeys) computed(name string, p *Profile, a *App) ([]byte, error) {
	switch name {
	case "capk_index":
		return []byte{k.caIndex}, nil
	case "issuer_cert":
		return k.issuerCert, nil
	case "issuer_remainder", "issuer_exponent", "icc_remainder", "icc_exponent":
		return nil, nil
	}
	if a == nil {
		return nil, fmt.Errorf("@%s only in records", name)
	}
	sda, err := a.staticData(p)
	if err != nil {
		return nil, err
	}
	switch name {
	case "ssad":
		body := append([]byte{0x13, 0x04}, k.dac...)
		return smSign(k.issuer, body, sda)
	case "icc_cert":
		if k.icc == nil {
			return nil, fmt.Errorf("@%s needs keys.icc", name)
		}
		return k.iccCert(p, sda)
	}
	return nil, fmt.Errorf("unknown computed value @%s", strings.TrimSpace(name))
}

// hasICC reports whether the card can sign dynamic data (DDA, fDDA).
func (k *cardKeys) hasICC() bool {
	return k != nil && (k.icc != nil || (k.sm != nil && k.sm.icc != nil))
}

// signDDA signs ICC dynamic data for DDA or fDDA with the card's ICC key:
// the RSA format 05 of EMV Book 2, or the SM format 15 (15 | 04 | L | data |
// SM2 signature over it and extra).
func (k *cardKeys) signDDA(dyn, extra []byte) ([]byte, error) {
	if k.sm == nil {
		return signDynamic(k.icc, dyn, extra)
	}
	if len(dyn) > 255 {
		return nil, errors.New("cardsim: ICC dynamic data too long")
	}
	body := append([]byte{0x15, 0x04, byte(len(dyn))}, dyn...)
	return smSign(k.sm.icc, body, extra)
}

// SM2CATOML renders the public half of an SM2 test CA key as one [[capk]]
// entry (algorithm = "sm2"; the checksum is SHA-1 over RID, index and the
// 64-byte key, EMV Book 2 11.2 with no exponent).
func SM2CATOML(rid []byte, index byte, k *sm2.PrivateKey, scheme, expiry string) string {
	c := CAPublicKey{RID: rid, Index: index, Modulus: emvcrypto.SM2PublicKeyBytes(&k.PublicKey)}
	var b strings.Builder
	fmt.Fprintf(&b, "[[capk]]\n")
	fmt.Fprintf(&b, "rid = %q\n", fmt.Sprintf("%X", c.RID))
	fmt.Fprintf(&b, "index = %q\n", fmt.Sprintf("%02X", c.Index))
	fmt.Fprintf(&b, "algorithm = \"sm2\"\n")
	fmt.Fprintf(&b, "kind = \"test\"\n")
	fmt.Fprintf(&b, "scheme = %q\n", scheme)
	fmt.Fprintf(&b, "comment = \"kpos SM2 test CA, TEST ONLY\"\n")
	fmt.Fprintf(&b, "expiry = %q\n", expiry)
	fmt.Fprintf(&b, "modulus = %q\n", fmt.Sprintf("%X", c.Modulus))
	fmt.Fprintf(&b, "sha1 = %q\n", fmt.Sprintf("%X", c.Checksum()))
	return b.String()
}
