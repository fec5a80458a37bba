package emv

import (
	"testing"
	"time"

	"kpos/firmware/emv/capk"
)

// BenchmarkODAChain measures the verification of one DDA certificate chain
// as the kernel does it: issuer certificate under the CA key, ICC
// certificate under the issuer key, signed dynamic data under the ICC key.
// RSA with UnionPay-sized keys (CA 1984, issuer 1408, ICC 1024 bits,
// exponent 3) against SM2 (three SM2 verifications over SM3), in the same
// run, so tools/bench can print their ratio.
func BenchmarkODAChain(b *testing.B) {
	pan := "6217001234567890122"
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	static := []byte("static data to be authenticated, as the records give it")
	un := []byte{1, 2, 3, 4}
	dd := []byte{8, 1, 2, 3, 4, 5, 6, 7, 8}

	b.Run("rsa", func(b *testing.B) {
		ca, issuer, icc := genKey(1984), genKey(1408), genKey(1024)
		p := &testPKI{ca: map[string]*privKey{"A000000333": ca}, issuer: issuer, icc: icc}
		caKey := capk.NewRSAKey(ca.modulus(), ca.e.Bytes())
		icert, irem, iexp := p.issuerCert("A000000333", "621700FF", "1235")
		ccert, crem, cexp := p.iccCert("6217001234567890122F", "1235", static)
		sdad := p.sdad(dd, un)
		b.ResetTimer()
		for range b.N {
			ik, err := capk.RecoverIssuerKey(caKey, icert, irem, iexp, pan, now)
			if err != nil {
				b.Fatal(err)
			}
			ck, err := capk.RecoverICCKey(ik, ccert, crem, cexp, static, pan, now)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := capk.VerifySDAD(ck, sdad, un); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/chain")
	})
	b.Run("sm2", func(b *testing.B) {
		c := newSMChain(b)
		sdad := smSignT(b, c.icc, append([]byte{0x15, 0x04, byte(len(dd))}, dd...), un)
		b.ResetTimer()
		for range b.N {
			ik, err := capk.RecoverIssuerKey(c.caKey, c.issuerCert, nil, nil, c.pan, now)
			if err != nil {
				b.Fatal(err)
			}
			ck, err := capk.RecoverICCKey(ik, c.iccCert, nil, nil, c.static, c.pan, now)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := capk.VerifySDAD(ck, sdad, un); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/chain")
	})
}
