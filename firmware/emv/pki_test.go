package emv

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// A test PKI: the kernel's test CA keys (testdata/emv/kernel-test-ca.json,
// TEST KEYS ONLY, index 7E, added to the store by testConfig), an issuer key and an ICC key generated once per test run,
// and the certificate and signature formats of EMV Book 2, so scripted
// cards can carry SDA, DDA, CDA and fDDA data the kernel must verify.

type privKey struct {
	n, e, d *big.Int
}

func (k *privKey) size() int { return (k.n.BitLen() + 7) / 8 }

func (k *privKey) sign(m []byte) []byte {
	return new(big.Int).Exp(new(big.Int).SetBytes(m), k.d, k.n).FillBytes(make([]byte, k.size()))
}

func (k *privKey) modulus() []byte { return k.n.Bytes() }

// genKey makes an RSA key with exponent 3 of the given size in bits.
func genKey(bits int) *privKey {
	e := big.NewInt(3)
	one := big.NewInt(1)
	for {
		p, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			panic(err)
		}
		q, err := rand.Prime(rand.Reader, bits/2)
		if err != nil {
			panic(err)
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits {
			continue
		}
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		if d := new(big.Int).ModInverse(e, phi); d != nil {
			return &privKey{n: n, e: e, d: d}
		}
	}
}

type testPKI struct {
	ca     map[string]*privKey // by RID
	issuer *privKey
	icc    *privKey
}

var (
	pkiOnce sync.Once
	pki     testPKI
)

// thePKI loads the test CA keys and generates the issuer and ICC keys once.
func thePKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(testdataDir, "kernel-test-ca.json"))
		if err != nil {
			panic(err)
		}
		var f struct {
			Keys []struct {
				RID, Modulus, Exponent string
				Private                string `json:"private_exponent"`
			}
		}
		if err := json.Unmarshal(b, &f); err != nil {
			panic(err)
		}
		pki.ca = map[string]*privKey{}
		for _, k := range f.Keys {
			pki.ca[k.RID] = &privKey{
				n: new(big.Int).SetBytes(mustHex(k.Modulus)),
				e: new(big.Int).SetBytes(mustHex(k.Exponent)),
				d: new(big.Int).SetBytes(mustHex(k.Private)),
			}
		}
		pki.issuer = genKey(1024)
		pki.icc = genKey(768)
	})
	return &pki
}

// frame builds 6A | body | BB padding | SHA-1(body | padding | extra) | BC
// for a key of n bytes and signs it.
func frame(k *privKey, body []byte, extra ...[]byte) []byte {
	n := k.size()
	m := make([]byte, 0, n)
	m = append(m, 0x6A)
	m = append(m, body...)
	for len(m) < n-21 {
		m = append(m, 0xBB)
	}
	h := sha1.New()
	h.Write(m[1:])
	for _, e := range extra {
		h.Write(e)
	}
	m = append(m, h.Sum(nil)...)
	m = append(m, 0xBC)
	return k.sign(m)
}

// split returns the part of a modulus that fits a certificate and the
// remainder.
func split(mod []byte, room int) ([]byte, []byte) {
	if len(mod) <= room {
		return mod, nil
	}
	return mod[:room], mod[room:]
}

// issuerCert returns tags 90, 92, 9F32 for the issuer key under the CA key
// of rid; issuerID is 4 bytes cn (e.g. "622202FF").
func (p *testPKI) issuerCert(rid, issuerID, expMMYY string) (cert, rem, exp []byte) {
	ca := p.ca[rid]
	mod := p.issuer.modulus()
	part, rem := split(mod, ca.size()-36)
	body := cat("02", issuerID, expMMYY, "000001", "01", "01", []byte{byte(len(mod)), 1}, part)
	return frame(ca, body, rem, []byte{3}), rem, []byte{3}
}

// iccCert returns tags 9F46, 9F48, 9F47 for the ICC key; pan is 10 bytes cn.
func (p *testPKI) iccCert(pan, expMMYY string, static []byte) (cert, rem, exp []byte) {
	mod := p.icc.modulus()
	part, rem := split(mod, p.issuer.size()-42)
	body := cat("04", pan, expMMYY, "000001", "01", "01", []byte{byte(len(mod)), 1}, part)
	return frame(p.issuer, body, rem, []byte{3}, static), rem, []byte{3}
}

// ssad returns tag 93 over the static data.
func (p *testPKI) ssad(dac string, static []byte) []byte {
	return frame(p.issuer, cat("03", "01", dac), static)
}

// sdad returns tag 9F4B over ICC dynamic data dd and the extra data.
func (p *testPKI) sdad(dd []byte, extra ...[]byte) []byte {
	return frame(p.icc, cat("05", "01", []byte{byte(len(dd))}, dd), extra...)
}

func hx(b []byte) string { return hex.EncodeToString(b) }
