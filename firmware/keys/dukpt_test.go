package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/bits"
	"testing"

	"kpos/firmware/pinblock"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// ANSI X9.24-1:2009 test keys (published test values, never production):
// BDK 0123456789ABCDEFFEDCBA9876543210, initial KSN FFFF9876543210E00000.
const (
	testBDK  = "0123456789ABCDEFFEDCBA9876543210"
	testIKSN = "FFFF9876543210E00000"
	testIPEK = "6AC292FAA1315B4D858AB3A3D7D5933A"
)

// dukptVectors is the X9.24-1:2009 "initial sequence" (PIN 1234, PAN
// 4012345678909, ISO 9564 format 0; data "4012345678909D987" in ASCII), as
// published with the standard and reproduced by moov-io/dukpt's tests.
var dukptVectors = []struct {
	ksn, key, pin, dataReq, dataResp, macReq, macResp string
}{
	{"FFFF9876543210E00001", "042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A",
		"FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F", "1FCC89AF66222F27B903898BB2BC8589CDBFDE5EC6AFCC25", "9CCC78173FC4FB64", "20364223C1FF00FA"},
	{"FFFF9876543210E00002", "C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107",
		"A2B4E70F846E63D68775B7215EB4563DFD3037244C61CC13", "5B692A6B1FDD5E25B0DEFAFDE1672E402F8011360CFF3508", "F608A9BCA6FFC311", "D1FCA6BEF05D24D2"},
	{"FFFF9876543210E00003", "0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466",
		"BD751E65F10E75B6C1D5B1D283496A36C2DE21D993C387A7", "345992D4163E4926C927BFD8ABD5D76F087A9CE81D5A27B8", "20B59A4FEAC937E3", "BAD4CC9CC2AE326C"},
	{"FFFF9876543210E00004", "279C0F6AEED0BE652B2C733E1383AE91", "0BC79509D5645DF7",
		"1118F50947441BBDA3C8C70220021A12EC31CC473F7215F4", "418C7413576C0D1819E785D3807AF32334231FDEC23414DB", "C7BFA6CC44161828", "1EB08AEECE6FF0C2"},
	{"FFFF9876543210E00005", "5F8DC6D2C845C125508DDC048093B83F", "5BC0AF22AD87B327",
		"9FD7BD1EC28845ACA93367A9DA9317BD555C6B33AE22D365", "7D4C109E49E83355A556AE949EED359F4404E7A2F0167C00", "0202B96339022058", "5CBE3E81D1D2A0FB"},
}

func TestDUKPTIPEK(t *testing.T) {
	ipek, err := DUKPTIPEK(mustHex(t, testBDK), mustHex(t, testIKSN))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ipek); got != "6ac292faa1315b4d858ab3a3d7d5933a" {
		t.Fatalf("IPEK %s", got)
	}
	// The counter bits of the KSN do not matter.
	ipek2, err := DUKPTIPEK(mustHex(t, testBDK), mustHex(t, "FFFF9876543210E1FFFF"))
	if err != nil || !bytes.Equal(ipek, ipek2) {
		t.Fatalf("IPEK depends on the counter: %v", err)
	}
}

func cbc3DES(t *testing.T, key, data []byte) []byte {
	t.Helper()
	b, err := blockCipher(AlgTDES, key)
	if err != nil {
		t.Fatal(err)
	}
	padded := make([]byte, (len(data)+7)/8*8)
	copy(padded, data)
	var iv [8]byte
	out := make([]byte, len(padded))
	for i := 0; i < len(padded); i += 8 {
		for j := range 8 {
			iv[j] ^= padded[i+j]
		}
		b.Encrypt(out[i:i+8], iv[:])
		copy(iv[:], out[i:i+8])
	}
	return out
}

func TestDUKPTPublishedSequence(t *testing.T) {
	bdk := mustHex(t, testBDK)
	orig, err := NewDUKPTOriginator(mustHex(t, testIPEK), mustHex(t, testIKSN))
	if err != nil {
		t.Fatal(err)
	}
	clearBlock, err := pinblock.Format0([]byte("1234"), "4012345678909")
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("4012345678909D987")
	for _, v := range dukptVectors {
		t.Run(v.ksn, func(t *testing.T) {
			ksn := mustHex(t, v.ksn)
			host, err := DUKPTDeriveKey(bdk, ksn)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(host, mustHex(t, v.key)) {
				t.Fatalf("host key %X, want %s", host, v.key)
			}
			term, termKSN, err := orig.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(termKSN, ksn) || !bytes.Equal(term, host) {
				t.Fatalf("terminal KSN %X key differs from host", termKSN)
			}
			pinKey, _ := DUKPTVariant(host, DUKPTPIN)
			enc, err := EncryptKey(AlgTDES, pinKey, clearBlock[:])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, mustHex(t, v.pin)) {
				t.Errorf("PIN block %X, want %s", enc, v.pin)
			}
			for _, m := range []struct {
				u    DUKPTUsage
				want string
			}{{DUKPTMACRequest, v.macReq}, {DUKPTMACResponse, v.macResp}} {
				k, _ := DUKPTVariant(host, m.u)
				mac, err := MACX919(k, data)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(mac[:], mustHex(t, m.want)) {
					t.Errorf("MAC usage %d: %X, want %s", m.u, mac, m.want)
				}
			}
			for _, d := range []struct {
				u    DUKPTUsage
				want string
			}{{DUKPTDataRequest, v.dataReq}, {DUKPTDataResponse, v.dataResp}} {
				k, _ := DUKPTVariant(host, d.u)
				if got := cbc3DES(t, k, data); !bytes.Equal(got, mustHex(t, d.want)) {
					t.Errorf("data usage %d: %X, want %s", d.u, got, d.want)
				}
			}
		})
	}
}

