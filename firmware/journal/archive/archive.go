// Package archive is the format and the writing of the journal's archive
// of settled batches: one gzipped JSON-lines file per batch, named
// batch-<closed YYYYMMDD>-<batch>.jsonl.gz so that names sort oldest first,
// written whole and fsynced (file and directory) before the journal deletes
// anything, and capped in size by deleting the oldest files. It knows
// nothing of what the lines hold: the journal masks them before they come
// here.
package archive

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Prefix begins the name of every archive file.
const Prefix = "batch-"

// Name is the file name of the archive of batch, closed on the calendar
// day of closed (in the location closed carries).
func Name(closed time.Time, batch uint32) string {
	return fmt.Sprintf("%s%s-%06d.jsonl.gz", Prefix, closed.Format("20060102"), batch)
}

// Write writes the file name in dir durably: the lines encode writes go
// through gzip to a temporary file, which is fsynced, renamed into place,
// and the directory fsynced. Nothing of a failed write is left.
func Write(dir, name string, encode func(*json.Encoder) error) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".archive-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	zw := gzip.NewWriter(tmp)
	if err := encode(json.NewEncoder(zw)); err != nil {
		tmp.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// Cap deletes the oldest archives of dir until they hold at most max
// bytes.
func Cap(dir string, max int64) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type file struct {
		name string
		size int64
	}
	var files []file
	var total int64
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), Prefix) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		files = append(files, file{e.Name(), info.Size()})
		total += info.Size()
	}
	sort.Slice(files, func(a, b int) bool { return files[a].name < files[b].name })
	for _, f := range files {
		if total <= max {
			break
		}
		if err := os.Remove(filepath.Join(dir, f.name)); err != nil {
			return err
		}
		total -= f.size
	}
	return nil
}
