package hostsim

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
)

// CAKey is one EMV certification authority public key the host distributes.
type CAKey struct {
	RID      string `toml:"rid"`      // hex, 5 bytes
	Index    string `toml:"index"`    // hex, 1 byte
	Modulus  string `toml:"modulus"`  // hex
	Exponent string `toml:"exponent"` // hex
	SHA1     string `toml:"sha1"`     // hex checksum
	Expiry   string `toml:"expiry"`   // YYYY-MM-DD
	// Algorithm is "rsa" (default) or "sm2": DF07 04 and DF06 07 (SM3),
	// the 64-byte SM2 point in DF02 and no DF04.
	Algorithm string `toml:"algorithm"`
}

// LoadCAKeys reads [[capk]] tables from TOML files (the format of
// testdata/emv/capk-*.toml).
func LoadCAKeys(paths ...string) ([]CAKey, error) {
	var out []CAKey
	for _, p := range paths {
		var f struct {
			CAPK []CAKey `toml:"capk"`
		}
		if _, err := toml.DecodeFile(p, &f); err != nil {
			return nil, fmt.Errorf("hostsim: CA keys: %w", err)
		}
		out = append(out, f.CAPK...)
	}
	return out, nil
}

// tlv returns the key in the dialect's download format: BER-TLV 9F06 RID,
// 9F22 index, DF05 expiry (YYYYMMDD), DF06 hash algorithm (01 SHA-1),
// DF07 key algorithm (01 RSA), DF02 modulus, DF04 exponent, DF03 checksum.
func (k CAKey) tlv() ([]byte, error) {
	var out []byte
	for _, e := range []struct {
		tag tlv.Tag
		hex string
	}{{0x9F06, k.RID}, {0x9F22, k.Index}} {
		b, err := hex.DecodeString(e.hex)
		if err != nil {
			return nil, fmt.Errorf("hostsim: CA key %s/%s: %w", k.RID, k.Index, err)
		}
		out = tlv.Append(out, e.tag, b)
	}
	out = tlv.Append(out, 0xDF05, []byte(strings.ReplaceAll(k.Expiry, "-", "")))
	hashAlg, keyAlg := byte(0x01), byte(0x01)
	if k.Algorithm == "sm2" {
		hashAlg, keyAlg = 0x07, acquirer.CAKeySM2
	}
	out = tlv.Append(out, 0xDF06, []byte{hashAlg})
	out = tlv.Append(out, 0xDF07, []byte{keyAlg})
	for _, e := range []struct {
		tag tlv.Tag
		hex string
	}{{0xDF02, k.Modulus}, {0xDF04, k.Exponent}, {0xDF03, k.SHA1}} {
		b, err := hex.DecodeString(e.hex)
		if err != nil {
			return nil, fmt.Errorf("hostsim: CA key %s/%s: %w", k.RID, k.Index, err)
		}
		if len(b) == 0 && e.tag == 0xDF04 {
			continue // an SM2 key has no exponent
		}
		out = tlv.Append(out, e.tag, b)
	}
	return out, nil
}

// caKeys answers the CA public key download: the status upload (0820,
// 372) lists RID, index and expiry of every key (9F06, 9F22, DF05), a page
// at a time; 370 returns the key named by the request's 9F06 and 9F22
// after the status byte; 371 acknowledges the end.
func (s *Server) caKeys(m *iso8583.Message, net string) (*answer, *termState, error) {
	tk, code := s.terminal(m)
	if code != "" {
		a, err := s.reply(m, code)
		return a, nil, err
	}
	var f62 []byte
	switch net {
	case acquirer.NetCAKeyQuery:
		var entries [][]byte
		for _, k := range s.caKeyList() {
			rid, err1 := hex.DecodeString(k.RID)
			idx, err2 := hex.DecodeString(k.Index)
			if err1 != nil || err2 != nil {
				continue
			}
			var e []byte
			e = tlv.Append(e, 0x9F06, rid)
			e = tlv.Append(e, 0x9F22, idx)
			e = tlv.Append(e, 0xDF05, []byte(strings.ReplaceAll(k.Expiry, "-", "")))
			entries = append(entries, e)
		}
		var ok bool
		if f62, ok = statusPage(acquirer.FieldBytes(m, 62), entries); !ok {
			a, err := s.reply(m, "30")
			return a, nil, err
		}
	case acquirer.NetCAKeyDownload:
		objs, err := tlv.Parse(acquirer.FieldBytes(m, 62))
		rid, ok1 := tlv.Find(objs, 0x9F06)
		idx, ok2 := tlv.Find(objs, 0x9F22)
		if err != nil || !ok1 || !ok2 {
			a, err := s.reply(m, "30")
			return a, nil, err
		}
		f62 = []byte{statusNone} // the host holds no such key
		for _, k := range s.caKeyList() {
			if strings.EqualFold(k.RID, hex.EncodeToString(rid.Value)) && strings.EqualFold(k.Index, hex.EncodeToString(idx.Value)) {
				b, err := k.tlv()
				if err != nil {
					return nil, nil, err
				}
				f62 = append([]byte{statusLast}, b...)
			}
		}
	}
	a, err := s.reply(m, "00")
	if err != nil {
		return nil, nil, err
	}
	if len(f62) > 0 {
		if err := a.msg.BinaryField(62, f62); err != nil {
			return nil, nil, err
		}
	}
	// Applied: a download answer that handed out a key or an AID's
	// parameters (scenarios count them: "expect host ca-keys applied N").
	handed := net == acquirer.NetCAKeyDownload && f62[0] == statusLast
	s.record(Record{Type: "ca-keys", TID: tk.rec.TID, Code: "00", Note: "network code " + net, Applied: handed})
	return a, nil, nil
}
