package emvcrypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"
)

// Sample values published in the standards themselves. gmsm carries the SM3
// and SM4 ones in its own tests (sm3/sm3_test.go "abc" and "abcd"x16;
// sm4/sm4_test.go Test_sample1 and Test_sample2); these tests check them again
// through the functions kpos calls, so a change of library or of wrapper
// cannot slip by.

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// GB/T 32905-2016 Annex A: example 1 ("abc") and example 2 (the 512-bit
// message "abcd" repeated 16 times).
func TestSM3GBT32905(t *testing.T) {
	for _, c := range []struct{ msg, want string }{
		{"abc", "66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0"},
		{strings.Repeat("abcd", 16), "debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732"},
	} {
		got := SM3([]byte(c.msg))
		if want := unhexT(t, c.want); !bytes.Equal(got[:], want) {
			t.Errorf("SM3(%q) = %x, want %x", c.msg, got, want)
		}
	}
}

// GB/T 32907-2016 Annex A: example 1 (one block, key = plaintext) and
// example 2 (the same block encrypted one million times).
func TestSM4GBT32907(t *testing.T) {
	key := unhexT(t, "0123456789abcdeffedcba9876543210")
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	blk := bytes.Clone(key)
	b.Encrypt(blk, blk)
	if want := unhexT(t, "681edf34d206965e86b3e94f536e4246"); !bytes.Equal(blk, want) {
		t.Fatalf("one block = %x, want %x", blk, want)
	}
	if testing.Short() {
		t.Skip("one million iterations skipped in -short")
	}
	copy(blk, key)
	for range 1000000 {
		b.Encrypt(blk, blk)
	}
	if want := unhexT(t, "595298c7c6fd271f0402f804c33d3f66"); !bytes.Equal(blk, want) {
		t.Fatalf("10^6 iterations = %x, want %x", blk, want)
	}
}

// The SM4 check value of a sign-on working key from a public UnionPay SM4
// sign-on example (testdata/keys/sm4-vectors.json): TMK
// 1234567890ABCDEFABCDEF0987654321 decrypts 3D66234C49E4296FF9C78D8BACBD6A76,
// and the clear key's check value starts 861E83E3.
func TestSM4KCVSignOnExample(t *testing.T) {
	tmk := unhexT(t, "1234567890ABCDEFABCDEF0987654321")
	b, err := sm4.NewCipher(tmk)
	if err != nil {
		t.Fatal(err)
	}
	key := unhexT(t, "3D66234C49E4296FF9C78D8BACBD6A76")
	b.Decrypt(key, key)
	if kcv := SM4KCV(key); !bytes.Equal(kcv, unhexT(t, "861E83E3")) {
		t.Fatalf("SM4KCV = %X, want 861E83E3", kcv)
	}
	if SM4KCV(key[:8]) != nil {
		t.Fatal("an 8-byte SM4 key has a check value")
	}
}

// The SM2 signature example on the recommended curve sm2p256v1 (GM/T
// 0003.5-2012 / GB/T 32918.5 example, user ID 1234567812345678, message
// "message digest"). GB/T 32918.2 Annex A signs "message digest" for
// ALICE123@YAHOO.COM on a separate 256-bit test curve (not sm2p256v1); gmsm
// implements only the recommended curve, so the recommended-curve example
// is the one reproduced here.
func TestSM2SignatureExample(t *testing.T) {
	d := unhexT(t, "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
	pubXY := unhexT(t, "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"+
		"CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
	sig := unhexT(t, "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"+
		"B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA")
	msg := []byte("message digest")

	priv, err := sm2.NewPrivateKey(d)
	if err != nil {
		t.Fatal(err)
	}
	if got := SM2PublicKeyBytes(&priv.PublicKey); !bytes.Equal(got, pubXY) {
		t.Fatalf("public key from d = %X, want %X", got, pubXY)
	}
	pub, err := SM2PublicKey(pubXY)
	if err != nil {
		t.Fatal(err)
	}
	za, err := sm2.CalculateZA(pub, SM2DefaultUserID)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhexT(t, "B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3"); !bytes.Equal(za, want) {
		t.Errorf("ZA = %X, want %X", za, want)
	}
	if err := SM2Verify(pub, SM2DefaultUserID, msg, sig); err != nil {
		t.Fatalf("published signature: %v", err)
	}
	// Any change of message, user ID or signature fails.
	bad := bytes.Clone(sig)
	bad[63] ^= 1
	for name, err := range map[string]error{
		"message":   SM2Verify(pub, SM2DefaultUserID, []byte("message digesT"), sig),
		"user ID":   SM2Verify(pub, []byte("ALICE123@YAHOO.COM"), msg, sig),
		"signature": SM2Verify(pub, SM2DefaultUserID, msg, bad),
		"length":    SM2Verify(pub, SM2DefaultUserID, msg, sig[:63]),
	} {
		if err == nil {
			t.Errorf("altered %s verified", name)
		}
	}
	// A signature of ours verifies under the published key, and the key's
	// own signature of another message does not verify as this one.
	own, err := SM2Sign(rand.Reader, priv, SM2DefaultUserID, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := SM2Verify(pub, SM2DefaultUserID, msg, own); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	if _, err := SM2PublicKey(append(bytes.Clone(pubXY[:63]), pubXY[63]^1)); err == nil {
		t.Error("a point off the curve was accepted")
	}
}
