// Package emvcrypto holds the symmetric cryptography of EMV application
// cryptograms: ICC master key derivation (options A and B), the EMV common
// session key, ISO 9797-1 MAC algorithms 1 and 3, ARQC, ARPC methods 1 and 2
// and key check values; and the national algorithms of PBOC 3.0 SM cards
// and the UnionPay SM mode (SM2 signatures over SM3, SM4 check values, sm.go).
//
// It is shared by the card simulator (which computes ARQCs), the host
// simulator (which verifies them and answers with ARPCs) and tests. It knows
// nothing of cards, APDUs, TLV, ISO 8583 or where keys are stored; it works on
// byte slices only. Error strings never contain key material or PAN digits.
package emvcrypto

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Sentinel errors that callers branch on. Returned errors wrap them.
var (
	// ErrKeyLength reports a key of the wrong length for the algorithm.
	ErrKeyLength = errors.New("emvcrypto: wrong key length")
	// ErrPAN reports a PAN that is not 1 to 19 decimal digits.
	ErrPAN = errors.New("emvcrypto: PAN must be 1 to 19 decimal digits")
	// ErrPSN reports a PAN sequence number that is not empty or 2 decimal digits.
	ErrPSN = errors.New("emvcrypto: PSN must be empty or 2 decimal digits")
	// ErrInput reports a data argument of the wrong length.
	ErrInput = errors.New("emvcrypto: wrong input length")
	// ErrPadding reports an unknown ISO 9797-1 padding method.
	ErrPadding = errors.New("emvcrypto: padding method must be 1 or 2")
)

// BlockSize is the DES block size in bytes.
const BlockSize = 8

// Padding methods of ISO 9797-1.
const (
	PadMethod1 = 1 // zero bytes to a block boundary (one zero block for empty data)
	PadMethod2 = 2 // 0x80 then zero bytes to a block boundary
)

// TDES returns a triple-DES block cipher for a double-length (16-byte, K1 K2
// K1) or triple-length (24-byte) key.
func TDES(key []byte) (cipher.Block, error) {
	var k [24]byte
	switch len(key) {
	case 16:
		copy(k[:16], key)
		copy(k[16:], key[:8])
	case 24:
		copy(k[:], key)
	default:
		return nil, fmt.Errorf("%w: 3DES key is %d bytes, want 16 or 24", ErrKeyLength, len(key))
	}
	b, err := des.NewTripleDESCipher(k[:])
	clear(k[:])
	if err != nil {
		return nil, fmt.Errorf("emvcrypto: 3DES: %w", err)
	}
	return b, nil
}

// desOrTDES returns single DES for an 8-byte key and triple DES for 16 or 24.
func desOrTDES(key []byte) (cipher.Block, error) {
	if len(key) == 8 {
		b, err := des.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("emvcrypto: DES: %w", err)
		}
		return b, nil
	}
	return TDES(key)
}

// KCV returns the 3-byte key check value of a DES (8-byte) or 3DES (16- or
// 24-byte) key: the key encrypting a block of zeros, first three bytes. It
// returns nil for a key of any other length.
func KCV(key []byte) []byte {
	b, err := desOrTDES(key)
	if err != nil {
		return nil
	}
	var out [BlockSize]byte
	b.Encrypt(out[:], out[:])
	return out[:3:3]
}

// AdjustParity returns a copy of key with every byte set to odd parity, as
// derived DES keys are.
func AdjustParity(key []byte) []byte {
	out := make([]byte, len(key))
	for i, c := range key {
		c &^= 1
		ones := 0
		for v := c; v != 0; v >>= 1 {
			ones += int(v & 1)
		}
		if ones%2 == 0 {
			c |= 1
		}
		out[i] = c
	}
	return out
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkPANPSN(pan, psn string) (string, error) {
	if len(pan) == 0 || len(pan) > 19 || !digits(pan) {
		return "", ErrPAN
	}
	if psn == "" {
		psn = "00"
	}
	if len(psn) != 2 || !digits(psn) {
		return "", ErrPSN
	}
	return psn, nil
}

// packDigits packs an even-length decimal string into BCD bytes.
func packDigits(s string) []byte {
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = (s[2*i]-'0')<<4 | (s[2*i+1] - '0')
	}
	return out
}

// deriveFromY derives the ICC master key from the 16-digit value Y (EMV Book 2
// A1.4.1): ZL = 3DES(Y), ZR = 3DES(Y xor FF..FF), odd parity.
func deriveFromY(issuerMK []byte, y string) ([]byte, error) {
	b, err := TDES(issuerMK)
	if err != nil {
		return nil, err
	}
	if len(issuerMK) != 16 {
		return nil, fmt.Errorf("%w: issuer master key is %d bytes, want 16", ErrKeyLength, len(issuerMK))
	}
	yb := packDigits(y)
	mk := make([]byte, 16)
	b.Encrypt(mk[:8], yb)
	for i := range yb {
		yb[i] ^= 0xFF
	}
	b.Encrypt(mk[8:], yb)
	out := AdjustParity(mk)
	clear(mk)
	return out, nil
}

