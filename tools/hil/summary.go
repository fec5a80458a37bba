package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"kpos/tools/hil/leak"
	"kpos/tools/lossyfs"
)

type summaryText struct {
	text string
	ok   bool
}

// summary writes the table the suite ends with: per binary, the scenarios
// passed, the fault kinds survived, the power cuts survived and whether
// the host and the journal agreed; then the leaks found. ok is false on
// any failure, including a binary that was asked for and not built.
func summary(results []*archResult, o options, findings []leak.Finding, files int, leakErr error, run string, took time.Duration) summaryText {
	var b strings.Builder
	fmt.Fprintf(&b, "\nHIL summary — run %s, seed %d, %v\n", run, o.seed, took.Round(time.Second))
	t := &summaryTable{tw: tabwriter.NewWriter(&b, 2, 4, 3, ' ', 0), results: results, ok: true}
	t.row("", func(r *archResult) string { return r.arch })
	t.row("built", t.built)
	if o.parts["scenarios"] {
		t.scenarioRows(o)
	}
	if o.parts["board"] {
		t.row("hil board scenarios passed", func(r *archResult) string { return t.boardPassed(r, o) })
	}
	if o.parts["campaign"] {
		t.campaignRows()
	}
	t.tw.Flush()
	ok := t.ok
	if o.parts["campaign"] {
		line, lossyOK := lossyLine(results)
		b.WriteString(line + "\n")
		ok = ok && lossyOK
	}
	if o.parts["leaks"] {
		ok = leakLine(&b, findings, files, leakErr) && ok
	}
	failureLines(&b, results)
	if ok {
		b.WriteString("result: PASS\n")
	} else {
		b.WriteString("result: FAIL\n")
	}
	return summaryText{text: b.String(), ok: ok}
}

// summaryTable is the table of summary, one column per binary; a cell
// that reports a failure clears ok.
type summaryTable struct {
	tw      *tabwriter.Writer
	results []*archResult
	ok      bool
}

