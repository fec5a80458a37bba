package emvcrypto

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// vectorFile is the published EMV crypto vector set (its source line is
// inside the file).
const vectorFile = "../../testdata/vectors/emv-crypto-vectors.json"

type vector map[string]any

func loadVectors(t testing.TB, kind string) []vector {
	t.Helper()
	raw, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatalf("read vectors: %v", err)
	}
	var f struct {
		Source  string   `json:"source"`
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("parse vectors: %v", err)
	}
	if f.Source == "" {
		t.Fatalf("vector file lost its source line")
	}
	var out []vector
	for _, v := range f.Vectors {
		if v["kind"] == kind {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no vectors of kind %q", kind)
	}
	return out
}

func (v vector) str(key string) (string, bool) {
	s, ok := v[key].(string)
	return s, ok
}

func (v vector) hex(t testing.TB, key string) []byte {
	t.Helper()
	s, ok := v.str(key)
	if !ok {
		t.Fatalf("vector has no %q", key)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vector %q: %v", key, err)
	}
	return b
}

func upper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

func TestDeriveICCMasterKey(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t, "icc_mk_derivation") {
		imk := v.hex(t, "iss_mk")
		pan, _ := v.str("pan")
		psn, _ := v.str("psn") // null means absent: ""
		for _, opt := range []struct {
			mk, kcv string
			fn      func([]byte, string, string) ([]byte, error)
		}{
			{"icc_mk_option_a", "kcv_a", DeriveICCMasterKeyA},
			{"icc_mk_option_b", "kcv_b", DeriveICCMasterKeyB},
		} {
			want, ok := v.str(opt.mk)
			if !ok {
				continue
			}
			n++
			got, err := opt.fn(imk, pan, psn)
			if err != nil {
				t.Fatalf("%s pan len %d psn %q: %v", opt.mk, len(pan), psn, err)
			}
			if upper(got) != want {
				t.Errorf("%s pan len %d psn %q: got %X want %s", opt.mk, len(pan), psn, got, want)
			}
			if wantKCV, _ := v.str(opt.kcv); upper(KCV(got)) != wantKCV {
				t.Errorf("%s KCV: got %X want %s", opt.mk, KCV(got), wantKCV)
			}
		}
	}
	if n < 8 {
		t.Fatalf("only %d derivations checked", n)
	}
}

