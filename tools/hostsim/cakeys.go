package hostsim

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"

	"kpos/firmware/acquirer/cupmsg"
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

// key is the key as the download carries it: RID, index, expiry
// (YYYYMMDD), modulus, exponent (none for SM2), checksum and algorithm
// (DF07 04 for SM2, 01 RSA).
func (k CAKey) key() (cupmsg.CAKey, error) {
	var out cupmsg.CAKey
	var idx []byte
	for _, e := range []struct {
		dst *[]byte
		hex string
	}{{&out.RID, k.RID}, {&idx, k.Index}, {&out.Modulus, k.Modulus}, {&out.Exponent, k.Exponent}, {&out.Checksum, k.SHA1}} {
		b, err := hex.DecodeString(e.hex)
		if err != nil {
			return out, fmt.Errorf("hostsim: CA key %s/%s: %w", k.RID, k.Index, err)
		}
		*e.dst = b
	}
	if len(idx) != 1 {
		return out, fmt.Errorf("hostsim: CA key %s/%s: the index is not one byte", k.RID, k.Index)
	}
	out.Index, out.Expiry, out.Algorithm = idx[0], strings.ReplaceAll(k.Expiry, "-", ""), 0x01
	if k.Algorithm == "sm2" {
		out.Algorithm = cupmsg.CAKeySM2
	}
	return out, nil
}

// caKeys answers the CA public key download: the status upload (0820,
// 372) lists RID, index and expiry of every key (9F06, 9F22, DF05), a page
// at a time; 370 returns the key named by the request's 9F06 and 9F22
// after the status byte; 371 acknowledges the end.
func (s *Server) caKeys(req cupmsg.Management, net string) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code != "" {
		return s.manageReply(req, code)
	}
	var f62 []byte
	switch net {
	case cupmsg.NetCAKeyQuery:
		var entries [][]byte
		for _, k := range s.caKeyList() {
			ck, err := k.key()
			if err != nil {
				continue
			}
			entries = append(entries, cupmsg.CAKeyID{RID: ck.RID, Index: ck.Index, Expiry: ck.Expiry}.TLV())
		}
		var ok bool
		if f62, ok = cupmsg.StatusPage(cupmsg.Bytes(req.Private), entries); !ok {
			return s.manageReply(req, "30")
		}
	case cupmsg.NetCAKeyDownload:
		rid, idx, err := cupmsg.ParseCAKeyQuery(cupmsg.Bytes(req.Private))
		if err != nil {
			return s.manageReply(req, "30")
		}
		var entry []byte // nil: the host holds no such key
		for _, k := range s.caKeyList() {
			if strings.EqualFold(k.RID, hex.EncodeToString(rid)) && strings.EqualFold(k.Index, hex.EncodeToString(idx)) {
				ck, err := k.key()
				if err != nil {
					return nil, nil, err
				}
				entry = ck.TLV()
			}
		}
		f62 = cupmsg.Downloaded(entry)
	}
	return s.downloadAnswer(req, tk, f62, "ca-keys", net, net == cupmsg.NetCAKeyDownload)
}

// downloadAnswer approves a step of a download sequence with field 62 and
// records it as kind; download says the step was the download itself,
// which counts as applied when it handed out an entry (scenarios count
// them: "expect host ca-keys applied N", "expect host ic-params applied N").
func (s *Server) downloadAnswer(req cupmsg.Management, tk *termState, f62 []byte, kind, net string, download bool) (*answer, *termState, error) {
	ans := req.Answer("00", s.cfg.Now())
	ans.Private = cupmsg.Binary(f62)
	a, _, err := s.manageAnswer(ans)
	if err != nil {
		return nil, nil, err
	}
	handed := download && len(f62) > 0 && f62[0] == cupmsg.StatusLast
	s.record(Record{Type: kind, TID: tk.rec.TID, Code: "00", Note: "network code " + net, Applied: handed})
	return a, nil, nil
}
