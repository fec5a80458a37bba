package keys

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

type cupMACFile struct {
	Vectors []struct {
		Source          string   `json:"source"`
		MAK             string   `json:"mak"`
		MAB             string   `json:"mab"`
		ExpectedF64     string   `json:"expected_f64_ascii"`
		TMK             string   `json:"tmk"`
		TAKEncrypted    string   `json:"tak_encrypted"`
		TAKClear        string   `json:"tak_clear_expected"`
		XORChainFirst3  []string `json:"xor_chain_expected_first3"`
		XORChainHelper  []string `json:"xor_chain_computed"`
		SingleDESHelper string   `json:"cup_ecb_mac_single_des_computed_by_helper"`
	} `json:"vectors"`
}

func loadCUPMAC(t testing.TB) cupMACFile {
	t.Helper()
	raw, err := os.ReadFile("../../testdata/keys/cup-mac-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f cupMACFile
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) != 2 || f.Vectors[0].Source == "" {
		t.Fatalf("unexpected vector file shape")
	}
	return f
}

// TestMACUnionPayECBPublished reproduces field 64 of a published UnionPay
// message from its MAB and MAC key.
func TestMACUnionPayECBPublished(t *testing.T) {
	v := loadCUPMAC(t).Vectors[0]
	mak, mab := mustHex(t, v.MAK), mustHex(t, v.MAB)
	for _, key := range [][]byte{mak, mak[:8]} { // equal halves: 3DES and DES agree
		got, err := MACUnionPayECB(key, mab)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[:]) != v.ExpectedF64 {
			t.Errorf("%d-byte key: MAC %q, want %q", len(key), got, v.ExpectedF64)
		}
	}
	// One flipped bit anywhere changes the MAC.
	mab[len(mab)/2] ^= 0x01
	got, _ := MACUnionPayECB(mak, mab)
	if string(got[:]) == v.ExpectedF64 {
		t.Errorf("MAC unchanged after altering the MAB")
	}
}

// TestMACKeyUnderTMK decrypts a published MAC key under its TMK and checks
// the published XOR chain of the MAB.
func TestMACKeyUnderTMK(t *testing.T) {
	v := loadCUPMAC(t).Vectors[1]
	tak, err := DecryptKey(AlgTDES, mustHex(t, v.TMK), mustHex(t, v.TAKEncrypted))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ToUpper(hex.EncodeToString(tak)); got != v.TAKClear {
		t.Fatalf("clear TAK %s, want %s", got, v.TAKClear)
	}
	mab := mustHex(t, v.MAB)
	for i, want := range v.XORChainFirst3 {
		n := (i + 2) * 8
		if got := strings.ToUpper(hex.EncodeToString(xorBlocks(mab[:n], 8))); got != want {
			t.Errorf("XOR of the first %d blocks %s, want %s", i+2, got, want)
		}
	}
	last := v.XORChainHelper[len(v.XORChainHelper)-1]
	if got := strings.ToUpper(hex.EncodeToString(xorBlocks(mab, 8))); got != last {
		t.Errorf("XOR of all blocks %s, want %s", got, last)
	}
	got, err := MACUnionPayECB(tak, mab)
	if err != nil {
		t.Fatal(err)
	}
	// The page's final MAC is not in the stored excerpt; this value is the
	// vector file's own single-DES computation, kept as a regression check.
	if string(got[:]) != v.SingleDESHelper {
		t.Errorf("MAC %q, want %q", got, v.SingleDESHelper)
	}
}

// TestMACUnionPayECBSteps checks the algorithm's steps one by one on a
// short message against an independent computation with the block cipher.
func TestMACUnionPayECBSteps(t *testing.T) {
	key := mustHex(t, "11111111111111112222222222222222") // test TMK value reused as a MAC key
	data := []byte("0200 test message of 29 bytes")
	b, err := blockCipher(AlgTDES, key)
	if err != nil {
		t.Fatal(err)
	}
	var x [8]byte
	for i, c := range data {
		x[i%8] ^= c
	}
	hx := []byte(strings.ToUpper(hex.EncodeToString(x[:])))
	var e [8]byte
	b.Encrypt(e[:], hx[:8])
	for i := range e {
		e[i] ^= hx[8+i]
	}
	b.Encrypt(e[:], e[:])
	want := strings.ToUpper(hex.EncodeToString(e[:]))[:8]
	got, err := MACUnionPayECB(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:]) != want {
		t.Fatalf("MAC %q, want %q", got, want)
	}
}

