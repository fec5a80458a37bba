package emvconfig

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"kpos/firmware/emv/capk"
)

const testdataDir = "../../../testdata/emv"

func TestLoadConfigShipped(t *testing.T) {
	cfg, err := LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Terminal.Type != 0x22 || cfg.Terminal.Country != 156 || cfg.Terminal.IFDSerial != "KPOS0001" {
		t.Errorf("terminal = %+v", cfg.Terminal)
	}
	kinds := map[KernelKind]int{}
	for _, a := range cfg.AIDs {
		kinds[a.Kind]++
	}
	if kinds[KindQPBOC] == 0 || kinds[KindVisa] == 0 || kinds[KindMastercard] == 0 {
		t.Errorf("kernel kinds = %v", kinds)
	}
	maestro := false
	for _, a := range cfg.AIDs {
		if bytes.Equal(a.AID, []byte{0xA0, 0x00, 0x00, 0x00, 0x04, 0x30, 0x60}) {
			maestro = a.Kind == KindMastercard && a.TACDenial == [5]byte{0x00, 0x00, 0x80, 0x00, 0x00}
		}
	}
	if !maestro {
		t.Error("the Maestro AID A0000000043060 is not accepted on the Mastercard path")
	}
	if cfg.CAPKs.Len() < 33 {
		t.Errorf("%d CA keys loaded, want the 30 published and the test keys", cfg.CAPKs.Len())
	}
}

// TestPublishedCAPKChecksums checks every published key against the
// vector file's own checksum (the load itself verifies SHA-1).
func TestPublishedCAPKChecksums(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(testdataDir, "terminal.toml"), filepath.Join(testdataDir, "capk-published.toml"))
	if err != nil {
		t.Fatal(err)
	}
	keys := cfg.CAPKs.List()
	if len(keys) != 30 {
		t.Fatalf("%d published keys, want 30", len(keys))
	}
	for _, k := range keys {
		if k.ComputeChecksum() != k.Checksum {
			t.Errorf("%X/%02X checksum", k.RID, k.Index)
		}
	}
	v, ok := cfg.CAPKs.Get([]byte{0xA0, 0, 0, 0, 0x04, 0x10, 0x10}, 0xF1)
	if !ok || len(v.Modulus) != 176 || !v.Test {
		t.Errorf("Mastercard F1 lookup by AID prefix: %v %d", ok, len(v.Modulus))
	}
}

func TestCAPKChecksumRejected(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdataDir, "capk-published.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// Flip one modulus digit of the first key.
	s := string(b)
	i := strings.Index(s, "modulus = \"C6")
	bad := s[:i+11] + "D" + s[i+12:]
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "capk.toml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(filepath.Join(testdataDir, "terminal.toml"), filepath.Join(dir, "capk.toml"))
	if !errors.Is(err, capk.ErrChecksum) {
		t.Fatalf("err = %v, want checksum mismatch", err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	term, err := os.ReadFile(filepath.Join(testdataDir, "terminal.toml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(string) string
	}{
		{"unknown key", func(s string) string { return s + "\n[terminal2]\nx = 1\n" }},
		{"bad TAC", func(s string) string {
			return strings.Replace(s, `tac_denial = "0010000000"`, `tac_denial = "00100000"`, 1)
		}},
		{"bad kernel", func(s string) string { return strings.Replace(s, `kernel = "visa"`, `kernel = "amex"`, 1) }},
		{"bad ifd serial", func(s string) string { return strings.Replace(s, `"KPOS0001"`, `"KPOS1"`, 1) }},
		{"bad ddol", func(s string) string {
			return strings.Replace(s, `default_ddol = "9F3704"`, `default_ddol = "9F37"`, 1)
		}},
		{"no aids", func(s string) string { return s[:strings.Index(s, "[[aid]]")] }},
		{"no terminal", func(s string) string { return s[strings.Index(s, "[[aid]]"):] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "t.toml")
			if err := os.WriteFile(p, []byte(tc.edit(string(term))), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadConfig(p); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := LoadConfig(filepath.Join(testdataDir, "terminal.toml"), filepath.Join(testdataDir, "capk-test.toml"), filepath.Join(testdataDir, "capk-test.toml")); err == nil {
		t.Error("duplicate CA key accepted")
	}
}

func TestLoadExceptionFile(t *testing.T) {
	sum := sha256.Sum256([]byte("6222021234567890128"))
	dir := t.TempDir()
	good := filepath.Join(dir, "hot.toml")
	if err := os.WriteFile(good, []byte("[[exception]]\npan_sha256 = \""+hex.EncodeToString(sum[:])+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(filepath.Join(testdataDir, "terminal.toml"), good)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Exceptions[sum] || len(cfg.Exceptions) != 1 {
		t.Errorf("exceptions %v", cfg.Exceptions)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[[exception]]\npan_sha256 = \"6222021234567890128\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(filepath.Join(testdataDir, "terminal.toml"), bad)
	if err == nil || strings.Contains(err.Error(), "6222021234567890128") {
		t.Errorf("bad entry: %v", err)
	}
}
