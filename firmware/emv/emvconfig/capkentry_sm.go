package emvconfig

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emvcrypto"
)

// sm2Key reads an SM2 CA public key entry (algorithm = "sm2"): the
// algorithm indicator 04 of the UnionPay CA key list, the 64-byte point
// X || Y in modulus, no exponent, and the SHA-1 checksum over RID, index and
// key as for RSA keys (EMV Book 2 11.2 with an empty exponent).
func (e capkEntry) sm2Key() (capk.Key, error) {
	var k capk.Key
	if e.Alg != "sm2" {
		return k, fmt.Errorf("capk %s/%s: algorithm must be rsa or sm2", e.RID, e.Index)
	}
	if err := hexInto(k.RID[:], e.RID, "capk rid"); err != nil {
		return k, err
	}
	var idx [1]byte
	if err := hexInto(idx[:], e.Index, "capk index"); err != nil {
		return k, err
	}
	k.Index, k.Algorithm = idx[0], capk.AlgSM2
	name := fmt.Sprintf("capk %X/%02X", k.RID, k.Index)
	var err error
	if k.Modulus, err = hex.DecodeString(strings.ReplaceAll(e.Modulus, " ", "")); err != nil {
		return k, fmt.Errorf("%s: SM2 key must be hex", name)
	}
	if _, err := emvcrypto.SM2PublicKey(k.Modulus); err != nil {
		return k, fmt.Errorf("%s: SM2 key must be a 64-byte point on sm2p256v1", name)
	}
	if e.Exponent != "" {
		return k, fmt.Errorf("%s: an SM2 key has no exponent", name)
	}
	if err := hexInto(k.Checksum[:], e.SHA1, name+" sha1"); err != nil {
		return k, err
	}
	if e.Expiry != "" {
		if k.Expiry, err = time.Parse("2006-01-02", e.Expiry); err != nil {
			return k, fmt.Errorf("%s: expiry must be YYYY-MM-DD", name)
		}
	}
	switch e.Kind {
	case "live":
	case "test":
		k.Test = true
	default:
		return k, fmt.Errorf("%s: kind must be live or test", name)
	}
	k.Scheme = e.Scheme
	return k, nil
}