// DeriveICCMasterKeyA derives the ICC master key from the issuer master key
// with EMV option A: Y is the rightmost 16 digits of PAN||PSN (left-padded
// with zeros when shorter). psn "" means "00".
func DeriveICCMasterKeyA(issuerMK []byte, pan string, psn string) ([]byte, error) {
	psn, err := checkPANPSN(pan, psn)
	if err != nil {
		return nil, err
	}
	x := pan + psn
	if len(x) < 16 {
		x = "0000000000000000"[:16-len(x)] + x
	}
	return deriveFromY(issuerMK, x[len(x)-16:])
}

// DeriveICCMasterKeyB derives the ICC master key with EMV option B: for a PAN
// of 16 digits or fewer it is option A; otherwise Y is the decimalized SHA-1
// of PAN||PSN (BCD, left-padded to an even number of digits). psn "" means
// "00".
func DeriveICCMasterKeyB(issuerMK []byte, pan string, psn string) ([]byte, error) {
	psn, err := checkPANPSN(pan, psn)
	if err != nil {
		return nil, err
	}
	if len(pan) <= 16 {
		return DeriveICCMasterKeyA(issuerMK, pan, psn)
	}
	x := pan + psn
	if len(x)%2 == 1 {
		x = "0" + x
	}
	sum := sha1.Sum(packDigits(x))
	const hexdigits = "0123456789ABCDEF"
	nib := make([]byte, 0, 2*len(sum))
	for _, c := range sum {
		nib = append(nib, c>>4, c&0x0F)
	}
	y := make([]byte, 0, 16)
	for _, n := range nib {
		if n < 10 && len(y) < 16 {
			y = append(y, hexdigits[n])
		}
	}
	for _, n := range nib {
		if n >= 10 && len(y) < 16 {
			y = append(y, hexdigits[n-10])
		}
	}
	return deriveFromY(issuerMK, string(y))
}

// SessionKeyCommon derives the EMV common session key (EMV Book 2 A1.3) from
// the ICC master key and the 2-byte application transaction counter:
// SK = 3DES(ATC||F0||00..00) || 3DES(ATC||0F||00..00), odd parity.
func SessionKeyCommon(iccMK []byte, atc []byte) ([]byte, error) {
	if len(atc) != 2 {
		return nil, fmt.Errorf("%w: ATC is %d bytes, want 2", ErrInput, len(atc))
	}
	var r [BlockSize]byte
	copy(r[:], atc)
	return SessionKeyCommonR(iccMK, r)
}

// SessionKeyCommonR derives the EMV common session key from an 8-byte
// diversification value R (ATC||00..00 for application cryptograms, or the
// unpredictable-number variant some schemes use): byte 2 of R is set to F0
// for the left half and 0F for the right half.
func SessionKeyCommonR(iccMK []byte, r [BlockSize]byte) ([]byte, error) {
	if len(iccMK) != 16 {
		return nil, fmt.Errorf("%w: ICC master key is %d bytes, want 16", ErrKeyLength, len(iccMK))
	}
	b, err := TDES(iccMK)
	if err != nil {
		return nil, err
	}
	sk := make([]byte, 16)
	r[2] = 0xF0
	b.Encrypt(sk[:8], r[:])
	r[2] = 0x0F
	b.Encrypt(sk[8:], r[:])
	out := AdjustParity(sk)
	clear(sk)
	return out, nil
}

// Pad applies ISO 9797-1 padding method 1 or 2 to data, returning a new slice.
func Pad(data []byte, padMethod int) ([]byte, error) {
	switch padMethod {
	case PadMethod1:
		n := len(data)
		if n%BlockSize != 0 || n == 0 {
			n += BlockSize - n%BlockSize
		}
		out := make([]byte, n)
		copy(out, data)
		return out, nil
	case PadMethod2:
		n := len(data) + 1
		n += (BlockSize - n%BlockSize) % BlockSize
		out := make([]byte, n)
		copy(out, data)
		out[len(data)] = 0x80
		return out, nil
	default:
		return nil, fmt.Errorf("%w: got %d", ErrPadding, padMethod)
	}
}

// cbcMAC runs a CBC chain with a zero IV over padded data and returns the
// last block.
func cbcMAC(b cipher.Block, padded []byte) [BlockSize]byte {
	var h [BlockSize]byte
	for i := 0; i < len(padded); i += BlockSize {
		subtle.XORBytes(h[:], h[:], padded[i:i+BlockSize])
		b.Encrypt(h[:], h[:])
	}
	return h
}

