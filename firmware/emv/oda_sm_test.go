package emv

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emvcrypto"
)

// smChain is an SM2 CA, issuer and ICC key with the certificates of the
// formats in oda_sm.go, built here independently of the card simulator.
type smChain struct {
	ca, issuer, icc  *sm2.PrivateKey
	caKey            *capk.PublicKey
	issuerCert       []byte
	iccCert          []byte
	ssad             []byte
	static           []byte
	pan              string
	issuerID, iccPAN []byte
	expiry           []byte
}

func smSignT(t testing.TB, k *sm2.PrivateKey, body []byte, extra ...[]byte) []byte {
	t.Helper()
	msg := bytes.Clone(body)
	for _, e := range extra {
		msg = append(msg, e...)
	}
	sig, err := emvcrypto.SM2Sign(rand.Reader, k, emvcrypto.SM2DefaultUserID, msg)
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(body), sig...)
}

func newSMChain(t testing.TB) *smChain {
	t.Helper()
	c := &smChain{pan: "6217001234567890122", static: []byte("static data to be authenticated"), expiry: []byte{0x12, 0x35}}
	for _, k := range []**sm2.PrivateKey{&c.ca, &c.issuer, &c.icc} {
		var err error
		if *k, err = sm2.GenerateKey(rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	c.caKey = capk.NewSM2Key(emvcrypto.SM2PublicKeyBytes(&c.ca.PublicKey))
	c.issuerID = []byte{0x62, 0x17, 0x00, 0xFF}
	c.iccPAN = []byte{0x62, 0x17, 0x00, 0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x2F}
	c.build(t)
	return c
}

func (c *smChain) build(t testing.TB) {
	ib := append([]byte{0x12}, c.issuerID...)
	ib = append(ib, c.expiry...)
	ib = append(ib, 0, 0, 1, 0x04, 0x04, 0x00, 0x40)
	ib = append(ib, emvcrypto.SM2PublicKeyBytes(&c.issuer.PublicKey)...)
	c.issuerCert = smSignT(t, c.ca, ib)
	cb := append([]byte{0x14}, c.iccPAN...)
	cb = append(cb, c.expiry...)
	cb = append(cb, 0, 0, 2, 0x04, 0x04, 0x00, 0x40)
	cb = append(cb, emvcrypto.SM2PublicKeyBytes(&c.icc.PublicKey)...)
	c.iccCert = smSignT(t, c.issuer, cb, c.static)
	c.ssad = smSignT(t, c.issuer, []byte{0x13, 0x04, 0xDA, 0xC1}, c.static)
}

var smNow = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

func TestSMChain(t *testing.T) {
	c := newSMChain(t)
	ik, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert, nil, nil, c.pan, smNow)
	if err != nil {
		t.Fatalf("issuer key: %v", err)
	}
	if !bytes.Equal(ik.Modulus, emvcrypto.SM2PublicKeyBytes(&c.issuer.PublicKey)) || !ik.IsSM2() {
		t.Fatal("issuer key differs from the certified one")
	}
	icc, err := capk.RecoverICCKey(ik, c.iccCert, nil, nil, c.static, c.pan, smNow)
	if err != nil {
		t.Fatalf("ICC key: %v", err)
	}
	dac, err := capk.VerifySSAD(ik, c.ssad, c.static)
	if err != nil || !bytes.Equal(dac, []byte{0xDA, 0xC1}) {
		t.Fatalf("SSAD: %X %v", dac, err)
	}
	un := []byte{1, 2, 3, 4}
	dyn := []byte{8, 1, 2, 3, 4, 5, 6, 7, 8}
	sdad := smSignT(t, c.icc, append([]byte{0x15, 0x04, byte(len(dyn))}, dyn...), un)
	got, err := capk.VerifySDAD(icc, sdad, un)
	if err != nil || !bytes.Equal(got, dyn) {
		t.Fatalf("SDAD: %X %v", got, err)
	}
	if _, err := capk.VerifySDAD(icc, sdad, []byte{1, 2, 3, 5}); !errors.Is(err, capk.ErrHash) {
		t.Fatalf("SDAD over another unpredictable number: %v", err)
	}
}

// Each altered input fails with the error the kernel turns into the same TVR
// bits as for RSA.
func TestSMChainFailures(t *testing.T) {
	c := newSMChain(t)
	ik, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert, nil, nil, c.pan, smNow)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	other := newSMChain(t)
	tests := []struct {
		name string
		err  error
		run  func() error
	}{
		{"issuer cert missing", capk.ErrMissing, func() error {
			_, err := capk.RecoverIssuerKey(c.caKey, nil, nil, nil, c.pan, smNow)
			return err
		}},
		{"issuer cert altered", capk.ErrHash, func() error {
			_, err := capk.RecoverIssuerKey(c.caKey, flip(c.issuerCert, 20), nil, nil, c.pan, smNow)
			return err
		}},
		{"issuer cert under another CA", capk.ErrHash, func() error {
			_, err := capk.RecoverIssuerKey(other.caKey, c.issuerCert, nil, nil, c.pan, smNow)
			return err
		}},
		{"issuer cert truncated", capk.ErrFormat, func() error {
			_, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert[:141], nil, nil, c.pan, smNow)
			return err
		}},
		{"issuer of another BIN", capk.ErrMismatch, func() error {
			_, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert, nil, nil, "6222021234567890128", smNow)
			return err
		}},
		{"issuer cert expired", capk.ErrExpired, func() error {
			_, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert, nil, nil, c.pan, time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC))
			return err
		}},
		{"ICC cert key altered", capk.ErrHash, func() error {
			_, err := capk.RecoverICCKey(ik, flip(c.iccCert, 83), nil, nil, c.static, c.pan, smNow)
			return err
		}},
		{"static data altered", capk.ErrHash, func() error {
			_, err := capk.RecoverICCKey(ik, c.iccCert, nil, nil, flip(c.static, 0), c.pan, smNow)
			return err
		}},
		{"ICC cert of another PAN", capk.ErrMismatch, func() error {
			_, err := capk.RecoverICCKey(ik, c.iccCert, nil, nil, c.static, "6217001234567890130", smNow)
			return err
		}},
		{"ICC cert in RSA format", capk.ErrFormat, func() error {
			_, err := capk.RecoverICCKey(ik, append([]byte{0x04}, c.iccCert[1:]...), nil, nil, c.static, c.pan, smNow)
			return err
		}},
		{"SSAD altered", capk.ErrHash, func() error {
			_, err := capk.VerifySSAD(ik, flip(c.ssad, 3), c.static)
			return err
		}},
		{"SSAD missing", capk.ErrMissing, func() error {
			_, err := capk.VerifySSAD(ik, nil, c.static)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
}

// A certified key must be a point on the curve.
func TestSMCertKeyOffCurve(t *testing.T) {
	c := newSMChain(t)
	ib := c.issuerCert[:78:78]
	ib = bytes.Clone(ib)
	ib[77] ^= 1
	cert := smSignT(t, c.ca, ib)
	if _, err := capk.RecoverIssuerKey(c.caKey, cert, nil, nil, c.pan, smNow); !errors.Is(err, capk.ErrFormat) {
		t.Fatalf("off-curve key: %v", err)
	}
}

// The SM certificate and signed-data parsers take bytes from the card.
func FuzzSMODA(f *testing.F) {
	c := newSMChain(f)
	ik := capk.NewSM2Key(emvcrypto.SM2PublicKeyBytes(&c.issuer.PublicKey))
	f.Add(c.issuerCert, c.iccCert)
	f.Add(c.ssad, []byte{0x15, 0x04, 0x00})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		_, _ = capk.RecoverIssuerKey(c.caKey, a, nil, nil, c.pan, smNow)
		_, _ = capk.RecoverICCKey(ik, b, nil, nil, c.static, c.pan, smNow)
		_, _ = capk.VerifySSAD(ik, a, c.static)
		_, _ = capk.VerifySDAD(ik, b, a)
	})
}
