package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// scenarioSet is one folder of scenario files and how its files run.
type scenarioSet struct {
	dir      string // relative to testdata/scenarios
	blank    bool   // on a factory-fresh terminal (-blank)
	mustFail bool   // each file must fail at the line it names
}

// The folders the suite runs: the project's scenarios on a bound terminal,
// the binding ones on a blank terminal, those that must fail, and the fault
// scenarios of this suite.
var scenarioSets = []scenarioSet{
	{dir: "."},
	{dir: "blank", blank: true},
	{dir: "failing", mustFail: true},
	{dir: "faults"},
}

// scenarioResult is one scenario file run on one binary.
type scenarioResult struct {
	name    string // relative to testdata/scenarios
	passed  bool
	faults  []string // the fault kinds the file injects ("fault:" comments and host fault steps)
	elapsed time.Duration
	detail  string // the first lines of the failure
}

// listScenarios returns the files of every set, sorted within each set.
func listScenarios(root string) ([]string, map[string]scenarioSet, error) {
	var names []string
	sets := map[string]scenarioSet{}
	for _, set := range scenarioSets {
		files, err := filepath.Glob(filepath.Join(root, "testdata", "scenarios", set.dir, "*.txt"))
		if err != nil {
			return nil, nil, err
		}
		sort.Strings(files)
		for _, f := range files {
			name := filepath.ToSlash(filepath.Join(set.dir, filepath.Base(f)))
			names = append(names, name)
			sets[name] = set
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("hil: no scenario files under testdata/scenarios")
	}
	return names, sets, nil
}

// runScenarios runs every scenario file on the simulated board of b, each
// with a fresh data folder under dir, and keeps each run's output there.
func runScenarios(ctx context.Context, root, dir string, b binary, only string, logf func(string, ...any)) ([]scenarioResult, error) {
	names, sets, err := listScenarios(root)
	if err != nil {
		return nil, err
	}
	var results []scenarioResult
	for _, name := range names {
		if only != "" && !strings.Contains(name, only) {
			continue
		}
		set := sets[name]
		file := filepath.Join(root, "testdata", "scenarios", filepath.FromSlash(name))
		slug := strings.ReplaceAll(strings.TrimSuffix(name, ".txt"), "/", "_")
		data := filepath.Join(dir, slug)
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		args := []string{"-board", "sim", "-data", data, "-params", filepath.Join(root, "testdata"), "-script", file,
			"-wait-scale", strconv.Itoa(b.slow)}
		if set.blank {
			args = append(args, "-blank")
		}
		o, err := b.runKpos(ctx, root, time.Duration(b.slow)*2*time.Minute, 0, args...)
		r := scenarioResult{name: name, elapsed: o.elapsed, faults: faultKinds(file)}
		switch {
		case err != nil:
			r.detail = err.Error()
		case set.mustFail:
			line := failLine(file)
			r.passed = o.code == 1 && line != "" && bytes.Contains(o.out, []byte(":"+line+": step "))
			if !r.passed {
				r.detail = fmt.Sprintf("must fail with status 1 at line %s, ended with status %d", line, o.code)
			}
		default:
			r.passed = o.code == 0 && bytes.Contains(o.out, []byte("PASS"))
			if !r.passed {
				r.detail = firstLines(string(o.out), 6)
			}
		}
		if werr := os.WriteFile(filepath.Join(dir, slug+".out"), o.out, 0o600); werr != nil {
			return nil, werr
		}
		mark := "PASS"
		if !r.passed {
			mark = "FAIL"
		}
		logf("%s %-5s %-40s %v", mark, b.arch, name, o.elapsed.Round(time.Millisecond))
		if !r.passed {
			logf("      %s", strings.ReplaceAll(r.detail, "\n", "\n      "))
		}
		results = append(results, r)
	}
	return results, nil
}

// faultKinds reads which faults a scenario injects: each "host fault KIND"
// step, each "rig DEVICE FAULT" line of a hil scenario (not the ones that
// heal: paper-in, network-up, cover-shut), and each kind named by a
// "# fault: KIND" comment (card pulled, scanner garbage).
func faultKinds(file string) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var kinds []string
	seen := map[string]bool{}
	add := func(k string) {
		if k != "" && !seen[k] {
			seen[k] = true
			kinds = append(kinds, k)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "# fault:"); ok {
			for _, k := range strings.Fields(rest) {
				add(k)
			}
			continue
		}
		w := strings.Fields(line)
		if len(w) >= 3 && w[0] == "host" && w[1] == "fault" && w[2] != "clear" {
			add("host-" + w[2])
		}
		if len(w) == 3 && w[0] == "rig" && !strings.HasSuffix(w[2], "-in") && !strings.HasSuffix(w[2], "-up") &&
			!strings.HasSuffix(w[2], "-shut") {
			add(w[1] + "-" + w[2])
		}
	}
	return kinds
}

// failLine is the line a must-fail scenario names: "(line N)".
func failLine(file string) string {
	raw, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(string(raw), "(line ")
	if !ok {
		return ""
	}
	n, _, ok := strings.Cut(after, ")")
	if !ok {
		return ""
	}
	return n
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
