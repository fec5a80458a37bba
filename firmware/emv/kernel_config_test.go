package emv

import (
	"path/filepath"
	"testing"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
)

const testdataDir = "../../testdata/emv"

// TestShippedConfigRuns: the shipped parameter files make a kernel.
func TestShippedConfigRuns(t *testing.T) {
	cfg, err := emvconfig.LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewKernel(cfg); err != nil {
		t.Fatal(err)
	}
}

// downloadedKey is a test CA key of cfg under an index no file uses, as a
// download would bring it.
func downloadedKey(t *testing.T, cfg emvconfig.Config) capk.Key {
	t.Helper()
	var k capk.Key
	for _, x := range cfg.CAPKs.List() {
		if x.Test {
			k = x
			break
		}
	}
	if k.Modulus == nil {
		t.Fatal("no test CA key in the configuration")
	}
	k.Index = 0x7E
	k.Checksum = k.ComputeChecksum()
	return k
}

func TestNewKernelRejectsIncompleteConfig(t *testing.T) {
	base := func() emvconfig.Config {
		cfg, err := emvconfig.LoadConfig(filepath.Join(testdataDir, "terminal.toml"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	for name, edit := range map[string]func(*emvconfig.Config){
		"no applications": func(c *emvconfig.Config) { c.AIDs = nil },
		"no version":      func(c *emvconfig.Config) { c.AIDs[0].Versions = nil },
		"short AID":       func(c *emvconfig.Config) { c.AIDs[0].AID = []byte{0xA0} },
		"bad IFD serial":  func(c *emvconfig.Config) { c.Terminal.IFDSerial = "" },
	} {
		cfg := base()
		edit(&cfg)
		if _, err := NewKernel(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestSetConfigFromTheNextTransaction: a transaction started before
// SetConfig keeps its configuration; the next one has the new keys.
func TestSetConfigFromTheNextTransaction(t *testing.T) {
	cfg, err := emvconfig.LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	running := k.snapshot()
	key := downloadedKey(t, cfg)
	joined, err := cfg.WithDownloaded(emvconfig.Downloaded{CAKeys: []capk.Key{key}})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.SetConfig(joined); err != nil {
		t.Fatal(err)
	}
	if _, ok := running.cfg.CAPKs.Get(key.RID[:], key.Index); ok {
		t.Fatal("the running transaction's configuration changed under it")
	}
	if _, ok := k.snapshot().cfg.CAPKs.Get(key.RID[:], key.Index); !ok {
		t.Fatal("the next transaction does not have the downloaded key")
	}
	if _, ok := k.Config().CAPKs.Get(key.RID[:], key.Index); !ok {
		t.Fatal("Config does not report the new configuration")
	}
	if err := k.SetConfig(emvconfig.Config{}); err == nil {
		t.Fatal("an empty configuration was taken")
	}
}