func TestDeriveICCMasterKeyErrors(t *testing.T) {
	imk := make([]byte, 16)
	tests := []struct {
		name string
		key  []byte
		pan  string
		psn  string
		want error
	}{
		{"short key", make([]byte, 8), "1234567890123456", "00", ErrKeyLength},
		{"triple key", make([]byte, 24), "1234567890123456", "00", ErrKeyLength},
		{"empty pan", imk, "", "00", ErrPAN},
		{"letters in pan", imk, "12345678901234X6", "00", ErrPAN},
		{"pan too long", imk, "12345678901234567890", "00", ErrPAN},
		{"psn one digit", imk, "1234567890123456", "1", ErrPSN},
		{"psn letters", imk, "1234567890123456", "0A", ErrPSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, fn := range []func([]byte, string, string) ([]byte, error){DeriveICCMasterKeyA, DeriveICCMasterKeyB} {
				if _, err := fn(tc.key, tc.pan, tc.psn); !errors.Is(err, tc.want) {
					t.Errorf("got %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func TestShortPANPadsLeft(t *testing.T) {
	imk, _ := hex.DecodeString("0123456789ABCDEFFEDCBA9876543210")
	a, err := DeriveICCMasterKeyA(imk, "12345678901", "01")
	if err != nil {
		t.Fatal(err)
	}
	b, err := DeriveICCMasterKeyA(imk, "00012345678901", "01")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("short PAN not left-padded with zeros")
	}
}

func TestSessionKeyARQCARPC(t *testing.T) {
	for _, v := range loadVectors(t, "common_sk_arqc_arpc") {
		mk := v.hex(t, "icc_mk")
		r := v.hex(t, "R")
		sk, err := SessionKeyCommon(mk, r[:2])
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("sk_ac"); upper(sk) != want {
			t.Errorf("session key ATC %X: got %X want %s", r[:2], sk, want)
		}
		var r8 [8]byte
		copy(r8[:], r)
		skR, err := SessionKeyCommonR(mk, r8)
		if err != nil || !bytes.Equal(skR, sk) {
			t.Errorf("SessionKeyCommonR disagrees: %v", err)
		}
		data := v.hex(t, "cdol_data")
		arqc, err := ARQC(sk, data)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arqc_padding_emv_80"); upper(arqc[:]) != want {
			t.Errorf("ARQC: got %X want %s", arqc, want)
		}
		if err := VerifyARQC(sk, data, arqc[:]); err != nil {
			t.Errorf("VerifyARQC of own ARQC: %v", err)
		}
		bad := arqc
		bad[7] ^= 1
		if err := VerifyARQC(sk, data, bad[:]); !errors.Is(err, ErrCryptogram) {
			t.Errorf("VerifyARQC of altered ARQC: got %v", err)
		}
		visa, err := MACAlg3(sk, data, PadMethod1)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arqc_padding_visa_00"); upper(visa[:]) != want {
			t.Errorf("ARQC zero padding: got %X want %s", visa, want)
		}
		arc := []byte("00")
		for _, c := range []struct {
			key  []byte
			name string
		}{{sk, "arpc1_rc_3030_with_sk"}, {mk, "arpc1_rc_3030_with_icc_mk"}} {
			got, err := ARPCMethod1(c.key, arqc[:], arc)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := v.str(c.name); upper(got[:]) != want {
				t.Errorf("%s: got %X want %s", c.name, got, want)
			}
		}
		a2, err := ARPCMethod2(sk, arqc[:], []byte{0, 0, 0, 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arpc2_csu_00000000_noprop"); upper(a2[:]) != want {
			t.Errorf("ARPC method 2: got %X want %s", a2, want)
		}
		a2, err = ARPCMethod2(sk, arqc[:], []byte{0, 0x82, 0, 0}, []byte{0x12, 0x34})
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arpc2_csu_00820000_prop_1234"); upper(a2[:]) != want {
			t.Errorf("ARPC method 2 with proprietary data: got %X want %s", a2, want)
		}
	}
}

func cat(t *testing.T, v vector, keys ...string) []byte {
	var out []byte
	for _, k := range keys {
		out = append(out, v.hex(t, k)...)
	}
	return out
}

var visaTags = []string{"tag_9f02", "tag_9f03", "tag_9f1a", "tag_95", "tag_5f2a", "tag_9a", "tag_9c", "tag_9f37", "tag_82", "tag_9f36"}

// TestVisaCVN10 runs the full CVN 10 flow: ICC MK option A, cryptogram under
// the ICC MK with zero padding, ARPC method 1 under the ICC MK.
func TestVisaCVN10(t *testing.T) {
	for _, v := range loadVectors(t, "visa_cvn10") {
		pan, _ := v.str("pan")
		psn, _ := v.str("psn")
		mk, err := DeriveICCMasterKeyA(v.hex(t, "iss_mk_ac"), pan, psn)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("icc_mk_ac"); upper(mk) != want {
			t.Fatalf("ICC MK: got %X want %s", mk, want)
		}
		data := append(cat(t, v, visaTags...), v.hex(t, "cvr")...)
		ac, err := MACAlg3(mk, data, PadMethod1)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arqc"); upper(ac[:]) != want {
			t.Errorf("ARQC: got %X want %s", ac, want)
		}
		arpc, err := ARPCMethod1(mk, ac[:], v.hex(t, "arpc_rc"))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arpc"); upper(arpc[:]) != want {
			t.Errorf("ARPC: got %X want %s", arpc, want)
		}
	}
}

