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
	ok := true
	var b strings.Builder
	fmt.Fprintf(&b, "\nHIL summary — run %s, seed %d, %v\n", run, o.seed, took.Round(time.Second))
	tw := tabwriter.NewWriter(&b, 2, 4, 3, ' ', 0)
	row := func(name string, cell func(r *archResult) string) {
		cells := []string{name}
		for _, r := range results {
			cells = append(cells, cell(r))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	row("", func(r *archResult) string { return r.arch })
	row("built", func(r *archResult) string {
		if r.buildErr != nil {
			ok = false
			return "FAILED"
		}
		return "yes"
	})
	if o.parts["scenarios"] {
		row("scenarios passed", func(r *archResult) string {
			if !r.ranScen {
				return "-"
			}
			pass := 0
			for _, s := range r.scenarios {
				if s.passed {
					pass++
				}
			}
			if pass != len(r.scenarios) || len(r.scenarios) == 0 && o.only == "" {
				ok = false
			}
			return fmt.Sprintf("%d/%d", pass, len(r.scenarios))
		})
		row("fault kinds survived", func(r *archResult) string {
			if !r.ranScen && !r.ranBoard {
				return "-"
			}
			survived, all := faultTally(append(append([]scenarioResult(nil), r.scenarios...), r.board...))
			return fmt.Sprintf("%d/%d", len(survived), len(all))
		})
	}
	if o.parts["board"] {
		row("hil board scenarios passed", func(r *archResult) string {
			if !r.ranBoard {
				return "-"
			}
			pass := 0
			for _, s := range r.board {
				if s.passed {
					pass++
				}
			}
			if r.boardErr != nil || pass != len(r.board) || len(r.board) == 0 && o.only == "" {
				ok = false
			}
			return fmt.Sprintf("%d/%d", pass, len(r.board))
		})
	}
	if o.parts["campaign"] {
		row("power cuts survived", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			c := r.campaign
			if r.campErr != nil || len(c.problems) > 0 {
				ok = false
				return fmt.Sprintf("%d FAILED", c.cuts)
			}
			return fmt.Sprintf("%d", c.cuts)
		})
		row("  on the lossy filesystem", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			if !r.campaign.lossy {
				return "no (SIGKILL only)"
			}
			m := r.campaign.cutModes
			return fmt.Sprintf("drop %d, prefix %d, torn %d", m[lossyfs.Drop], m[lossyfs.Prefix], m[lossyfs.Tear])
		})
		row("  at crash points", func(r *archResult) string { return byMode(r, "crash-at") })
		row("  at random moments", func(r *archResult) string { return byMode(r, "random kill") })
		row("  during host faults", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			n := 0
			for m, k := range r.campaign.byMode {
				if strings.HasPrefix(m, "host ") {
					n += k
				}
			}
			return fmt.Sprint(n)
		})
		row("  during a void", func(r *archResult) string { return byMode(r, "void") })
		row("  during the settlement", func(r *archResult) string { return byMode(r, "settlement") })
		row("  during a sign-on (key download)", func(r *archResult) string { return byMode(r, "key download") })
		row("  during a firmware update", func(r *archResult) string { return byMode(r, "firmware update") })
		row("  during console logins", func(r *archResult) string { return byMode(r, "console") })
		row("  that left a sale in doubt", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			return fmt.Sprint(r.campaign.inDoubt)
		})
		row("  reversal still queued after boot", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			return fmt.Sprint(r.campaign.pendingAfterBoot)
		})
		row("completed/reversed/declined/voided", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			c := r.campaign
			return fmt.Sprintf("%d/%d/%d/%d", c.completed, c.reversed, c.declined, c.voided)
		})
		row("settled, balanced", func(r *archResult) string {
			switch {
			case r.campaign == nil:
				return "-"
			case !r.campaign.settled:
				return "no"
			case r.campaign.settleCut:
				return "yes (after a cut)"
			}
			return "yes"
		})
		row("host and journal agree", func(r *archResult) string {
			if r.campaign == nil {
				return "-"
			}
			if n := len(r.campaign.problems); n > 0 || r.campErr != nil {
				return fmt.Sprintf("NO (%d problems)", n)
			}
			return "yes"
		})
	}
	tw.Flush()
	if o.parts["campaign"] {
		line, lossyOK := lossyLine(results)
		b.WriteString(line + "\n")
		ok = ok && lossyOK
	}
	if o.parts["leaks"] {
		switch {
		case leakErr != nil:
			ok = false
			fmt.Fprintf(&b, "leaks found: scan FAILED: %v\n", leakErr)
		default:
			if len(findings) > 0 {
				ok = false
			}
			fmt.Fprintf(&b, "leaks found: %d (%d artefacts scanned)\n", len(findings), files)
		}
	}
	for _, r := range results {
		for _, s := range append(append([]scenarioResult(nil), r.scenarios...), r.board...) {
			if !s.passed {
				fmt.Fprintf(&b, "failed on %s: %s\n", r.arch, s.name)
			}
		}
		if r.arch != "amd64" {
			for _, name := range armOnlyFailures(results, r) {
				fmt.Fprintf(&b, "BUG: %s fails on %s and passes on amd64\n", name, r.arch)
			}
		}
	}
	if ok {
		b.WriteString("result: PASS\n")
	} else {
		b.WriteString("result: FAIL\n")
	}
	return summaryText{text: b.String(), ok: ok}
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
			for _, s := range append(append([]scenarioResult(nil), x.scenarios...), x.board...) {
				amd[s.name] = s.passed
			}
		}
	}
	var out []string
	for _, s := range append(append([]scenarioResult(nil), r.scenarios...), r.board...) {
		if !s.passed && amd[s.name] {
			out = append(out, s.name)
		}
	}
	return out
}
