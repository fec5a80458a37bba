package acquirer

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/keys"
)

// cupMAC MACs with a clear key, as the published vector gives it.
type cupMAC struct{ key []byte }

func (c cupMAC) MAC(mab []byte) ([]byte, error) {
	m, err := keys.MACUnionPayECB(c.key, mab)
	return m[:], err
}

func (c cupMAC) VerifyMAC(mab, mac []byte) error {
	m, err := c.MAC(mab)
	if err != nil {
		return err
	}
	if !bytes.Equal(m, mac) {
		return keys.ErrMAC
	}
	return nil
}

// TestPublishedMACVector re-packs the published 0200 whose field 64 was
// computed by a real terminal, with our MAC over our own MAC block: the
// result must be the published message, field 64 included.
func TestPublishedMACVector(t *testing.T) {
	var v struct {
		Vectors []struct {
			Source   string `json:"source"`
			MAK      string `json:"mak"`
			MAB      string `json:"mab"`
			Expected string `json:"expected_f64_ascii"`
		} `json:"vectors"`
	}
	data, err := os.ReadFile("../../testdata/iso8583/cup-mac-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	vec := v.Vectors[0]
	samples, _ := loadSamples(t)
	var wire []byte
	for _, s := range samples {
		if s.Name == "cnblogs_q128930_0200_with_verified_mac" {
			wire, _ = hex.DecodeString(s.Hex)
		}
	}
	fr, err := ReadFrame(bytes.NewReader(wire))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCodec()
	m, err := c.Unpack(fr.Body)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(vec.MAK)
	mac := cupMAC{key: key}
	mab, f64, err := cupmsg.MAB(m, fr.Body)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := hex.DecodeString(vec.MAB); !bytes.Equal(mab, want) {
		t.Fatalf("MAC block differs from the published one:\n got %X\nwant %X", mab, want)
	}
	if string(f64) != vec.Expected {
		t.Fatalf("field 64 %q, vector %q", f64, vec.Expected)
	}
	if err := VerifyMAC(m, fr.Body, mac); err != nil {
		t.Fatalf("published MAC does not verify: %v", err)
	}
	m.UnsetField(64)
	again, err := c.Pack(m, mac)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, fr.Body) {
		t.Fatalf("re-packed with our MAC:\n got %X\nwant %X", again, fr.Body)
	}
	// One flipped bit anywhere in the block and the MAC fails.
	bad := append([]byte(nil), fr.Body...)
	bad[20] ^= 0x01
	if m2, err := c.Unpack(bad); err == nil {
		if err := VerifyMAC(m2, bad, mac); !errors.Is(err, ErrMAC) {
			t.Fatalf("altered message verified: %v", err)
		}
	}
}