// TestVisaCVN18 runs the full CVN 18 flow: common session key, cryptogram
// with EMV padding over the data and the issuer application data, ARPC
// method 2.
func TestVisaCVN18(t *testing.T) {
	for _, v := range loadVectors(t, "visa_cvn18") {
		pan, _ := v.str("pan")
		psn, _ := v.str("psn")
		mk, err := DeriveICCMasterKeyA(v.hex(t, "iss_mk_ac"), pan, psn)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := SessionKeyCommon(mk, v.hex(t, "tag_9f36"))
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("sk_ac"); upper(sk) != want {
			t.Fatalf("session key: got %X want %s", sk, want)
		}
		data := append(cat(t, v, visaTags...), v.hex(t, "tag_9f10")...)
		ac, err := ARQC(sk, data)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arqc"); upper(ac[:]) != want {
			t.Errorf("ARQC: got %X want %s", ac, want)
		}
		arpc, err := ARPCMethod2(sk, ac[:], v.hex(t, "csu"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := v.str("arpc_method2"); upper(arpc[:]) != want {
			t.Errorf("ARPC: got %X want %s", arpc, want)
		}
	}
}

func TestISO9797MAC(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t, "iso9797_1_mac") {
		k1, k2 := v.hex(t, "key1"), v.hex(t, "key2")
		key := append(append([]byte{}, k1...), k2...)
		data := v.hex(t, "data")
		for _, pad := range []int{1, 2} {
			p := "_pad" + string(rune('0'+pad))
			for _, c := range []struct {
				name string
				fn   func() ([8]byte, error)
			}{
				{"alg3" + p, func() ([8]byte, error) { return MACAlg3(key, data, pad) }},
				{"alg1_tdes" + p, func() ([8]byte, error) { return MACAlg1TDES(key, data, pad) }},
				{"alg1_sdes" + p, func() ([8]byte, error) { return MACAlg1DES(k1, data, pad) }},
			} {
				want, ok := v.str(c.name)
				if !ok {
					continue
				}
				n++
				got, err := c.fn()
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				if upper(got[:]) != want {
					t.Errorf("%s over %d bytes: got %X want %s", c.name, len(data), got, want)
				}
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d MACs checked", n)
	}
}

// TestPINBlockEncryption checks the published format-0 encryption vectors:
// a clear format 0 block under a double-length PIN key, 3DES ECB.
func TestPINBlockEncryption(t *testing.T) {
	for _, v := range loadVectors(t, "iso9564_pinblock") {
		b, err := TDES(v.hex(t, "format0_tdes_ecb_kpe"))
		if err != nil {
			t.Fatal(err)
		}
		clearBlock := v.hex(t, "format0_clear")
		got := make([]byte, 8)
		b.Encrypt(got, clearBlock)
		if want, _ := v.str("format0_enc"); upper(got) != want {
			t.Errorf("format 0 encrypted: got %X want %s", got, want)
		}
	}
}

func TestKeyLengthErrors(t *testing.T) {
	k8, k16, k24 := make([]byte, 8), make([]byte, 16), make([]byte, 24)
	a8, a2, csu := make([]byte, 8), make([]byte, 2), make([]byte, 4)
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"alg3 8-byte key", func() error { _, e := MACAlg3(k8, nil, 2); return e }, ErrKeyLength},
		{"alg3 24-byte key", func() error { _, e := MACAlg3(k24, nil, 2); return e }, ErrKeyLength},
		{"alg3 bad padding", func() error { _, e := MACAlg3(k16, nil, 3); return e }, ErrPadding},
		{"alg1 tdes 8-byte key", func() error { _, e := MACAlg1TDES(k8, nil, 1); return e }, ErrKeyLength},
		{"alg1 tdes bad padding", func() error { _, e := MACAlg1TDES(k16, nil, 0); return e }, ErrPadding},
		{"alg1 des 16-byte key", func() error { _, e := MACAlg1DES(k16, nil, 1); return e }, ErrKeyLength},
		{"arqc empty key", func() error { _, e := ARQC(nil, nil); return e }, ErrKeyLength},
		{"session key short mk", func() error { _, e := SessionKeyCommon(k8, a2); return e }, ErrKeyLength},
		{"session key long atc", func() error { _, e := SessionKeyCommon(k16, a8); return e }, ErrInput},
		{"arpc1 key", func() error { _, e := ARPCMethod1(k24, a8, a2); return e }, ErrKeyLength},
		{"arpc1 arqc", func() error { _, e := ARPCMethod1(k16, a2, a2); return e }, ErrInput},
		{"arpc1 arc", func() error { _, e := ARPCMethod1(k16, a8, a8); return e }, ErrInput},
		{"arpc2 key", func() error { _, e := ARPCMethod2(k8, a8, csu, nil); return e }, ErrKeyLength},
		{"arpc2 csu", func() error { _, e := ARPCMethod2(k16, a8, a2, nil); return e }, ErrInput},
		{"arpc2 prop data", func() error { _, e := ARPCMethod2(k16, a8, csu, k16); return e }, ErrInput},
		{"tdes 8", func() error { _, e := TDES(k8); return e }, ErrKeyLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if KCV(make([]byte, 5)) != nil {
		t.Errorf("KCV of a 5-byte key should be nil")
	}
}

func TestKCV(t *testing.T) {
	tests := []struct{ key, kcv string }{
		// A DES key and the same key as double and triple length agree.
		{"0123456789ABCDEF", "D5D44F"},
		{"0123456789ABCDEF0123456789ABCDEF", "D5D44F"},
		{"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF", "D5D44F"},
	}
	for _, tc := range tests {
		k, _ := hex.DecodeString(tc.key)
		if got := upper(KCV(k)); got != tc.kcv {
			t.Errorf("KCV(%d-byte key) = %s, want %s", len(k), got, tc.kcv)
		}
	}
}

func TestPad(t *testing.T) {
	tests := []struct {
		in   string
		pad  int
		want string
	}{
		{"", 1, "0000000000000000"},
		{"01", 1, "0100000000000000"},
		{"0102030405060708", 1, "0102030405060708"},
		{"", 2, "8000000000000000"},
		{"01020304050607", 2, "0102030405060780"},
		{"0102030405060708", 2, "01020304050607088000000000000000"},
	}
	for _, tc := range tests {
		in, _ := hex.DecodeString(tc.in)
		got, err := Pad(in, tc.pad)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(got) != tc.want {
			t.Errorf("Pad(%s, %d) = %x, want %s", tc.in, tc.pad, got, tc.want)
		}
	}
}

func FuzzDeriveICCMasterKey(f *testing.F) {
	f.Add([]byte("0123456789ABCDEF"), "12345678901234567", "45")
	f.Add([]byte("0123456789ABCDEFFEDCBA9876543210"), "1234567890123456789", "")
	f.Add([]byte{}, "", "0")
	f.Fuzz(func(t *testing.T, key []byte, pan, psn string) {
		a, errA := DeriveICCMasterKeyA(key, pan, psn)
		b, errB := DeriveICCMasterKeyB(key, pan, psn)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("option A and B disagree on validity: %v / %v", errA, errB)
		}
		if errA == nil && (len(a) != 16 || len(b) != 16) {
			t.Fatalf("derived keys of %d and %d bytes", len(a), len(b))
		}
		if errA == nil && len(pan) <= 16 && !bytes.Equal(a, b) {
			t.Fatalf("option B must equal option A for PANs of 16 digits or fewer")
		}
	})
}

func FuzzMAC(f *testing.F) {
	f.Add([]byte("0123456789ABCDEF"), []byte("data"), 2)
	f.Add([]byte{}, []byte{}, 1)
	f.Fuzz(func(t *testing.T, key, data []byte, pad int) {
		m3, err3 := MACAlg3(key, data, pad)
		_, err1 := MACAlg1TDES(key, data, pad)
		if err3 == nil && err1 == nil && len(key) == 16 &&
			bytes.Equal(key[:8], key[8:]) {
			// With K1 = K2 both algorithms are single-DES CBC-MAC.
			m1, _ := MACAlg1DES(key[:8], data, pad)
			if m1 != m3 {
				t.Fatalf("alg 3 with equal halves differs from alg 1 DES")
			}
		}
	})
}

func BenchmarkARQC(b *testing.B) {
	sk, _ := hex.DecodeString("A8671AF8581315C17032D99876B68592")
	data, _ := hex.DecodeString("0000000040000000000000000124800004800001241911050152BF45851800001C03A06010")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ARQC(sk, data); err != nil {
			b.Fatal(err)
		}
	}
}
