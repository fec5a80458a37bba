package keys

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/sm4"
)

// The SM4 POS MAC's first stage against a public worked example (a write-up
// of the "POS terminal SM4 MAC" with key 12345678901234567890123456789012 and
// the ASCII message below: its 16-byte XOR of the zero-padded blocks is
// 02000202 03000406 01060204 03343734). The write-up stops before the final
// value, so the steps after it are checked against their definition here;
// docs/keys.md says which readings of the final step exist.
func TestMACSM4ECBPublishedXOR(t *testing.T) {
	data := []byte("6000112018111411003020170930101010120171025000755000000005553")
	acc := xorBlocks(data, 16)
	want, _ := hex.DecodeString("02000202030004060106020403343734")
	if !bytes.Equal(acc, want) {
		t.Fatalf("XOR of the blocks %X, want %X", acc, want)
	}
	// The rest by its definition: hex expansion (all digits here, so the
	// case of the expansion does not matter), SM4 of the first 16
	// characters, XOR with the last 16, SM4, the first 8 hex characters.
	key, _ := hex.DecodeString("12345678901234567890123456789012")
	b, err := sm4.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	exp := []byte(strings.ToUpper(hex.EncodeToString(acc)))
	blk := make([]byte, 16)
	b.Encrypt(blk, exp[:16])
	for i := range blk {
		blk[i] ^= exp[16+i]
	}
	b.Encrypt(blk, blk)
	wantMAC := strings.ToUpper(hex.EncodeToString(blk))[:8]
	got, err := MACSM4ECB(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if string(got[:]) != wantMAC {
		t.Fatalf("MACSM4ECB = %s, want %s", got, wantMAC)
	}
}
