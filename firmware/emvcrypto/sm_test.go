package emvcrypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"math/big"
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
// "message digest"), through the functions kpos calls: its own ZA and
// digest, gmsm's verification on sm2p256v1. The example of GB/T 32918.2
// Annex A, on the standard's test curve, is TestSM2StandardTestCurveExample.
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
	za, err := sm2ZA(sm2p256v1, pubXY, SM2DefaultUserID)
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

// The digital signature example of GB/T 32918.2 (GM/T 0003.2-2012) Annex A:
// user ID ALICE123@YAHOO.COM signs "message digest" on the standard's
// 256-bit test curve over Fp. gmsm computes on sm2p256v1 only, so the
// curve arithmetic here is a plain affine one written for this test from
// clauses 6.1 and 7.1 of the standard; what it checks of kpos is the ZA
// and the digest e (sm2ZA and sm2Digest, which SM2Verify and SM2Sign use on
// sm2p256v1), and the standard's equations end to end: the published
// public key from dA, r and s from the published k, and the verification.
func TestSM2StandardTestCurveExample(t *testing.T) {
	n := func(h string) *big.Int {
		v, ok := new(big.Int).SetString(strings.ReplaceAll(h, " ", ""), 16)
		if !ok {
			t.Fatalf("bad number %q", h)
		}
		return v
	}
	c := affineCurve{
		p: n("8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3"),
		a: n("787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498"),
		b: n("63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A"),
	}
	g := affinePoint{n("421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D"),
		n("0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2")}
	order := n("8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7")
	dA := n("128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263")
	pA := affinePoint{n("0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A"),
		n("7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857")}
	k := n("6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F")
	wantR := n("40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1")
	wantS := n("6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7")
	uid, msg := []byte("ALICE123@YAHOO.COM"), []byte("message digest")

	if !c.on(g) || !c.on(pA) {
		t.Fatal("the published base point or public key is off the published curve")
	}
	if got := c.mul(dA, g); !got.equal(pA) {
		t.Fatalf("[dA]G = %X, %X; want the published public key", got.x, got.y)
	}
	curve := newSM2Curve(32, c.a, c.b, g.x, g.y)
	xy := append(pA.x.FillBytes(make([]byte, 32)), pA.y.FillBytes(make([]byte, 32))...)
	za, err := sm2ZA(curve, xy, uid)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhexT(t, "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"); !bytes.Equal(za, want) {
		t.Fatalf("ZA = %X, want %X", za, want)
	}
	digest, err := sm2Digest(curve, xy, uid, msg)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhexT(t, "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"); !bytes.Equal(digest, want) {
		t.Fatalf("e = %X, want %X", digest, want)
	}
	e := new(big.Int).SetBytes(digest)

	// Signing, clause 6.1 A4 to A6, with the published k.
	x1 := c.mul(k, g).x
	r := new(big.Int).Add(e, x1)
	r.Mod(r, order)
	inv := new(big.Int).ModInverse(new(big.Int).Add(dA, big.NewInt(1)), order)
	s := new(big.Int).Sub(k, new(big.Int).Mul(r, dA))
	s.Mul(s, inv).Mod(s, order)
	if r.Cmp(wantR) != 0 || s.Cmp(wantS) != 0 {
		t.Fatalf("(r, s) = (%X, %X), want the published (%X, %X)", r, s, wantR, wantS)
	}

	// Verification, clause 7.1 B5 to B7: R = (e' + x1') mod n equals r.
	verify := func(e, r, s *big.Int) bool {
		tt := new(big.Int).Add(r, s)
		tt.Mod(tt, order)
		if tt.Sign() == 0 {
			return false
		}
		pt := c.add(c.mul(s, g), c.mul(tt, pA))
		if pt.x == nil {
			return false
		}
		rr := new(big.Int).Add(e, pt.x)
		return rr.Mod(rr, order).Cmp(r) == 0
	}
	if !verify(e, wantR, wantS) {
		t.Fatal("the published signature does not verify")
	}
	other, err := sm2Digest(curve, xy, SM2DefaultUserID, msg)
	if err != nil {
		t.Fatal(err)
	}
	if verify(new(big.Int).SetBytes(other), wantR, wantS) {
		t.Fatal("the signature verifies under another user ID")
	}
	if verify(e, wantR, new(big.Int).Add(wantS, big.NewInt(1))) {
		t.Fatal("an altered s verifies")
	}
}

// affineCurve is y² = x³ + ax + b over Fp in affine coordinates: slow and
// plain, for the standard's test curve only.
type affineCurve struct{ p, a, b *big.Int }

// affinePoint is a point; x == nil is the point at infinity.
type affinePoint struct{ x, y *big.Int }

func (q affinePoint) equal(o affinePoint) bool {
	if q.x == nil || o.x == nil {
		return q.x == nil && o.x == nil
	}
	return q.x.Cmp(o.x) == 0 && q.y.Cmp(o.y) == 0
}

func (c affineCurve) on(q affinePoint) bool {
	lhs := new(big.Int).Mul(q.y, q.y)
	rhs := new(big.Int).Mul(q.x, q.x)
	rhs.Add(rhs, c.a).Mul(rhs, q.x).Add(rhs, c.b)
	return lhs.Sub(lhs, rhs).Mod(lhs, c.p).Sign() == 0
}

func (c affineCurve) add(q, o affinePoint) affinePoint {
	switch {
	case q.x == nil:
		return o
	case o.x == nil:
		return q
	}
	var lambda *big.Int
	if q.x.Cmp(o.x) == 0 {
		if new(big.Int).Add(q.y, o.y).Mod(new(big.Int).Add(q.y, o.y), c.p).Sign() == 0 {
			return affinePoint{}
		}
		num := new(big.Int).Mul(q.x, q.x)
		num.Mul(num, big.NewInt(3)).Add(num, c.a)
		den := new(big.Int).Lsh(q.y, 1)
		lambda = num.Mul(num, den.ModInverse(den.Mod(den, c.p), c.p))
	} else {
		num := new(big.Int).Sub(o.y, q.y)
		den := new(big.Int).Sub(o.x, q.x)
		lambda = num.Mul(num, den.ModInverse(den.Mod(den, c.p), c.p))
	}
	lambda.Mod(lambda, c.p)
	x := new(big.Int).Mul(lambda, lambda)
	x.Sub(x, q.x).Sub(x, o.x).Mod(x, c.p)
	y := new(big.Int).Sub(q.x, x)
	y.Mul(y, lambda).Sub(y, q.y).Mod(y, c.p)
	return affinePoint{x, y}
}

func (c affineCurve) mul(k *big.Int, q affinePoint) affinePoint {
	var acc affinePoint
	for i := k.BitLen() - 1; i >= 0; i-- {
		acc = c.add(acc, acc)
		if k.Bit(i) == 1 {
			acc = c.add(acc, q)
		}
	}
	return acc
}