// MACAlg3 computes the ISO 9797-1 MAC algorithm 3 ("retail MAC", ANSI X9.19
// with this padding) with a double-length key K1||K2: single-DES CBC under K1,
// then the last block decrypted under K2 and encrypted under K1.
func MACAlg3(key []byte, data []byte, padMethod int) ([8]byte, error) {
	if len(key) != 16 {
		return [8]byte{}, fmt.Errorf("%w: MAC algorithm 3 key is %d bytes, want 16", ErrKeyLength, len(key))
	}
	padded, err := Pad(data, padMethod)
	if err != nil {
		return [8]byte{}, err
	}
	k1, err := des.NewCipher(key[:8])
	if err != nil {
		return [8]byte{}, fmt.Errorf("emvcrypto: DES: %w", err)
	}
	k2, err := des.NewCipher(key[8:])
	if err != nil {
		return [8]byte{}, fmt.Errorf("emvcrypto: DES: %w", err)
	}
	h := cbcMAC(k1, padded)
	k2.Decrypt(h[:], h[:])
	k1.Encrypt(h[:], h[:])
	return h, nil
}

// MACAlg1TDES computes the ISO 9797-1 MAC algorithm 1 (CBC-MAC) with triple
// DES under a 16- or 24-byte key.
func MACAlg1TDES(key []byte, data []byte, padMethod int) ([8]byte, error) {
	b, err := TDES(key)
	if err != nil {
		return [8]byte{}, err
	}
	padded, err := Pad(data, padMethod)
	if err != nil {
		return [8]byte{}, err
	}
	return cbcMAC(b, padded), nil
}

// MACAlg1DES computes the ISO 9797-1 MAC algorithm 1 (CBC-MAC) with single
// DES under an 8-byte key.
func MACAlg1DES(key []byte, data []byte, padMethod int) ([8]byte, error) {
	if len(key) != 8 {
		return [8]byte{}, fmt.Errorf("%w: DES key is %d bytes, want 8", ErrKeyLength, len(key))
	}
	b, err := des.NewCipher(key)
	if err != nil {
		return [8]byte{}, fmt.Errorf("emvcrypto: DES: %w", err)
	}
	padded, err := Pad(data, padMethod)
	if err != nil {
		return [8]byte{}, err
	}
	return cbcMAC(b, padded), nil
}

// ARQC computes an application cryptogram (ARQC, TC or AAC) over the
// concatenated CDOL data: MAC algorithm 3 with padding method 2 (EMV) under
// the session key.
func ARQC(sessionKey []byte, data []byte) ([8]byte, error) {
	return MACAlg3(sessionKey, data, PadMethod2)
}

// VerifyARQC recomputes the cryptogram and compares it in constant time.
// It returns ErrCryptogram when it does not match.
func VerifyARQC(sessionKey []byte, data []byte, arqc []byte) error {
	got, err := ARQC(sessionKey, data)
	if err != nil {
		return err
	}
	if len(arqc) != 8 || subtle.ConstantTimeCompare(got[:], arqc) != 1 {
		return ErrCryptogram
	}
	return nil
}

// ErrCryptogram reports an application cryptogram that does not verify.
var ErrCryptogram = errors.New("emvcrypto: cryptogram does not verify")

// ARPCMethod1 computes the ARPC with EMV method 1: 3DES under key (the
// session key or the ICC master key, as the issuer chose) of
// ARQC xor (ARC||00..00). arc is the 2-byte authorization response code.
func ARPCMethod1(key []byte, arqc []byte, arc []byte) ([8]byte, error) {
	if len(key) != 16 {
		return [8]byte{}, fmt.Errorf("%w: ARPC key is %d bytes, want 16", ErrKeyLength, len(key))
	}
	if len(arqc) != 8 {
		return [8]byte{}, fmt.Errorf("%w: ARQC is %d bytes, want 8", ErrInput, len(arqc))
	}
	if len(arc) != 2 {
		return [8]byte{}, fmt.Errorf("%w: ARC is %d bytes, want 2", ErrInput, len(arc))
	}
	b, err := TDES(key)
	if err != nil {
		return [8]byte{}, err
	}
	var x [8]byte
	copy(x[:], arqc)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	b.Encrypt(x[:], x[:])
	return x, nil
}

// ARPCMethod2 computes the 4-byte ARPC with EMV method 2: MAC algorithm 3,
// padding method 2, over ARQC||CSU||proprietary authentication data (0 to 8
// bytes), leftmost four bytes. csu is the 4-byte card status update.
func ARPCMethod2(key []byte, arqc []byte, csu []byte, propAuthData []byte) ([4]byte, error) {
	if len(arqc) != 8 {
		return [4]byte{}, fmt.Errorf("%w: ARQC is %d bytes, want 8", ErrInput, len(arqc))
	}
	if len(csu) != 4 {
		return [4]byte{}, fmt.Errorf("%w: CSU is %d bytes, want 4", ErrInput, len(csu))
	}
	if len(propAuthData) > 8 {
		return [4]byte{}, fmt.Errorf("%w: proprietary authentication data is %d bytes, at most 8", ErrInput, len(propAuthData))
	}
	data := make([]byte, 0, 20)
	data = append(data, arqc...)
	data = append(data, csu...)
	data = append(data, propAuthData...)
	mac, err := MACAlg3(key, data, PadMethod2)
	if err != nil {
		return [4]byte{}, err
	}
	var out [4]byte
	copy(out[:], mac[:4])
	return out, nil
}
