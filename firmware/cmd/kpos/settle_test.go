package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/firmware/acquirer"
)

// TestDayTotalsAgreeWithTheHostToTheCent runs the whole-day scenario
// against a host simulator outside the terminal's process, then holds the
// host's own books for the settled batch to the figures the scenario found
// on the terminal's settlement report (testdata/scenarios/day-balanced.txt:
// domestic debits 4 for 147.34, credits 1 for 2.34; foreign debits 1 for
// 88.00; cash never reaches the host). The host's settlement record must be
// balanced: the terminal's field 48 equal to the host's totals.
func TestDayTotalsAgreeWithTheHostToTheCent(t *testing.T) {
	srv, ln := outsideHost(t)

	// The host's records are checked here, not by the scenario: an
	// outside host is not the board's to ask.
	raw, err := os.ReadFile(repoPath(t, "testdata/scenarios/day-balanced.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "expect host ") {
			steps = append(steps, line)
		}
	}
	script := filepath.Join(t.TempDir(), "day.txt")
	if err := os.WriteFile(script, []byte(strings.Join(steps, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := kpos(t, 2*time.Minute, "-board", "sim", "-data", t.TempDir(), "-host", ln.Addr().String(), "-script", script)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dom, foreign := srv.Totals("12345678", 1)
	wantDom := acquirer.Totals{DebitAmount: 14734, DebitCount: 4, CreditAmount: 234, CreditCount: 1}
	wantForeign := acquirer.Totals{DebitAmount: 8800, DebitCount: 1}
	if dom != wantDom || foreign != wantForeign {
		t.Fatalf("host totals %+v / %+v, the terminal's report %+v / %+v", dom, foreign, wantDom, wantForeign)
	}
	settles := findRecords(srv.Records(), "settlement", "00")
	if len(settles) != 1 || !settles[0].Balanced || settles[0].Batch != 1 {
		t.Fatalf("settlement records %+v", settles)
	}
	if n := len(findRecords(srv.Records(), "batch-upload", "")); n != 0 {
		t.Fatalf("a balanced settlement uploaded %d transactions", n)
	}
}
