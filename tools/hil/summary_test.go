package main

import (
	"errors"
	"strings"
	"testing"

	"kpos/tools/hil/leak"
)

func TestSummary(t *testing.T) {
	all := options{parts: map[string]bool{"scenarios": true, "campaign": true, "board": true, "leaks": true}}
	good := func(arch string) *archResult {
		return &archResult{arch: arch, ranScen: true, ranBoard: true,
			scenarios: []scenarioResult{{name: "chip-sale.txt", passed: true}, {name: "faults/host-drop.txt", passed: true, faults: []string{"host-drop"}}},
			board:     []scenarioResult{{name: "hil/printer-paper-out.txt", passed: true, faults: []string{"printer-paper-out"}}},
			campaign:  &campaignResult{cuts: 200, byMode: map[string]int{"crash-at": 80, "random kill": 100, "host bad-mac": 20}, inDoubt: 90}}
	}
	tests := []struct {
		name     string
		results  func() []*archResult
		findings []leak.Finding
		leakErr  error
		ok       bool
		want     []string
	}{
		{"all good", func() []*archResult { return []*archResult{good("amd64"), good("armv7")} }, nil, nil, true,
			[]string{"scenarios passed", "2/2", "fault kinds survived", "2/2", "hil board scenarios passed", "1/1",
				"power cuts survived", "200", "during host faults", "20", "that left a sale in doubt", "90",
				"host and journal agree", "yes", "leaks found: 0", "result: PASS"}},
		{"a scenario fails on ARM only", func() []*archResult {
			arm := good("armv7")
			arm.scenarios[1].passed = false
			return []*archResult{good("amd64"), arm}
		}, nil, nil, false, []string{"1/2", "fault kinds survived", "1/2", "BUG: faults/host-drop.txt fails on armv7 and passes on amd64", "result: FAIL"}},
		{"a campaign problem", func() []*archResult {
			r := good("amd64")
			r.campaign.problems = []string{"trace 000005: charged at the host, unknown to the journal"}
			return []*archResult{r}
		}, nil, nil, false, []string{"200 FAILED", "NO (1 problems)", "result: FAIL"}},
		{"a build failure", func() []*archResult {
			return []*archResult{good("amd64"), {arch: "armv7", buildErr: errors.New("no cross compiler")}}
		}, nil, nil, false, []string{"FAILED", "result: FAIL"}},
		{"a leak", func() []*archResult { return []*archResult{good("amd64")} },
			[]leak.Finding{{File: "amd64/campaign/data/kpos.log", What: "PAN of unionpay-debit"}}, nil, false,
			[]string{"leaks found: 1", "result: FAIL"}},
		{"the leak scan itself failed", func() []*archResult { return []*archResult{good("amd64")} }, nil, errors.New("unreadable"), false,
			[]string{"scan FAILED", "result: FAIL"}},
		{"a hil board scenario fails", func() []*archResult {
			r := good("amd64")
			r.board[0].passed = false
			return []*archResult{r}
		}, nil, nil, false, []string{"0/1", "failed on amd64: hil/printer-paper-out.txt", "result: FAIL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := summary(tc.results(), all, tc.findings, 10, tc.leakErr, "build/hil/x", 0)
			if s.ok != tc.ok {
				t.Errorf("ok = %v, want %v\n%s", s.ok, tc.ok, s.text)
			}
			rest := s.text
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%q missing (in order) from\n%s", w, s.text)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

func TestLossyLine(t *testing.T) {
	lossy := func(arch string, cuts, lost, doubled, unopenable int) *archResult {
		return &archResult{arch: arch, campaign: &campaignResult{lossy: true, cuts: cuts, lost: lost, doubled: doubled, unopenable: unopenable}}
	}
	tests := []struct {
		name    string
		results []*archResult
		want    string
		ok      bool
	}{
		{"both lossy, clean", []*archResult{lossy("amd64", 250, 0, 0, 0), lossy("armv7", 40, 0, 0, 0)},
			"lossy cuts: amd64 250, armv7 40; lost 0, doubled 0, unopenable 0", true},
		{"a loss fails", []*archResult{lossy("amd64", 3, 1, 0, 0), lossy("armv7", 40, 0, 1, 2)},
			"lossy cuts: amd64 3, armv7 40; lost 1, doubled 1, unopenable 2", false},
		{"no FUSE: weaker", []*archResult{{arch: "amd64", campaign: &campaignResult{cuts: 300, lossyWhy: "no /dev/fuse"}}},
			"lossy cuts: amd64 0; lost 0, doubled 0, unopenable 0\nWEAKER RUN: SIGKILL cuts only (amd64: no /dev/fuse)", true},
	}
	for _, tc := range tests {
		line, ok := lossyLine(tc.results)
		if !strings.HasPrefix(line, tc.want) || ok != tc.ok {
			t.Errorf("%s: %q ok=%v, want %q ok=%v", tc.name, line, ok, tc.want, tc.ok)
		}
	}
}
