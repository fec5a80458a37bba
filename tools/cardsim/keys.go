package cardsim

import (
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
)

// cardKeys holds the card's RSA keys and the certificates computed from them.
type cardKeys struct {
	ca         *rsa.PrivateKey // the test CA, used only to issue the issuer certificate
	caIndex    byte
	issuer     *rsa.PrivateKey
	icc        *rsa.PrivateKey // nil for an SDA-only card
	certExpiry []byte          // MMYY
	dac        []byte
	issuerCert []byte
	issuerRem  []byte
}

// LoadTestKey reads an RSA private key from a PEM file (PKCS #1).
func LoadTestKey(path string) (*rsa.PrivateKey, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %w", err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil || blk.Type != "RSA PRIVATE KEY" {
		return nil, fmt.Errorf("cardsim: %s: no RSA PRIVATE KEY block", filepath.Base(path))
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %s: %w", filepath.Base(path), err)
	}
	return k, nil
}

func loadKeys(f *keysFile, dir string, p *Profile) (*cardKeys, error) {
	k := &cardKeys{}
	var err error
	if k.ca, err = LoadTestKey(filepath.Join(dir, f.CA)); err != nil {
		return nil, fmt.Errorf("keys.ca: %w", err)
	}
	idx, err := unhex("keys.ca_index", f.CAIndex)
	if err != nil || len(idx) != 1 {
		return nil, errors.New("keys.ca_index: must be one byte of hex")
	}
	k.caIndex = idx[0]
	if k.issuer, err = LoadTestKey(filepath.Join(dir, f.Issuer)); err != nil {
		return nil, fmt.Errorf("keys.issuer: %w", err)
	}
	if f.ICC != "" {
		if k.icc, err = LoadTestKey(filepath.Join(dir, f.ICC)); err != nil {
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
	nCA, nI := k.ca.Size(), k.issuer.Size()
	if nI > nCA {
		return nil, fmt.Errorf("keys.issuer: %d-byte modulus is longer than the CA's %d", nI, nCA)
	}
	if k.icc != nil && k.icc.Size() > nI {
		return nil, fmt.Errorf("keys.icc: %d-byte modulus is longer than the issuer's %d", k.icc.Size(), nI)
	}
	if k.issuerCert, k.issuerRem, err = k.makeIssuerCert(p); err != nil {
		return nil, err
	}
	return k, nil
}

// sign applies the private key to a message block of the modulus length
// (the "signature" of EMV Book 2 A2.1, RSA without padding).
func sign(k *rsa.PrivateKey, msg []byte) ([]byte, error) {
	if len(msg) != k.Size() {
		return nil, fmt.Errorf("cardsim: message of %d bytes for a %d-byte key", len(msg), k.Size())
	}
	m := new(big.Int).SetBytes(msg)
	if m.Cmp(k.N) >= 0 {
		return nil, errors.New("cardsim: message is not smaller than the modulus")
	}
	var s *big.Int
	if pc := k.Precomputed; len(k.Primes) == 2 && pc.Dp != nil {
		// Chinese remainder theorem, as crypto/rsa does.
		p, q := k.Primes[0], k.Primes[1]
		m1 := new(big.Int).Exp(m, pc.Dp, p)
		m2 := new(big.Int).Exp(m, pc.Dq, q)
		h := m1.Sub(m1, m2)
		h.Mul(h, pc.Qinv).Mod(h, p)
		s = h.Mul(h, q).Add(h, m2)
	} else {
		s = new(big.Int).Exp(m, k.D, k.N)
	}
	return s.FillBytes(make([]byte, k.Size())), nil
}

// splitKey returns the leftmost room bytes of the modulus, padded with BB,
// and the remainder.
func splitKey(mod []byte, room int) (left, rem []byte) {
	if len(mod) <= room {
		left = append([]byte(nil), mod...)
		for len(left) < room {
			left = append(left, 0xBB)
		}
		return left, nil
	}
	return append([]byte(nil), mod[:room]...), append([]byte(nil), mod[room:]...)
}

// makeIssuerCert builds the issuer public key certificate (Book 2 table 6)
// with the PAN's first six digits as issuer identifier.
func (k *cardKeys) makeIssuerCert(p *Profile) (cert, rem []byte, err error) {
	nCA := k.ca.Size()
	mod := k.issuer.N.Bytes()
	exp := exponentBytes(&k.issuer.PublicKey)
	left, rem := splitKey(mod, nCA-36)
	id, _ := hex.DecodeString(p.PAN.Digits()[:6] + "FF") // digits only
	body := []byte{0x02}
	body = append(body, id...)
	body = append(body, k.certExpiry...)
	body = append(body, 0x00, 0x00, 0x01, 0x01, 0x01, byte(len(mod)), byte(len(exp)))
	body = append(body, left...)
	h := sha1.New()
	h.Write(body)
	h.Write(rem)
	h.Write(exp)
	msg := append([]byte{0x6A}, body...)
	msg = append(msg, h.Sum(nil)...)
	msg = append(msg, 0xBC)
	cert, err = sign(k.ca, msg)
	if err != nil {
		return nil, nil, fmt.Errorf("issuer certificate: %w", err)
	}
	return cert, rem, nil
}

// iccCert builds the ICC public key certificate (Book 2 table 14) over the
// static data to be authenticated.
func (k *cardKeys) iccCert(p *Profile, sda []byte) (cert, rem []byte, err error) {
	nI := k.issuer.Size()
	mod := k.icc.N.Bytes()
	exp := exponentBytes(&k.icc.PublicKey)
	left, rem := splitKey(mod, nI-42)
	pan := p.PAN.Digits()
	for len(pan) < 20 {
		pan += "F"
	}
	panb, _ := hex.DecodeString(pan) // digits and F only
	body := []byte{0x04}
	body = append(body, panb...)
	body = append(body, k.certExpiry...)
	body = append(body, 0x00, 0x00, 0x02, 0x01, 0x01, byte(len(mod)), byte(len(exp)))
	body = append(body, left...)
	h := sha1.New()
	h.Write(body)
	h.Write(rem)
	h.Write(exp)
	h.Write(sda)
	msg := append([]byte{0x6A}, body...)
	msg = append(msg, h.Sum(nil)...)
	msg = append(msg, 0xBC)
	cert, err = sign(k.issuer, msg)
	if err != nil {
		return nil, nil, fmt.Errorf("ICC certificate: %w", err)
	}
	return cert, rem, nil
}

// signSSAD builds the signed static application data for SDA (Book 2 table 7).
func (k *cardKeys) signSSAD(sda []byte) ([]byte, error) {
	nI := k.issuer.Size()
	body := []byte{0x03, 0x01}
	body = append(body, k.dac...)
	for len(body) < nI-22 {
		body = append(body, 0xBB)
	}
	h := sha1.New()
	h.Write(body)
	h.Write(sda)
	msg := append([]byte{0x6A}, body...)
	msg = append(msg, h.Sum(nil)...)
	msg = append(msg, 0xBC)
	return sign(k.issuer, msg)
}

// signDynamic builds signed dynamic application data (Book 2 table 17):
// format 05, SHA-1, the ICC dynamic data, BB padding and the hash over all of
// it followed by extra (the DDOL data for DDA, the unpredictable number for
// CDA, the fDDA data for fDDA).
func signDynamic(icc *rsa.PrivateKey, dyn, extra []byte) ([]byte, error) {
	n := icc.Size()
	if len(dyn) > n-25 {
		return nil, errors.New("cardsim: ICC dynamic data too long for the key")
	}
	body := []byte{0x05, 0x01, byte(len(dyn))}
	body = append(body, dyn...)
	for len(body) < n-22 {
		body = append(body, 0xBB)
	}
	h := sha1.New()
	h.Write(body)
	h.Write(extra)
	msg := append([]byte{0x6A}, body...)
	msg = append(msg, h.Sum(nil)...)
	msg = append(msg, 0xBC)
	return sign(icc, msg)
}

// CAPublicKey is a test CA public key as the terminal's CAPK store holds it.
type CAPublicKey struct {
	RID      []byte
	Index    byte
	Modulus  []byte
	Exponent []byte
}

// Checksum returns the SHA-1 over RID, index, modulus and exponent.
func (c CAPublicKey) Checksum() []byte {
	h := sha1.New()
	h.Write(c.RID)
	h.Write([]byte{c.Index})
	h.Write(c.Modulus)
	h.Write(c.Exponent)
	return h.Sum(nil)
}

// TOML renders the key as one [[capk]] entry of testdata/emv/capk-test.toml.
func (c CAPublicKey) TOML(scheme, expiry string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[[capk]]\n")
	fmt.Fprintf(&b, "rid = %q\n", fmt.Sprintf("%X", c.RID))
	fmt.Fprintf(&b, "index = %q\n", fmt.Sprintf("%02X", c.Index))
	fmt.Fprintf(&b, "kind = \"test\"\n")
	fmt.Fprintf(&b, "scheme = %q\n", scheme)
	fmt.Fprintf(&b, "comment = \"kpos test CA, TEST ONLY, %d bits\"\n", len(c.Modulus)*8)
	fmt.Fprintf(&b, "expiry = %q\n", expiry)
	fmt.Fprintf(&b, "modulus = %q\n", fmt.Sprintf("%X", c.Modulus))
	fmt.Fprintf(&b, "exponent = %q\n", fmt.Sprintf("%X", c.Exponent))
	fmt.Fprintf(&b, "sha1 = %q\n", fmt.Sprintf("%X", c.Checksum()))
	return b.String()
}

// PublicCA returns the public half of a test CA key.
func PublicCA(rid []byte, index byte, k *rsa.PrivateKey) CAPublicKey {
	return CAPublicKey{RID: rid, Index: index, Modulus: k.N.Bytes(), Exponent: exponentBytes(&k.PublicKey)}
}
