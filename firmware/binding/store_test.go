package binding

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "binding.json")
	s := NewFileStore(path)
	r, err := s.Load()
	if err != nil || r.State != StateBlank {
		t.Fatalf("missing file: %+v, %v", r, err)
	}
	p := testParams()
	want := Record{
		Version: recordVersion, State: StateBound, Bank: TestBank, CodeMasked: "ABCD-EFG*-****-****",
		TID: "12345678", MID: "898320154110001", MerchantName: "测试商户", Params: &p,
		Expiry:  time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		Account: &SettlementAccount{PANMasked: "622202*********0128", HolderMasked: "*小明", Reference: "R1", Verified: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)},
	}
	for i := 0; i < 3; i++ { // overwriting works, and leaves no temporary file
		if err := s.Save(want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("loaded\n%+v\nwant\n%+v", got, want)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want 1", len(entries))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, %v", fi.Mode(), err)
	}
	for name, content := range map[string]string{"damaged": "{not json", "future version": `{"version": 9}`} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(); err == nil {
			t.Errorf("%s record loaded", name)
		}
	}
	if err := NewFileStore(filepath.Join(dir, "no", "such", "dir.json")).Save(want); err == nil {
		t.Error("Save into a missing directory succeeded")
	}
}
