package archive

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteReadsBackAndCapKeepsNewest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "archive")
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for n := uint32(1); n <= 3; n++ {
		name := Name(day.AddDate(0, 0, int(n)), n)
		err := Write(dir, name, func(enc *json.Encoder) error { return enc.Encode(map[string]uint32{"batch": n}) })
		if err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, "batch-20260304-000003.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]uint32
	if err := json.NewDecoder(zr).Decode(&got); err != nil || got["batch"] != 3 {
		t.Fatalf("read back %v, %v", got, err)
	}
	f.Close()

	boom := errors.New("boom")
	if err := Write(dir, "batch-x.jsonl.gz", func(*json.Encoder) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failed write: %v", err)
	}
	info, _ := os.Stat(filepath.Join(dir, "batch-20260304-000003.jsonl.gz"))
	if err := Cap(dir, info.Size()); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "batch-20260304-000003.jsonl.gz" {
		t.Fatalf("left after the cap: %v", ents)
	}
}
