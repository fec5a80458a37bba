package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// fileBook remembers the files of the terminal's data folder as each
// finished run left them. A finished run synced what it wrote (that is
// what a finished write means), so a later power cut may leave a file as
// it was then or newer, never older and never gone: that is a lost write.
//
// The journal is left to the reconciliation (bbolt is checked by what it
// holds); the log kpos.log is not synced line by line by design, so its
// tail may go; names starting with a dot are temporary files.
type fileBook struct {
	last    map[string]string          // file → digest, as the last finished run left it
	seen    map[string]map[string]bool // file → every digest it had after a finished run
	fresh   []string                   // receipts new since the last check: read in full
	receipt map[string]string          // receipts/NAME → digest (receipts are written once)
	at      time.Time                  // when the last finished run was recorded
}

func newFileBook() *fileBook {
	return &fileBook{last: map[string]string{}, seen: map[string]map[string]bool{}, receipt: map[string]string{}}
}

// watched reports whether the file rel of the data folder is held to the
// rule.
func watched(rel string) bool {
	base := filepath.Base(rel)
	return rel != "kpos.log" && rel != "journal.db" && !strings.HasPrefix(base, ".")
}

func digest(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return fmt.Sprintf("%x", sum[:12]), nil
}

// snapshot records the data folder after a finished run.
func (b *fileBook) snapshot(data string) error {
	now := map[string]string{}
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(data, path)
		if d.IsDir() || !d.Type().IsRegular() || !watched(rel) {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "receipts/") {
			// Written once under a new name: read only the new ones.
			if h, ok := b.receipt[rel]; ok {
				now[rel] = h
				return nil
			}
			h, err := digest(path)
			if err != nil {
				return err
			}
			b.receipt[rel] = h
			b.fresh = append(b.fresh, rel)
			now[rel] = h
			return nil
		}
		h, err := digest(path)
		if err != nil {
			return err
		}
		now[rel] = h
		return nil
	})
	if err != nil {
		return fmt.Errorf("hil: data folder: %w", err)
	}
	for rel, h := range now {
		if b.seen[rel] == nil {
			b.seen[rel] = map[string]bool{}
		}
		b.seen[rel][h] = true
	}
	b.last = now
	b.at = time.Now()
	return nil
}

// writtenSince reports whether the file at path was written after the last
// finished run was recorded: by the cut run, so whatever it holds is newer.
// A write the cut forgot leaves the older file, with its older time.
func (b *fileBook) writtenSince(path string) bool {
	st, err := os.Stat(path)
	// File times come from the kernel's coarse clock, which may trail
	// time.Now by a tick or two.
	return err == nil && st.ModTime().After(b.at.Add(-clockSlack))
}

// clockSlack covers the kernel's coarse file-time clock (a tick is at most
// 10 ms).
const clockSlack = 20 * time.Millisecond

// check lists what a cut lost: files the last finished run left that are
// gone, or back at an older version. Receipts are checked by name, and in
// full when new since the last check.
func (b *fileBook) check(data string) []string {
	var lost []string
	names := map[string]bool{}
	if entries, err := os.ReadDir(filepath.Join(data, "receipts")); err == nil {
		for _, e := range entries {
			names["receipts/"+e.Name()] = true
		}
	}
	fresh := map[string]bool{}
	for _, rel := range b.fresh {
		fresh[rel] = true
	}
	b.fresh = nil
	var files []string
	for rel := range b.last {
		files = append(files, rel)
	}
	sort.Strings(files)
	for _, rel := range files {
		want := b.last[rel]
		if strings.HasPrefix(rel, "receipts/") && !fresh[rel] {
			if !names[rel] {
				lost = append(lost, fmt.Sprintf("%s: gone (a finished run had printed it)", rel))
			}
			continue
		}
		got, err := digest(filepath.Join(data, filepath.FromSlash(rel)))
		switch {
		case errors.Is(err, os.ErrNotExist):
			lost = append(lost, fmt.Sprintf("%s: gone (a finished run had left it)", rel))
		case err != nil:
			lost = append(lost, fmt.Sprintf("%s: unreadable: %v", rel, err))
		case got != want && b.seen[rel][got] && !b.writtenSince(filepath.Join(data, filepath.FromSlash(rel))):
			// A state can come back legitimately (a lock count set, then
			// cleared, then set again by the cut run itself): only a file
			// not written since the last finished run is an older version.
			lost = append(lost, fmt.Sprintf("%s: back at an older version (the last finished run's was lost)", rel))
		case got != want && strings.HasPrefix(rel, "receipts/"):
			lost = append(lost, fmt.Sprintf("%s: changed after it was printed", rel))
		}
	}
	return lost
}
