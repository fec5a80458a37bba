package keys

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"kpos/firmware/emvcrypto"
)

// MACUnionPayECB computes the China UnionPay POS "ECB" MAC of data (the MAB:
// message type through field 63) under a DES (8-byte) or 3DES (16- or 24-byte)
// MAC key:
//
//  1. split the MAB into 8-byte blocks, the last one zero-padded, and XOR
//     them all together;
//  2. expand the 8-byte result to 16 uppercase hexadecimal characters;
//  3. encrypt the first 8 characters, XOR the result with the last 8
//     characters and encrypt again;
//  4. expand that block to 16 uppercase hexadecimal characters; the first 8
//     characters (ASCII) are the MAC, sent as field 64.
func MACUnionPayECB(key, data []byte) ([8]byte, error) {
	b, err := blockCipher(AlgTDES, key)
	if err != nil {
		return [8]byte{}, err
	}
	return xorExpandMAC(b, data), nil
}

// MACSM4ECB is the SM4 variant of the UnionPay POS MAC, with 16-byte blocks
// and a 16-byte SM4 MAC key: XOR the zero-padded 16-byte blocks, expand to 32
// hexadecimal characters, encrypt the first 16, XOR with the last 16,
// encrypt, expand to hexadecimal and keep the first 8 characters (ASCII) as
// field 64, exactly as the DES variant does.
func MACSM4ECB(key, data []byte) ([8]byte, error) {
	b, err := blockCipher(AlgSM4, key)
	if err != nil {
		return [8]byte{}, err
	}
	return xorExpandMAC(b, data), nil
}

// xorExpandMAC is the common shape of the UnionPay ECB MACs for a cipher of
// block size n.
func xorExpandMAC(b cipher.Block, data []byte) [8]byte {
	n := b.BlockSize()
	acc := xorBlocks(data, n)
	expanded := []byte(strings.ToUpper(hex.EncodeToString(acc)))
	blk := make([]byte, n)
	b.Encrypt(blk, expanded[:n])
	subtle.XORBytes(blk, blk, expanded[n:])
	b.Encrypt(blk, blk)
	var out [8]byte
	hexUpper(out[:], blk[:4])
	return out
}

// xorBlocks XORs the n-byte blocks of data together, the last one
// zero-padded.
func xorBlocks(data []byte, n int) []byte {
	acc := make([]byte, n)
	for i := 0; i < len(data); i += n {
		end := min(i+n, len(data))
		subtle.XORBytes(acc[:end-i], acc[:end-i], data[i:end])
	}
	return acc
}

func hexUpper(dst, src []byte) {
	const digits = "0123456789ABCDEF"
	for i, c := range src {
		dst[2*i] = digits[c>>4]
		dst[2*i+1] = digits[c&0x0F]
	}
}

// MACX919 computes the ANSI X9.19 retail MAC of data under a double-length
// key: single-DES CBC under the left half over the zero-padded data, the last
// block decrypted under the right half and encrypted under the left half
// (ISO 9797-1 MAC algorithm 3 with padding method 1). DUKPT MACs use it too.
func MACX919(key, data []byte) ([8]byte, error) {
	if len(key) != 16 {
		return [8]byte{}, fmt.Errorf("%w: X9.19 key is %d bytes, want 16", ErrKeyLength, len(key))
	}
	m, err := emvcrypto.MACAlg3(key, data, emvcrypto.PadMethod1)
	if err != nil {
		return [8]byte{}, fmt.Errorf("keys: X9.19: %w", err)
	}
	return m, nil
}

// MACAlgorithm names the MAC algorithm of the acquirer link.
type MACAlgorithm string

// The MAC algorithms a store can be configured with.
const (
	MACAlgUnionPayECB MACAlgorithm = "cup-ecb" // MACUnionPayECB, DES/3DES MAC key
	MACAlgX919        MACAlgorithm = "x9.19"   // MACX919, double-length MAC key
	MACAlgSM4ECB      MACAlgorithm = "sm4-ecb" // MACSM4ECB, SM4 MAC key
)

// ComputeMAC computes the MAC of data under key with the named algorithm.
func ComputeMAC(alg MACAlgorithm, key, data []byte) ([8]byte, error) {
	switch alg {
	case MACAlgUnionPayECB:
		return MACUnionPayECB(key, data)
	case MACAlgX919:
		return MACX919(key, data)
	case MACAlgSM4ECB:
		return MACSM4ECB(key, data)
	}
	return [8]byte{}, fmt.Errorf("%w: unknown MAC algorithm %q", ErrConfig, alg)
}
