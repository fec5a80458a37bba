package emvconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzLoadDownloaded feeds the downloaded-set reader arbitrary files: it
// refuses or returns a set that saves and reads back the same.
func FuzzLoadDownloaded(f *testing.F) {
	f.Add([]byte(`{"ca_keys":[],"aids":[{"aid":"A000000333010101","version":"0030","tac_default":"D84000A800",` +
		`"tac_online":"D84004F800","tac_denial":"0010000000","floor_limit":0,"cl_floor_limit":50000,"cl_txn_limit":500000,"cl_cvm_limit":100000}]}`))
	f.Add([]byte(`{"ca_keys":[{"rid":"A000000333","index":"E1","modulus":"00","exponent":"03","sha1":"00","kind":"test"}]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "d.json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := LoadDownloaded(path)
		if err != nil {
			return
		}
		again := filepath.Join(dir, "again.json")
		if err := SaveDownloaded(again, d); err != nil {
			t.Fatalf("a set LoadDownloaded accepted does not save: %v", err)
		}
		back, err := LoadDownloaded(again)
		if err != nil || !reflect.DeepEqual(normal(back), normal(d)) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, back, d)
		}
	})
}

// normal makes empty and nil slices alike for comparison.
func normal(d Downloaded) Downloaded {
	for i := range d.AIDs {
		if len(d.AIDs[i].DDOL) == 0 {
			d.AIDs[i].DDOL = nil
		}
	}
	if len(d.CAKeys) == 0 {
		d.CAKeys = nil
	}
	if len(d.AIDs) == 0 {
		d.AIDs = nil
	}
	return d
}
