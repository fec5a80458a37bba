package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/boards"
	"kpos/boards/sim"
	"kpos/hal"
)

// runSale boots the firmware on board, makes one chip sale and stops, like
// a power cut. It returns the instance's journal length before stopping.
func runSale(t *testing.T, board *boards.Board) int {
	t.Helper()
	a := &app{board: board, log: slog.New(slog.DiscardHandler), out: io.Discard, started: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inst, err := a.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop(inst)
	s := sim.Of(board)
	card, err := s.Card("unionpay-debit", hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	seen := len(s.Display.History())
	s.Keypad.Type("1")
	s.Keypad.Press(hal.KeyEnter, hal.KeyEnter)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	// The card goes in when the terminal asks for it.
	if _, _, err := s.Display.WaitFor(wctx, seen, func(sc hal.Screen) bool { return sc.ID == "present-card" }); err != nil {
		t.Fatalf("sale: screens %v", s.Display.History())
	}
	s.Reader.Insert(card)
	s.PINPad.EnterPIN("123456")
	if _, _, err := s.Display.WaitFor(wctx, seen, func(sc hal.Screen) bool { return sc.ID == "remove-card" }); err != nil {
		t.Fatalf("sale: screens %v", s.Display.History())
	}
	s.Reader.Remove()
	if _, _, err := s.Display.WaitFor(wctx, seen, func(sc hal.Screen) bool { return sc.ID == "idle" }); err != nil {
		t.Fatalf("sale: last screen %v", s.Display.Current())
	}
	txns, err := inst.journal.List(0)
	if err != nil {
		t.Fatal(err)
	}
	return len(txns)
}

func openSimBoard(t *testing.T, data string) *boards.Board {
	t.Helper()
	b, err := boards.Open(context.Background(), "sim", boards.Options{DataDir: data, ParamsDir: repoPath(t, "testdata"),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyIn reports where in data the key shows, raw or in hex.
func keyIn(name string, data, key []byte) string {
	switch {
	case strings.Contains(strings.ToLower(filepath.Base(name)), "device.key"):
		return name + ": named as the device key"
	case bytes.Contains(data, key):
		return name + ": holds the device key"
	case bytes.Contains(bytes.ToLower(data), []byte(hex.EncodeToString(key))):
		return name + ": holds the device key in hex"
	}
	return ""
}

// The data directory of a terminal that has sold, and its backup, hold no
// device key, under any name or encoding; a data directory an older firmware
// left with device.key inside is migrated: the key moves out and the
// journal and key store sealed under it still open.
func TestDataDirectoryAndBackupHoldNoDeviceKey(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")

	// An older firmware's layout: device.key in the data directory, and
	// data sealed under it.
	board := openSimBoard(t, data)
	key := board.DeviceKey
	runSale(t, board)
	board.Close()
	if err := os.Rename(sim.DeviceKeyPath(data), filepath.Join(data, boards.LegacyDeviceKey)); err != nil {
		t.Fatal(err)
	}

	board = openSimBoard(t, data)
	defer board.Close()
	if !bytes.Equal(board.DeviceKey, key) {
		t.Fatal("the migrated key differs")
	}
	if n := runSale(t, board); n < 2 {
		t.Fatalf("the journal after the migration lists %d transactions: the first sale is lost", n)
	}

	var listed []string
	err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		// File hygiene: nothing the firmware writes is for another user
		// (docs/keys.md, "Who may read what").
		info, err := d.Info()
		if err != nil {
			return err
		}
		if want := map[bool]fs.FileMode{true: 0o700, false: 0o600}[d.IsDir()]; info.Mode().Perm() != want && p != data {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		if d.IsDir() {
			return nil
		}
		listed = append(listed, p)
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if where := keyIn(p, raw, key); where != "" {
			t.Error(where)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("data directory: %v", listed)
	if len(listed) < 3 {
		t.Fatalf("the data directory lists only %v", listed)
	}

	a := &app{board: board, log: slog.New(slog.DiscardHandler), out: io.Discard, started: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inst, err := a.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop(inst)
	var backup bytes.Buffer
	if err := (&consoleServices{a: a}).Export(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&backup)
	var entries []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, h.Name)
		raw, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if where := keyIn("backup "+h.Name, raw, key); where != "" {
			t.Error(where)
		}
	}
	t.Logf("backup: %v", entries)
	if len(entries) == 0 {
		t.Fatal("empty backup")
	}
}
