package emvcrypto_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"kpos/firmware/emvcrypto"
	"kpos/firmware/emvcrypto/cvntest"
)

// TestVersionsReproduceTheVectors computes every vector of
// emv-cvn-vectors.json: ICC master key, cryptogram, and the issuer's ARPC.
func TestVersionsReproduceTheVectors(t *testing.T) {
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 20 {
		t.Fatalf("%d vectors, want 20", len(vs))
	}
	for _, v := range vs {
		t.Run(v.Name(), func(t *testing.T) {
			ver := v.Version()
			mk, err := ver.MasterKey(cvntest.MustHex(v.IMKAC), v.PAN, v.PSN)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(mk); !bytes.EqualFold([]byte(got), []byte(v.ICCMK)) {
				t.Fatalf("ICC MK %s, want %s", got, v.ICCMK)
			}
			d := v.Data()
			key, err := ver.ACKey(mk, d.ATC, d.UN)
			if err != nil {
				t.Fatal(err)
			}
			in, err := ver.Input(d, v.IAD())
			if err != nil {
				t.Fatal(err)
			}
			ac, err := ver.Cryptogram(key, in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ac[:], cvntest.MustHex(v.ARQC)) {
				t.Fatalf("ARQC %X, want %s", ac, v.ARQC)
			}
			var arc, csu []byte
			if ver.ARPCMethod() == 2 {
				csu = cvntest.MustHex(v.CSU)
			} else {
				arc = cvntest.MustHex(v.ARC)
			}
			ia, err := ver.IssuerAuthData(mk, key, ac[:], arc, csu)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(ia, v.IssuerAuthData()) {
				t.Fatalf("issuer auth data %X, want %X", ia, v.IssuerAuthData())
			}
			if err := ver.VerifyIssuerAuthData(mk, key, ac[:], ia); err != nil {
				t.Fatalf("the card side refuses the vector's ARPC: %v", err)
			}
			ia[0] ^= 1
			if err := ver.VerifyIssuerAuthData(mk, key, ac[:], ia); !errors.Is(err, emvcrypto.ErrCryptogram) {
				t.Fatalf("a changed ARPC: %v, want ErrCryptogram", err)
			}
		})
	}
}

// TestMC17CountersAreCovered shows the CVN 17 cryptogram covers the
// counters: any other counters give another cryptogram.
func TestMC17CountersAreCovered(t *testing.T) {
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Version() != emvcrypto.MastercardCVN17 {
			continue
		}
		iad := v.IAD()
		iad[17] = 0xFE
		ver := v.Version()
		mk, _ := ver.MasterKey(cvntest.MustHex(v.IMKAC), v.PAN, v.PSN)
		key, _ := ver.ACKey(mk, v.Data().ATC, v.Data().UN)
		in, _ := ver.Input(v.Data(), iad)
		ac, _ := ver.Cryptogram(key, in)
		if bytes.Equal(ac[:], cvntest.MustHex(v.ARQC)) {
			t.Fatalf("%s: changed counters give the same cryptogram", v.Name())
		}
	}
}

func TestVersionOf(t *testing.T) {
	tests := []struct {
		scheme emvcrypto.Scheme
		iad    string
		want   emvcrypto.Version
	}{
		{emvcrypto.SchemeUnionPay, "07010103A00000010A010000000000", emvcrypto.UnionPayCVN01},
		{emvcrypto.SchemeVisa, "06010A03A06010", emvcrypto.VisaCVN10},
		{emvcrypto.SchemeVisa, "06011203A0B800", emvcrypto.VisaCVN18},
		{emvcrypto.SchemeVisa, "1F1601A000000000" + "00000000000000000000000000000000000000000000", emvcrypto.VisaCVN22},
		{emvcrypto.SchemeMastercard, "0110A00003220000000000000000000000FF", emvcrypto.MastercardCVN16},
		{emvcrypto.SchemeMastercard, "0111A00003220000000000000000000000FF", emvcrypto.MastercardCVN17},
		{emvcrypto.SchemeVisa, "06011603A0B800", emvcrypto.VersionUnknown},       // CVN 22 needs format 2
		{emvcrypto.SchemeMastercard, "0111A000032200", emvcrypto.VersionUnknown}, // no room for counters
		{emvcrypto.SchemeUnionPay, "07010203A00000", emvcrypto.VersionUnknown},
		{emvcrypto.SchemeUnknown, "06010A03A06010", emvcrypto.VersionUnknown},
		{emvcrypto.SchemeVisa, "", emvcrypto.VersionUnknown},
	}
	for _, tt := range tests {
		got, err := emvcrypto.VersionOf(tt.scheme, cvntest.MustHex(tt.iad))
		if got != tt.want || (err == nil) != (tt.want != emvcrypto.VersionUnknown) {
			t.Errorf("VersionOf(%d, %s) = %v, %v; want %v", tt.scheme, tt.iad, got, err, tt.want)
		}
	}
}

// TestUnionPaySessionKey checks CVN 01 against the common-session-key
// vectors of crypto-vectors.json (R = ATC||00..00), the derivation
// UnionPay's CVN 01 shares with EMV Book 2 A1.3.
func TestUnionPaySessionKey(t *testing.T) {
	mk := cvntest.MustHex("F84315C7B95BD3B0C74694922C3808B0")
	for _, c := range []struct{ atc, sk, data, arqc, arpc string }{
		{"001C", "A8671AF8581315C17032D99876B68592", "0000000040000000000000000124800004800001241911050152BF45851800001C03A06010", "FF553FC45330CCC0", "6B47C013F003AEC2"},
		{"0001", "206E700B464C916DB30D269B0B1FE091", "0000000040000000000000000124800004800001241911050152BF45851800000103A06010", "5B42EC36921428A7", "7FA50D9C541FB645"},
	} {
		v := emvcrypto.UnionPayCVN01
		sk, err := v.ACKey(mk, cvntest.MustHex(c.atc), nil)
		if err != nil || !bytes.Equal(sk, cvntest.MustHex(c.sk)) {
			t.Fatalf("session key %X, %v", sk, err)
		}
		ac, err := v.Cryptogram(sk, cvntest.MustHex(c.data))
		if err != nil || !bytes.Equal(ac[:], cvntest.MustHex(c.arqc)) {
			t.Fatalf("ARQC %X, %v", ac, err)
		}
		ia, err := v.IssuerAuthData(mk, sk, ac[:], []byte("00"), nil)
		if err != nil || !bytes.Equal(ia, append(cvntest.MustHex(c.arpc), '0', '0')) {
			t.Fatalf("ARPC %X, %v", ia, err)
		}
	}
}