func TestMACX919(t *testing.T) {
	// ISO 9797-1 algorithm 3, padding method 1 = ANSI X9.19 (emv crypto vectors file).
	key := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct{ data, want string }{
		{"4E6F77206973207468652074696D6520666F7220616C6C20", "A1C72E74EA3FA9B6"},
		{"02007024058000C08000", "72B4BA38EF146588"},
	}
	for _, tc := range tests {
		got, err := MACX919(key, mustHex(t, tc.data))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:], mustHex(t, tc.want)) {
			t.Errorf("X9.19 %X, want %s", got, tc.want)
		}
	}
}

type sm4File struct {
	Vectors []struct {
		Kind, Source, Key, Plaintext, Ciphertext string
		TMK                                      string `json:"tmk"`
		KeyEncrypted                             string `json:"key_encrypted"`
		CheckValue                               string `json:"check_value"`
	} `json:"vectors"`
}

func TestSM4Vectors(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/keys/sm4-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f sm4File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vectors {
		if v.Source == "" {
			t.Fatalf("vector without source")
		}
		switch v.Kind {
		case "sm4_block":
			got, err := EncryptKey(AlgSM4, mustHex(t, v.Key), mustHex(t, v.Plaintext))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, mustHex(t, v.Ciphertext)) {
				t.Errorf("SM4 %X, want %s", got, v.Ciphertext)
			}
		case "sm4_working_key":
			k, err := DecryptKey(AlgSM4, mustHex(t, v.TMK), mustHex(t, v.KeyEncrypted))
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifyCheckValue(AlgSM4, k, mustHex(t, v.CheckValue)); err != nil {
				t.Errorf("SM4 working key check value: %v", err)
			}
		default:
			t.Fatalf("unknown vector kind %q", v.Kind)
		}
	}
}

// TestMACSM4ECBSteps checks the SM4 variant against its definition computed
// step by step with the SM4 block cipher.
func TestMACSM4ECBSteps(t *testing.T) {
	key := mustHex(t, "0123456789ABCDEFFEDCBA9876543210")
	data := bytes.Repeat([]byte("SM4 MAC data "), 5)
	b, err := blockCipher(AlgSM4, key)
	if err != nil {
		t.Fatal(err)
	}
	var x [16]byte
	for i, c := range data {
		x[i%16] ^= c
	}
	hx := []byte(strings.ToUpper(hex.EncodeToString(x[:])))
	var e [16]byte
	b.Encrypt(e[:], hx[:16])
	for i := range e {
		e[i] ^= hx[16+i]
	}
	b.Encrypt(e[:], e[:])
	want := strings.ToUpper(hex.EncodeToString(e[:]))[:8]
	got, err := MACSM4ECB(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:]) != want {
		t.Fatalf("MAC %q, want %q", got, want)
	}
}

