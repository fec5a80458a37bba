package keys

import (
	"bytes"
	"testing"
)

// bench200 is a 200-byte MAB, the size of a sale request with field 55.
var bench200 = bytes.Repeat([]byte{0x02, 0x00, 0x30, 0x20, 0x04, 0x80, 0x00, 0xC0}, 25)

func reportRate(b *testing.B, unit string) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, unit+"/s")
		b.ReportMetric(s*1e6/float64(b.N), "µs/"+unit)
	}
}

// BenchmarkMACUnionPayECB200 measures the UnionPay ECB MAC of a 200-byte
// message under a double-length 3DES MAC key.
func BenchmarkMACUnionPayECB200(b *testing.B) {
	key := mustHex(b, testMACKey)
	b.ReportAllocs()
	b.SetBytes(int64(len(bench200)))
	for b.Loop() {
		if _, err := MACUnionPayECB(key, bench200); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "mac")
}

// BenchmarkMACSM4ECB200 measures the SM4 variant on the same message.
func BenchmarkMACSM4ECB200(b *testing.B) {
	key := mustHex(b, testPINKey)
	b.ReportAllocs()
	b.SetBytes(int64(len(bench200)))
	for b.Loop() {
		if _, err := MACSM4ECB(key, bench200); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "mac")
}

// BenchmarkPINBlockEncrypt measures one format 0 PIN block encryption
// through the store's PIN cipher (3DES working PIN key).
func BenchmarkPINBlockEncrypt(b *testing.B) {
	s := openTest(b, b.TempDir(), Config{})
	installAll(b, s)
	pc := s.PINCipher()
	blk := mustHex(b, "04122D789ABCDEF6")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pc.EncryptPINBlock(blk); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "pinblock")
}

// BenchmarkPINBlockEncryptSM4 measures one 16-byte SM4 PIN block encryption.
func BenchmarkPINBlockEncryptSM4(b *testing.B) {
	s := openTest(b, b.TempDir(), Config{Algorithm: AlgSM4})
	installAll(b, s)
	pc := s.PINCipher()
	blk := mustHex(b, "06123654FFFFFFFFFFFF99FEFF88D977")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pc.EncryptPINBlock(blk); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "pinblock")
}

// BenchmarkDUKPTNext measures the terminal's per-transaction DUKPT key step
// (without the durable save the store adds).
func BenchmarkDUKPTNext(b *testing.B) {
	ipek, iksn := mustHex(b, testIPEK), mustHex(b, testIKSN)
	o, err := NewDUKPTOriginator(ipek, iksn)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := o.Next(); err != nil {
			b.StopTimer()
			o, _ = NewDUKPTOriginator(ipek, iksn)
			b.StartTimer()
		}
	}
	reportRate(b, "key")
}

// BenchmarkDUKPTDeriveKey measures the host-side derivation from the BDK.
func BenchmarkDUKPTDeriveKey(b *testing.B) {
	bdk, ksn := mustHex(b, testBDK), mustHex(b, "FFFF9876543210E003FF")
	for b.Loop() {
		if _, err := DUKPTDeriveKey(bdk, ksn); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, "key")
}
