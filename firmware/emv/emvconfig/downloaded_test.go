package emvconfig

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"kpos/firmware/emv/capk"
)

// newKey is a test CA key under an index no file uses: the first test key's
// modulus under index 7E.
func newKey(t *testing.T, cfg Config) capk.Key {
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

func TestDownloadedRoundTripAndJoin(t *testing.T) {
	cfg, err := LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "emv-downloaded.json")
	if d, err := LoadDownloaded(path); err != nil || len(d.CAKeys) != 0 {
		t.Fatalf("no file: %v %v", d, err)
	}
	added := newKey(t, cfg)
	replaced := cfg.CAPKs.List()[0]
	replaced.Expiry = replaced.Expiry.AddDate(1, 0, 0) // the host's newer record of the same key
	if err := SaveDownloaded(path, Downloaded{CAKeys: []capk.Key{added, replaced}}); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDownloaded(path)
	if err != nil || len(d.CAKeys) != 2 {
		t.Fatalf("read back %d keys, %v", len(d.CAKeys), err)
	}
	joined, err := cfg.WithDownloaded(d)
	if err != nil {
		t.Fatal(err)
	}
	if joined.CAPKs.Len() != cfg.CAPKs.Len()+1 {
		t.Fatalf("%d keys joined from %d files and 2 downloaded (1 new)", joined.CAPKs.Len(), cfg.CAPKs.Len())
	}
	if _, ok := joined.CAPKs.Get(added.RID[:], 0x7E); !ok {
		t.Fatal("the downloaded key is not in the joined store")
	}
	if k, _ := joined.CAPKs.Get(replaced.RID[:], replaced.Index); !k.Expiry.Equal(replaced.Expiry) {
		t.Fatal("the downloaded key did not replace the file key with its RID and index")
	}
	if _, ok := cfg.CAPKs.Get(added.RID[:], 0x7E); ok {
		t.Fatal("joining changed the file configuration")
	}
}

// TestSaveDownloadedKeepsTheOldSet: a set with a bad key is refused whole,
// and the set on disk stays the old one; a damaged file is an error, not
// an empty set.
func TestSaveDownloadedKeepsTheOldSet(t *testing.T) {
	cfg, err := LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "emv-downloaded.json")
	good := newKey(t, cfg)
	if err := SaveDownloaded(path, Downloaded{CAKeys: []capk.Key{good}}); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.Index = 0x7F // checksum still that of 7E
	if err := SaveDownloaded(path, Downloaded{CAKeys: []capk.Key{good, bad}}); !errors.Is(err, capk.ErrChecksum) {
		t.Fatalf("a set with a bad key: %v", err)
	}
	d, err := LoadDownloaded(path)
	if err != nil || len(d.CAKeys) != 1 || d.CAKeys[0].Index != 0x7E {
		t.Fatalf("the old set is gone: %+v %v", d, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	if err := os.WriteFile(path, []byte(`{"ca_keys":[{"rid":"A0000003`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDownloaded(path); !errors.Is(err, ErrDownloaded) {
		t.Fatalf("a damaged file: %v", err)
	}
}

// TestDownloadedAIDs: downloaded IC card parameters replace the file's for
// the same AID (contactless limits included), add an application of a
// known scheme, survive the round trip, and are refused when out of range.
func TestDownloadedAIDs(t *testing.T) {
	cfg, err := LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	up := DownloadedAID{AID: hexBytes("A000000333010101"), Version: [2]byte{0x00, 0x30},
		TACDefault: [5]byte{0xD8, 0x40, 0x00, 0xA8, 0x00}, TACOnline: [5]byte{0xD8, 0x40, 0x04, 0xF8, 0x00},
		FloorLimit: 20000, DDOL: hexBytes("9F3704"), CLFloorLimit: 50000, CLTxnLimit: 500000, CLCVMLimit: 100000}
	added := up
	added.AID = hexBytes("A000000333010106")
	d := Downloaded{AIDs: []DownloadedAID{up, added}}
	path := filepath.Join(t.TempDir(), "emv-downloaded.json")
	if err := SaveDownloaded(path, d); err != nil {
		t.Fatal(err)
	}
	back, err := LoadDownloaded(path)
	if err != nil || len(back.AIDs) != 2 {
		t.Fatalf("read back %+v %v", back, err)
	}
	joined, err := cfg.WithDownloaded(back)
	if err != nil {
		t.Fatal(err)
	}
	if len(joined.AIDs) != len(cfg.AIDs)+1 {
		t.Fatalf("%d applications joined from %d", len(joined.AIDs), len(cfg.AIDs))
	}
	for _, a := range joined.AIDs {
		switch string(a.AID) {
		case string(up.AID):
			if a.FloorLimit != 20000 || a.Contactless.FloorLimit != 50000 || a.Kind != KindQPBOC || a.Label == "" {
				t.Fatalf("replaced application %+v", a)
			}
		case string(added.AID):
			if a.Kind != KindQPBOC || !a.Contactless.Enabled || a.Contactless.FloorLimit != 50000 {
				t.Fatalf("added application %+v", a)
			}
		}
	}
	for _, a := range cfg.AIDs {
		if string(a.AID) == string(up.AID) && a.Contactless.FloorLimit == 50000 {
			t.Fatal("joining changed the file configuration")
		}
	}
	bad := up
	bad.RandomTarget, bad.RandomMax = 50, 10
	if err := SaveDownloaded(path, Downloaded{AIDs: []DownloadedAID{bad}}); !errors.Is(err, ErrDownloaded) {
		t.Fatalf("out of range parameters: %v", err)
	}
	if _, err := cfg.WithDownloaded(Downloaded{AIDs: []DownloadedAID{bad}}); !errors.Is(err, ErrDownloaded) {
		t.Fatalf("joined out of range parameters: %v", err)
	}
}

// An SM2 CA key (JR/T 0025) downloaded and stored comes back an SM2 key:
// read as RSA its checksum would not match and the whole set would go.
func TestDownloadedSM2KeyRoundTrip(t *testing.T) {
	cfg, err := LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	var sm capk.Key
	for _, k := range cfg.CAPKs.List() {
		if k.Algorithm == capk.AlgSM2 {
			sm = k
		}
	}
	if sm.Modulus == nil {
		t.Fatal("no SM2 test CA key in the configuration")
	}
	path := filepath.Join(t.TempDir(), "emv-downloaded.json")
	if err := SaveDownloaded(path, Downloaded{CAKeys: []capk.Key{sm}}); err != nil {
		t.Fatal(err)
	}
	d, err := LoadDownloaded(path)
	if err != nil || len(d.CAKeys) != 1 || d.CAKeys[0].Algorithm != capk.AlgSM2 || d.CAKeys[0].Checksum != sm.Checksum {
		t.Fatalf("read back %+v, %v", d.CAKeys, err)
	}
}

func hexBytes(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