// TestDUKPTOriginatorMatchesHost walks the terminal through many
// transactions and checks every key against the host derivation, that no
// used counter has more than ten one bits, and that KSNs strictly increase.
func TestDUKPTOriginatorMatchesHost(t *testing.T) {
	ipek := mustHex(t, testIPEK)
	orig, err := NewDUKPTOriginator(ipek, mustHex(t, testIKSN))
	if err != nil {
		t.Fatal(err)
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	var last uint32
	for i := 0; i < n; i++ {
		key, ksn, err := orig.Next()
		if err != nil {
			t.Fatal(err)
		}
		c := counterOf(ksn)
		if c <= last || bits.OnesCount32(c) > maxCounterOnes {
			t.Fatalf("transaction %d: counter %d after %d", i, c, last)
		}
		last = c
		if i%7 == 0 || bits.OnesCount32(c) >= 9 {
			host, err := DUKPTDeriveKeyFromIPEK(ipek, ksn)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(host, key) {
				t.Fatalf("counter %d: terminal and host keys differ", c)
			}
		}
	}
}

// TestDUKPTSkipsCountersWithTooManyOnes starts from a counter just below one
// with ten one bits and checks the jump the standard requires.
func TestDUKPTSkipsCountersWithTooManyOnes(t *testing.T) {
	ipek := mustHex(t, testIPEK)
	orig, err := NewDUKPTOriginator(ipek, mustHex(t, testIKSN))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for {
		_, ksn, err := orig.Next()
		if err != nil {
			t.Fatal(err)
		}
		c := counterOf(ksn)
		if c == 0x3FF { // ten ones: the next counter is 0x400
			_, ksn, err = orig.Next()
			if err != nil {
				t.Fatal(err)
			}
			if got := counterOf(ksn); got != 0x400 {
				t.Fatalf("after 0x3FF came %#x", got)
			}
			return
		}
		if seen++; seen > 2000 {
			t.Fatal("never reached counter 0x3FF")
		}
	}
}

// TestDUKPTExhaustion starts the originator late in its life (counter
// 0x1F0000, its key taken from the host derivation) and runs it to the end:
// every remaining key matches the host, and the number of keys is the number
// of counters with at most ten one bits, sum of C(16,k) for k = 0..5.
func TestDUKPTExhaustion(t *testing.T) {
	ipek := mustHex(t, testIPEK)
	const start = 0x1F0000
	orig := &DUKPTOriginator{}
	copy(orig.ksn[:], mustHex(t, testIKSN))
	orig.setCounter(start)
	k, err := DUKPTDeriveKeyFromIPEK(ipek, orig.KSN())
	if err != nil {
		t.Fatal(err)
	}
	orig.future[16] = k
	count := 0
	for {
		key, ksn, err := orig.Next()
		if errors.Is(err, ErrDUKPTExhausted) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if count%97 == 0 {
			host, err := DUKPTDeriveKeyFromIPEK(ipek, ksn)
			if err != nil || !bytes.Equal(host, key) {
				t.Fatalf("counter %#x: terminal and host keys differ (%v)", counterOf(ksn), err)
			}
		}
		count++
	}
	if want := 1 + 16 + 120 + 560 + 1820 + 4368; count != want {
		t.Fatalf("%d keys before exhaustion, want %d", count, want)
	}
	if _, _, err := orig.Next(); !errors.Is(err, ErrDUKPTExhausted) {
		t.Fatalf("after exhaustion: %v", err)
	}
}

func TestDUKPTErrors(t *testing.T) {
	k16, ksn := make([]byte, 16), make([]byte, KSNLen)
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"ipek short bdk", func() error { _, e := DUKPTIPEK(k16[:8], ksn); return e }, ErrKeyLength},
		{"ipek short ksn", func() error { _, e := DUKPTIPEK(k16, ksn[:8]); return e }, ErrFormat},
		{"derive short ipek", func() error { _, e := DUKPTDeriveKeyFromIPEK(k16[:8], ksn); return e }, ErrKeyLength},
		{"derive eleven ones", func() error { _, e := DUKPTDeriveKeyFromIPEK(k16, mustHex(t, "FFFF9876543210E007FF")); return e }, ErrFormat},
		{"originator short ksn", func() error { _, e := NewDUKPTOriginator(k16, ksn[:9]); return e }, ErrFormat},
		{"variant short key", func() error { _, e := DUKPTVariant(k16[:8], DUKPTPIN); return e }, ErrKeyLength},
		{"variant unknown usage", func() error { _, e := DUKPTVariant(k16, 99); return e }, ErrConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
