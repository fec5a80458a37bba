package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestScanRun: the run's scan looks for the test cards and keys of
// testdata/host and each terminal's device key, and skips what the runner
// itself wrote from the scenarios.
func TestScanRun(t *testing.T) {
	run := t.TempDir()
	devKey := make([]byte, 32)
	for i := range devKey {
		devKey[i] = byte(0xA0 + i)
	}
	files := map[string]string{
		"amd64/campaign/data/device.key":             string(devKey),
		"amd64/campaign/data/kpos.log":               "msg=approved pan=622202*********0128\n",
		"amd64/campaign/data/receipts/0005.txt":      "CARD 6250998765432109871\n",
		"amd64/campaign/host.log":                    "key=" + hex.EncodeToString(devKey) + "\n",
		"amd64/campaign/scripts/0001.txt":            "pin 123456\n# PAN 6222021234567890128\n",
		"amd64/board/bind-then-sell/steps.log":       `expect no-receipt "6222021234567890128"`,
		"amd64/scenarios/chip-sale.out":              "PASS chip-sale.txt\n",
		"amd64/scenarios/chip-sale/kpos.log":         "tmk=11111111111111112222222222222222\n",
		"amd64/board/bind-then-sell/receipts.txt":    "CNY 12.34\n",
		"amd64/board/bind-then-sell/data/journal.db": "6222021234567890128",
	}
	for name, body := range files {
		p := filepath.Join(run, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	findings, n, err := scanRun(filepath.Join("..", ".."), run)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, filepath.ToSlash(f.File)+": "+f.What)
	}
	want := []string{
		"amd64/board/bind-then-sell/data/journal.db: PAN of unionpay-debit", // the databases are read raw
		"amd64/campaign/data/receipts/0005.txt: PAN of unionpay-credit",
		"amd64/campaign/host.log: key device key amd64/campaign/data",
		"amd64/scenarios/chip-sale/kpos.log: key TMK KPOS-SIM-0001",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if n != 7 {
		t.Errorf("scanned %d files, want 7", n)
	}
}
