package emv

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/tlv"
)

// vectorTime is a date inside every published certificate's validity.
var vectorTime = time.Date(2001, 1, 1, 12, 0, 0, 0, time.UTC)

func publishedStore(t *testing.T) *capk.Store {
	t.Helper()
	cfg, err := emvconfig.LoadConfig(filepath.Join(testdataDir, "terminal.toml"), filepath.Join(testdataDir, "capk-published.toml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg.CAPKs
}

func capkFor(t *testing.T, st *capk.Store, v vector) *capk.PublicKey {
	t.Helper()
	idx := v.hex(t, "capk_index")
	k := st.Lookup(v.hex(t, "capk_rid"), idx[0])
	if k == nil {
		t.Fatalf("CA key %s/%X not in the store", v["capk_rid"], idx)
	}
	if m, ok := v["capk_modulus"].(string); ok && !strings.EqualFold(m, strings.ToUpper(hexs(k.Modulus))) {
		t.Fatalf("stored CA key differs from the vector's")
	}
	return k
}

func hexs(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// TestODAChainsA runs the SDA, DDA and CDA chains of the first vector
// file through issuer key recovery, SSAD, ICC key recovery, SDAD and the
// CDA transaction data hash.
func TestODAChainsA(t *testing.T) {
	st := publishedStore(t)
	for _, v := range loadVectors(t, "oda-chains-a.json") {
		name := v["source"].(string)
		t.Run(name, func(t *testing.T) {
			ca := capkFor(t, st, v)
			pan := string(v["pan"].(string))
			issuer, err := capk.RecoverIssuerKey(ca, v.hex(t, "issuer_cert"), v.hex(t, "issuer_rem"), v.hex(t, "issuer_exp"), pan, vectorTime)
			if err != nil {
				t.Fatalf("issuer key: %v", err)
			}
			if !bytes.Equal(issuer.Modulus, v.hex(t, "issuer_pk_modulus")) {
				t.Fatal("issuer modulus differs")
			}
			// A different PAN must not pass.
			if _, err := capk.RecoverIssuerKey(ca, v.hex(t, "issuer_cert"), v.hex(t, "issuer_rem"), v.hex(t, "issuer_exp"), "9"+pan[1:], vectorTime); !errors.Is(err, capk.ErrMismatch) {
				t.Fatalf("foreign PAN: %v", err)
			}
			// A later date expires the certificate.
			if _, err := capk.RecoverIssuerKey(ca, v.hex(t, "issuer_cert"), v.hex(t, "issuer_rem"), v.hex(t, "issuer_exp"), pan, time.Date(2049, 12, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, capk.ErrExpired) {
				t.Fatalf("expired: %v", err)
			}
			ssd := v.hex(t, "ssd1")
			if _, ok := v["ssad_cr"]; ok {
				dac, err := capk.VerifySSAD(issuer, v.hex(t, "ssad_cr"), ssd)
				if err != nil {
					t.Fatalf("SSAD: %v", err)
				}
				if !bytes.Equal(dac, v.hex(t, "sda_dac")) {
					t.Fatalf("DAC %X", dac)
				}
				bad := append(clone(ssd), 0x00)
				if _, err := capk.VerifySSAD(issuer, v.hex(t, "ssad_cr"), bad); !errors.Is(err, capk.ErrHash) {
					t.Fatalf("altered static data: %v", err)
				}
				return
			}
			icc, err := capk.RecoverICCKey(issuer, v.hex(t, "icc_cert"), nil, v.hex(t, "icc_exp"), ssd, pan, vectorTime)
			if err != nil {
				t.Fatalf("ICC key: %v", err)
			}
			if !bytes.Equal(icc.Modulus, v.hex(t, "icc_pk_modulus")) {
				t.Fatal("ICC modulus differs")
			}
			dd, err := capk.VerifySDAD(icc, v.hex(t, "sdad_cr"), v.hex(t, "dd1"))
			if err != nil {
				t.Fatalf("SDAD: %v", err)
			}
			if !bytes.Equal(dd, v.hex(t, "icc_dynamic_data")) {
				t.Fatalf("dynamic data %X", dd)
			}
			if _, ok := v["dd2"]; !ok {
				return
			}
			// CDA: the GENERATE AC response is dd2 plus the signature.
			resp := append(clone(v.hex(t, "dd2")), tlv.Encode(0x9F4B, v.hex(t, "sdad_cr"))...)
			obj, err := tlv.ParseOne(tlv.Encode(0x77, resp))
			if err != nil {
				t.Fatal(err)
			}
			s := &session{icc: map[tlv.Tag][]byte{}, term: map[tlv.Tag][]byte{0x9F37: v.hex(t, "dd1")}}
			s.oda.iccKey = icc
			if err := s.verifyCDA(obj, v.hex(t, "crm1")); err != nil {
				t.Fatalf("CDA: %v", err)
			}
			if !bytes.Equal(s.icc[0x9F26], v.hex(t, "cda_ac")) {
				t.Fatalf("AC %X", s.icc[0x9F26])
			}
			crm := clone(v.hex(t, "crm1"))
			crm[0] ^= 1
			if err := s.verifyCDA(obj, crm); !errors.Is(err, capk.ErrHash) {
				t.Fatalf("altered CDOL data: %v", err)
			}
		})
	}
}

// TestODAChainsB runs the Visa CAPK 94 and Mastercard F1 chains. Their
// ICC certificates hash static data the vector file does not carry, so
// for those the frame is checked and the ICC key assembled.
func TestODAChainsB(t *testing.T) {
	st := publishedStore(t)
	for _, v := range loadVectors(t, "oda-chains-b.json") {
		name := v["source"].(string)
		t.Run(name, func(t *testing.T) {
			ca := capkFor(t, st, v)
			icct := v["icc_tlv"].(map[string]any)
			pan := icct["5A"].(string)
			issuer, err := capk.RecoverIssuerKey(ca, v.hex(t, "issuer_cert_90"), nil, v.hex(t, "issuer_pk_exponent"), pan, vectorTime)
			if err != nil {
				t.Fatalf("issuer key: %v", err)
			}
			if !bytes.Equal(issuer.Modulus, v.hex(t, "issuer_pk_modulus")) {
				t.Fatal("issuer modulus differs")
			}
			rec, err := capk.RSARecover(issuer, v.hex(t, "icc_cert_9F46"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rec, v.hex(t, "icc_cert_recovered")) {
				t.Fatal("ICC certificate recovery differs")
			}
			if tlv.CNDigits(rec[2:12]) != pan {
				t.Fatal("ICC certificate PAN")
			}
			rem := mustHex(icct["9F48"].(string))
			// The modulus as Book 2 6.4 step 10 assembles it: the
			// certificate's key field, then the remainder.
			mod := append(bytes.Clone(rec[21:len(rec)-21]), rem...)[:int(rec[19])]
			icc := capk.NewRSAKey(mod, v.hex(t, "icc_pk_exponent"))
			if !bytes.Equal(icc.Modulus, v.hex(t, "icc_pk_modulus")) {
				t.Fatal("ICC modulus differs")
			}
			if _, err := capk.VerifySDAD(icc, v.hex(t, "sdad_9F4B"), v.hex(t, "ddol_data")); err != nil {
				t.Fatalf("SDAD: %v", err)
			}
			if _, ok := v["ssad_93"]; ok {
				rec, err := capk.RSARecover(issuer, v.hex(t, "ssad_93"))
				if err != nil || !bytes.Equal(rec, v.hex(t, "ssad_recovered")) {
					t.Fatalf("SSAD recovery: %v", err)
				}
			}
		})
	}
}

// vector is one entry of the ODA chain files (copied from the published
// test vectors, sources inside).
type vector map[string]any

func (v vector) hex(t *testing.T, k string) []byte {
	t.Helper()
	s, ok := v[k].(string)
	if !ok {
		t.Fatalf("vector field %s missing", k)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vector field %s: %v", k, err)
	}
	return b
}

func loadVectors(t *testing.T, name string) []vector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []vector
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