// row writes the row name with the cell of every binary.
func (t *summaryTable) row(name string, cell func(r *archResult) string) {
	cells := []string{name}
	for _, r := range t.results {
		cells = append(cells, cell(r))
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t")+"\t")
}

func (t *summaryTable) built(r *archResult) string {
	if r.buildErr != nil {
		t.ok = false
		return "FAILED"
	}
	return "yes"
}

// scenarioRows are the scenario sets' rows: passed, and fault kinds survived.
func (t *summaryTable) scenarioRows(o options) {
	t.row("scenarios passed", func(r *archResult) string {
		if !r.ranScen {
			return "-"
		}
		pass := passed(r.scenarios)
		if pass != len(r.scenarios) || len(r.scenarios) == 0 && o.only == "" {
			t.ok = false
		}
		return fmt.Sprintf("%d/%d", pass, len(r.scenarios))
	})
	t.row("fault kinds survived", func(r *archResult) string {
		if !r.ranScen && !r.ranBoard {
			return "-"
		}
		survived, all := faultTally(allScenarios(r))
		return fmt.Sprintf("%d/%d", len(survived), len(all))
	})
}

func (t *summaryTable) boardPassed(r *archResult, o options) string {
	if !r.ranBoard {
		return "-"
	}
	pass := passed(r.board)
	if r.boardErr != nil || pass != len(r.board) || len(r.board) == 0 && o.only == "" {
		t.ok = false
	}
	return fmt.Sprintf("%d/%d", pass, len(r.board))
}

// campaignRows are the power-cut campaign's rows.
func (t *summaryTable) campaignRows() {
	t.row("power cuts survived", func(r *archResult) string {
		if r.campaign == nil {
			return "-"
		}
		c := r.campaign
		if r.campErr != nil || len(c.problems) > 0 {
			t.ok = false
			return fmt.Sprintf("%d FAILED", c.cuts)
		}
		return fmt.Sprintf("%d", c.cuts)
	})
	t.row("  on the lossy filesystem", campaignCell(func(_ *archResult, c *campaignResult) string {
		if !c.lossy {
			return "no (SIGKILL only)"
		}
		m := c.cutModes
		return fmt.Sprintf("drop %d, prefix %d, torn %d", m[lossyfs.Drop], m[lossyfs.Prefix], m[lossyfs.Tear])
	}))
	t.row("  at crash points", func(r *archResult) string { return byMode(r, "crash-at") })
	t.row("  at random moments", func(r *archResult) string { return byMode(r, "random kill") })
	t.row("  during host faults", campaignCell(func(_ *archResult, c *campaignResult) string {
		n := 0
		for m, k := range c.byMode {
			if strings.HasPrefix(m, "host ") {
				n += k
			}
		}
		return fmt.Sprint(n)
	}))
	t.row("  during a void", func(r *archResult) string { return byMode(r, "void") })
	t.row("  during the settlement", func(r *archResult) string { return byMode(r, "settlement") })
	t.row("  during a sign-on (key download)", func(r *archResult) string { return byMode(r, "key download") })
	t.row("  during a firmware update", func(r *archResult) string { return byMode(r, "firmware update") })
	t.row("  during console logins", func(r *archResult) string { return byMode(r, "console") })
	t.row("  that left a sale in doubt", campaignCell(func(_ *archResult, c *campaignResult) string {
		return fmt.Sprint(c.inDoubt)
	}))
	t.row("  reversal still queued after boot", campaignCell(func(_ *archResult, c *campaignResult) string {
		return fmt.Sprint(c.pendingAfterBoot)
	}))
	t.row("completed/reversed/declined/voided", campaignCell(func(_ *archResult, c *campaignResult) string {
		return fmt.Sprintf("%d/%d/%d/%d", c.completed, c.reversed, c.declined, c.voided)
	}))
	t.row("settled, balanced", campaignCell(func(_ *archResult, c *campaignResult) string {
		switch {
		case !c.settled:
			return "no"
		case c.settleCut:
			return "yes (after a cut)"
		}
		return "yes"
	}))
	t.row("host and journal agree", campaignCell(func(r *archResult, c *campaignResult) string {
		if n := len(c.problems); n > 0 || r.campErr != nil {
			return fmt.Sprintf("NO (%d problems)", n)
		}
		return "yes"
	}))
}

// campaignCell makes a cell of the campaign's result, "-" where none ran.
func campaignCell(cell func(r *archResult, c *campaignResult) string) func(r *archResult) string {
	return func(r *archResult) string {
		if r.campaign == nil {
			return "-"
		}
		return cell(r, r.campaign)
	}
}

// leakLine writes the leak scan's line and reports whether it found none.
func leakLine(b *strings.Builder, findings []leak.Finding, files int, leakErr error) bool {
	if leakErr != nil {
		fmt.Fprintf(b, "leaks found: scan FAILED: %v\n", leakErr)
		return false
	}
	fmt.Fprintf(b, "leaks found: %d (%d artefacts scanned)\n", len(findings), files)
	return len(findings) == 0
}

// failureLines names every failed scenario, and those that fail on ARM only.
func failureLines(b *strings.Builder, results []*archResult) {
	for _, r := range results {
		for _, s := range allScenarios(r) {
			if !s.passed {
				fmt.Fprintf(b, "failed on %s: %s\n", r.arch, s.name)
			}
		}
		if r.arch != "amd64" {
			for _, name := range armOnlyFailures(results, r) {
				fmt.Fprintf(b, "BUG: %s fails on %s and passes on amd64\n", name, r.arch)
			}
		}
	}
}

// allScenarios is every scenario result of r: the sets, then the board's.
func allScenarios(r *archResult) []scenarioResult {
	return append(append([]scenarioResult(nil), r.scenarios...), r.board...)
}

// passed counts the scenarios that passed.
func passed(rs []scenarioResult) int {
	n := 0
	for _, s := range rs {
		if s.passed {
			n++
		}
	}
	return n
}

// lossyLine is the campaign's verdict on power loss, a line scripts read:
//
//	lossy cuts: amd64 N, armv7 M; lost 0, doubled 0, unopenable 0
//
// N and M are the cuts survived on the lossy filesystem; lost, doubled and
// unopenable count the cuts, of both binaries, after which something was
// lost, applied twice, or a store did not open. Where FUSE could not be
// used it says so instead: the run was weaker.
func lossyLine(results []*archResult) (string, bool) {
	var cuts []string
	var lost, doubled, unopenable int
	var weaker []string
	for _, r := range results {
		c := r.campaign
		if c == nil {
			continue
		}
		lost, doubled, unopenable = lost+c.lost, doubled+c.doubled, unopenable+c.unopenable
		if !c.lossy {
			// None of its cuts was lossy: 0, and the line below says why.
			weaker = append(weaker, fmt.Sprintf("%s: %s", r.arch, c.lossyWhy))
			cuts = append(cuts, fmt.Sprintf("%s 0", r.arch))
			continue
		}
		cuts = append(cuts, fmt.Sprintf("%s %d", r.arch, c.cuts))
	}
	ok := lost == 0 && doubled == 0 && unopenable == 0
	line := fmt.Sprintf("lossy cuts: %s; lost %d, doubled %d, unopenable %d", strings.Join(cuts, ", "), lost, doubled, unopenable)
	if len(weaker) > 0 {
		line += fmt.Sprintf("\nWEAKER RUN: SIGKILL cuts only (%s): the kernel kept every write, so a missing fsync could not show", strings.Join(weaker, "; "))
	}
	return line, ok
}

func byMode(r *archResult, mode string) string {
	if r.campaign == nil {
		return "-"
	}
	return fmt.Sprint(r.campaign.byMode[mode])
}

// faultTally returns the fault kinds every scenario injecting them passed
// with, and all the kinds injected.
func faultTally(rs []scenarioResult) (survived, all []string) {
	failed := map[string]bool{}
	seen := map[string]bool{}
	for _, s := range rs {
		for _, k := range s.faults {
			seen[k] = true
			if !s.passed {
				failed[k] = true
			}
		}
	}
	for k := range seen {
		all = append(all, k)
		if !failed[k] {
			survived = append(survived, k)
		}
	}
	sort.Strings(all)
	sort.Strings(survived)
	return survived, all
}

// armOnlyFailures are the scenarios that failed on r and passed on amd64.
func armOnlyFailures(results []*archResult, r *archResult) []string {
	amd := map[string]bool{}
	for _, x := range results {
		if x.arch == "amd64" {
			for _, s := range allScenarios(x) {
				amd[s.name] = s.passed
			}
		}
	}
	var out []string
	for _, s := range allScenarios(r) {
		if !s.passed && amd[s.name] {
			out = append(out, s.name)
		}
	}
	return out
}
