package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFaultKindsAndFailLine(t *testing.T) {
	tests := []struct {
		name, body string
		kinds      []string
		line       string
	}{
		{"host faults", "host fault no-answer sticky\nhost fault clear\nhost fault delay 5s mti=0200\n", []string{"host-no-answer", "host-delay"}, ""},
		{"comment kinds", "# fault: card-pulled paper-out\n# fault: card-pulled\nkeys 1\n", []string{"card-pulled", "paper-out"}, ""},
		{"rig faults", "rig printer paper-out\nrig printer paper-in\nrig modem network-down\nrig modem network-up\n", []string{"printer-paper-out", "modem-network-down"}, ""},
		{"none", "# A sale.\nkeys 1 2 ENTER\n# must fail (line 2)\n", nil, "2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "s.txt")
			if err := os.WriteFile(f, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			if got := faultKinds(f); strings.Join(got, ",") != strings.Join(tc.kinds, ",") {
				t.Errorf("kinds %q, want %q", got, tc.kinds)
			}
			if got := failLine(f); got != tc.line {
				t.Errorf("fail line %q, want %q", got, tc.line)
			}
		})
	}
}

func TestScenarioFilesAreFound(t *testing.T) {
	names, sets, err := listScenarios(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var faults, blank int
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "faults/"):
			faults++
		case sets[n].blank:
			blank++
		}
	}
	if faults == 0 || blank == 0 || !sets["failing/wrong-expectation.txt"].mustFail {
		t.Fatalf("sets not found: %d fault, %d blank scenarios among %v", faults, blank, names)
	}
}

func TestSaleScripts(t *testing.T) {
	tests := []struct {
		s       sale
		outcome string
		want    []string
	}{
		{saleKinds[0], "approved", []string{"keys 1 2 3 4 ENTER ENTER", "expect screen present-card", "insert unionpay-debit", "pin 123456", "remove", "expect journal last completed"}},
		{saleKinds[0], "reversed", []string{"expect screen declined within 30s", "expect journal last reversed"}},
		{saleKinds[3], "approved", []string{"keys 1 2 3 4 ENTER ENTER", "tap unionpay-credit", "expect screen approved within 20s"}},
		{saleKinds[4], "declined", []string{"keys MENU", "scan 2500", "expect journal last declined"}},
	}
	for _, tc := range tests {
		got := tc.s.script(1234, tc.outcome, "2500")
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s %s: no %q in\n%s", tc.s.name, tc.outcome, w, got)
			}
		}
	}
}