func TestMACErrors(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"ecb 5-byte key", func() error { _, e := MACUnionPayECB(make([]byte, 5), nil); return e }, ErrKeyLength},
		{"sm4 8-byte key", func() error { _, e := MACSM4ECB(make([]byte, 8), nil); return e }, ErrKeyLength},
		{"x919 24-byte key", func() error { _, e := MACX919(make([]byte, 24), nil); return e }, ErrKeyLength},
		{"unknown algorithm", func() error { _, e := ComputeMAC("crc", make([]byte, 16), nil); return e }, ErrConfig},
		{"kcv too short", func() error { return VerifyCheckValue(AlgTDES, make([]byte, 16), []byte{1, 2}) }, ErrKCV},
		{"kcv wrong", func() error { return VerifyCheckValue(AlgTDES, make([]byte, 16), []byte{1, 2, 3}) }, ErrKCV},
		{"ecb partial block", func() error { _, e := DecryptKey(AlgTDES, make([]byte, 16), make([]byte, 12)); return e }, ErrBlockLength},
		{"unknown cipher", func() error { _, e := CheckValue("AES", make([]byte, 16)); return e }, ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDeriveTransportKey(t *testing.T) {
	// Independently computed with Python's hashlib over the documented input.
	got := DeriveTransportKey("K8H3Q2M7", "KP2026000001")
	if want := "CEAFB0BC1AD37B89F330B593A4109F99"; strings.ToUpper(hex.EncodeToString(got)) != want {
		t.Fatalf("transport key %X, want %s", got, want)
	}
	tests := []struct{ kcode, serial string }{
		{"K8H3Q2M8", "KP2026000001"},
		{"K8H3Q2M7", "KP2026000002"},
		{"K8H3Q2M7KP", "2026000001"}, // the separator keeps the fields apart
	}
	for _, tc := range tests {
		if bytes.Equal(DeriveTransportKey(tc.kcode, tc.serial), got) {
			t.Errorf("%q/%q gives the same transport key", tc.kcode, tc.serial)
		}
	}
}

func TestParseSignOnKeys(t *testing.T) {
	f40 := make([]byte, 40)
	for i := range f40 {
		f40[i] = byte(i)
	}
	w, err := ParseSignOnKeys(AlgTDES, f40)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(w.PIN, f40[:16]) || !bytes.Equal(w.PINKCV, f40[16:20]) ||
		!bytes.Equal(w.MAC, f40[20:36]) || !bytes.Equal(w.MACKCV, f40[36:40]) || w.Data != nil {
		t.Fatalf("40-byte split wrong")
	}
	f60 := append(append([]byte{}, f40...), bytes.Repeat([]byte{0xAA}, 20)...)
	w, err = ParseSignOnKeys(AlgSM4, f60)
	if err != nil || len(w.Data) != 16 || len(w.DataKCV) != 4 {
		t.Fatalf("60-byte split: %v", err)
	}
	w, err = ParseSignOnKeys(AlgTDES, f40[:24])
	if err != nil || len(w.PIN) != 8 || !bytes.Equal(w.MACKCV, f40[20:24]) {
		t.Fatalf("24-byte split: %v", err)
	}
	for _, bad := range []struct {
		alg Algorithm
		n   int
	}{{AlgTDES, 0}, {AlgTDES, 56}, {AlgSM4, 24}, {"AES", 40}} {
		if _, err := ParseSignOnKeys(bad.alg, make([]byte, bad.n)); err == nil {
			t.Errorf("%s %d bytes accepted", bad.alg, bad.n)
		}
	}
}

func FuzzParseSignOnKeys(f *testing.F) {
	f.Add(make([]byte, 40))
	f.Add(make([]byte, 24))
	f.Add(make([]byte, 61))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, alg := range []Algorithm{AlgTDES, AlgSM4} {
			w, err := ParseSignOnKeys(alg, b)
			if err != nil {
				continue
			}
			n := len(w.PIN) + len(w.PINKCV) + len(w.MAC) + len(w.MACKCV) + len(w.Data) + len(w.DataKCV)
			if n != len(b) {
				t.Fatalf("split covers %d of %d bytes", n, len(b))
			}
		}
	})
}

func FuzzMACs(f *testing.F) {
	f.Add(make([]byte, 16), []byte("0200"))
	f.Add(make([]byte, 8), []byte{})
	f.Fuzz(func(t *testing.T, key, data []byte) {
		for _, alg := range []MACAlgorithm{MACAlgUnionPayECB, MACAlgX919, MACAlgSM4ECB} {
			m, err := ComputeMAC(alg, key, data)
			if err != nil {
				continue
			}
			if _, herr := hex.DecodeString(string(m[:])); alg != MACAlgX919 && herr != nil {
				t.Fatalf("%s MAC %q is not hexadecimal ASCII", alg, m)
			}
		}
	})
}
