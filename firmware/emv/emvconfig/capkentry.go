package emvconfig

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"kpos/firmware/emv/capk"
)

// capkEntry is the TOML form of one key (see docs/emv.md).
type capkEntry struct {
	RID      string `toml:"rid"`
	Index    string `toml:"index"`
	Modulus  string `toml:"modulus"`
	Exponent string `toml:"exponent"`
	SHA1     string `toml:"sha1"`
	Expiry   string `toml:"expiry"` // YYYY-MM-DD, optional
	Kind     string `toml:"kind"`   // "live" or "test"
	Scheme   string `toml:"scheme"`
	Comment  string `toml:"comment"`
	Alg      string `toml:"algorithm"` // "rsa" (default) or "sm2"
}

func (e capkEntry) key() (capk.Key, error) {
	if e.Alg != "" && e.Alg != "rsa" {
		return e.sm2Key()
	}
	var k capk.Key
	if err := hexInto(k.RID[:], e.RID, "capk rid"); err != nil {
		return k, err
	}
	var idx [1]byte
	if err := hexInto(idx[:], e.Index, "capk index"); err != nil {
		return k, err
	}
	k.Index = idx[0]
	name := fmt.Sprintf("capk %X/%02X", k.RID, k.Index)
	var err error
	if k.Modulus, err = hex.DecodeString(strings.ReplaceAll(e.Modulus, " ", "")); err != nil || len(k.Modulus) < 64 || len(k.Modulus) > 248 {
		return k, fmt.Errorf("%s: modulus must be 64 to 248 bytes of hex", name)
	}
	if k.Exponent, err = hex.DecodeString(e.Exponent); err != nil || !(bytes.Equal(k.Exponent, []byte{3}) || bytes.Equal(k.Exponent, []byte{1, 0, 1})) {
		return k, fmt.Errorf("%s: exponent must be 03 or 010001", name)
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
