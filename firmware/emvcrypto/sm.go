package emvcrypto

import (
	"crypto/ecdsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

// The Chinese national algorithms of PBOC 3.0 (JR/T 0025.17) and the
// UnionPay SM mode: SM2 signatures (GB/T 32918) over SM3 (GB/T 32905) on the
// recommended curve sm2p256v1 (GB/T 32918.5), and SM4 (GB/T 32907).

// SM2 sizes: a public key is the point X || Y without the 04 prefix (as the
// SM certificates of JR/T 0025.17 carry it), a signature is r || s.
const (
	SM2PublicKeyLen = 64
	SM2SignatureLen = 64
)

// SM2DefaultUserID is the user ID that JR/T 0025.17 (and GM/T 0009) name for
// SM2 signatures when none is agreed: the ASCII digits 1 to 8 twice. It
// enters the hash through ZA (GB/T 32918.2 5.5).
var SM2DefaultUserID = []byte("1234567812345678")

// ErrSM2Signature reports an SM2 signature that does not verify, or a key or
// signature that is malformed.
var ErrSM2Signature = errors.New("emvcrypto: SM2 signature does not verify")

// SM2PublicKey parses a 64-byte X || Y public key on sm2p256v1; a point off
// the curve is refused.
func SM2PublicKey(xy []byte) (*ecdsa.PublicKey, error) {
	if len(xy) != SM2PublicKeyLen {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrSM2Signature, len(xy), SM2PublicKeyLen)
	}
	k, err := sm2.NewPublicKey(append([]byte{0x04}, xy...))
	if err != nil {
		return nil, fmt.Errorf("%w: public key not on the curve", ErrSM2Signature)
	}
	return k, nil
}

// SM2PublicKeyBytes returns the 64-byte X || Y form of a public key, nil
// for a key that is not on sm2p256v1.
func SM2PublicKeyBytes(k *ecdsa.PublicKey) []byte {
	e, err := sm2.PublicKeyToECDH(k)
	if err != nil {
		return nil
	}
	return e.Bytes()[1:] // 04 || X || Y
}

// SM2Verify checks a 64-byte r || s signature over msg with the user ID uid:
// e = SM3(ZA || msg), then GB/T 32918.2 clause 7.
func SM2Verify(pub *ecdsa.PublicKey, uid, msg, sig []byte) error {
	if pub == nil || len(sig) != SM2SignatureLen {
		return fmt.Errorf("%w: signature of %d bytes", ErrSM2Signature, len(sig))
	}
	xy := SM2PublicKeyBytes(pub)
	if xy == nil {
		return fmt.Errorf("%w: public key not on the curve", ErrSM2Signature)
	}
	e, err := sm2Digest(sm2p256v1, xy, uid, msg)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSM2Signature, err)
	}
	der, err := asn1.Marshal(rs{new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSM2Signature, err)
	}
	if !sm2.VerifyASN1(pub, e, der) {
		return ErrSM2Signature
	}
	return nil
}

// SM2Sign signs msg with the user ID uid and returns r || s (64 bytes). It
// is for the card and host simulators and the personalisation tool.
func SM2Sign(rand io.Reader, priv *sm2.PrivateKey, uid, msg []byte) ([]byte, error) {
	e, err := sm2Digest(sm2p256v1, SM2PublicKeyBytes(&priv.PublicKey), uid, msg)
	if err != nil {
		return nil, fmt.Errorf("emvcrypto: SM2: %w", err)
	}
	der, err := sm2.SignASN1(rand, priv, e, nil)
	if err != nil {
		return nil, fmt.Errorf("emvcrypto: SM2: %w", err)
	}
	var sig rs
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, fmt.Errorf("emvcrypto: SM2: %w", err)
	}
	out := make([]byte, SM2SignatureLen)
	sig.R.FillBytes(out[:32])
	sig.S.FillBytes(out[32:])
	return out, nil
}

// sm2Curve is what the SM2 digest takes of a curve: the coefficients a and
// b and the base point, each as many bytes long as the field.
type sm2Curve struct {
	a, b, gx, gy []byte
}

// newSM2Curve takes the curve y² = x³ + ax + b over the prime field of
// size bytes, with base point (gx, gy).
func newSM2Curve(size int, a, b, gx, gy *big.Int) sm2Curve {
	fill := func(v *big.Int) []byte { return v.FillBytes(make([]byte, size)) }
	return sm2Curve{a: fill(a), b: fill(b), gx: fill(gx), gy: fill(gy)}
}

// sm2p256v1 is the recommended curve of GB/T 32918.5, whose a is p − 3.
var sm2p256v1 = func() sm2Curve {
	p := sm2.P256().Params()
	return newSM2Curve(32, new(big.Int).Sub(p.P, big.NewInt(3)), p.B, p.Gx, p.Gy)
}()

// sm2ZA is the signer's hash ZA = SM3(ENTLA ‖ IDA ‖ a ‖ b ‖ xG ‖ yG ‖ xA ‖
// yA) of GB/T 32918.2 clause 5.5, ENTLA being the length of the user ID in
// bits on two bytes. xy is the public key X ‖ Y.
func sm2ZA(c sm2Curve, xy, uid []byte) ([]byte, error) {
	if len(xy) != 2*len(c.a) {
		return nil, fmt.Errorf("public key is %d bytes, want %d", len(xy), 2*len(c.a))
	}
	bits := len(uid) * 8
	if bits > 0xFFFF {
		return nil, fmt.Errorf("user ID of %d bytes: its length in bits does not fit ENTLA", len(uid))
	}
	h := sm3.New()
	h.Write([]byte{byte(bits >> 8), byte(bits)})
	h.Write(uid)
	for _, v := range [][]byte{c.a, c.b, c.gx, c.gy, xy} {
		h.Write(v)
	}
	return h.Sum(nil), nil
}

// sm2Digest is the e that an SM2 signature signs: SM3(ZA ‖ msg) (GB/T
// 32918.2 clause 6.1, steps A1 and A2).
func sm2Digest(c sm2Curve, xy, uid, msg []byte) ([]byte, error) {
	za, err := sm2ZA(c, xy, uid)
	if err != nil {
		return nil, err
	}
	h := sm3.New()
	h.Write(za)
	h.Write(msg)
	return h.Sum(nil), nil
}

// rs is the ASN.1 form of an SM2 signature (GB/T 35276), which gmsm speaks;
// the card formats carry the bare r || s.
type rs struct{ R, S *big.Int }

// SM3 returns the SM3 hash of data.
func SM3(data []byte) [32]byte { return sm3.Sum(data) }

// SM4KCV returns the UnionPay SM4 key check value: the first four bytes of
// the key encrypting a block of 16 zero bytes. It returns nil for a key that
// is not 16 bytes.
func SM4KCV(key []byte) []byte {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil
	}
	out := make([]byte, sm4.BlockSize)
	b.Encrypt(out, out)
	return out[:4:4]
}
