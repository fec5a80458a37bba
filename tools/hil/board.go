package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kpos/tools/scenario"
)

// runBoard runs every scenario of testdata/hil on the hil board: for each
// file a fresh rig (pcscd, emulators, host simulator, keypad/display pty)
// and a factory-fresh terminal, driven from outside through hilTarget.
func runBoard(ctx context.Context, root, dir string, b binary, only string, logf func(string, ...any)) ([]scenarioResult, error) {
	files, err := filepath.Glob(filepath.Join(root, "testdata", "hil", "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("hil: no scenario files under testdata/hil")
	}
	sort.Strings(files)
	var results []scenarioResult
	for _, file := range files {
		name := "hil/" + filepath.Base(file)
		if only != "" && !strings.Contains(name, only) {
			continue
		}
		r := runBoardScenario(ctx, root, filepath.Join(dir, strings.TrimSuffix(filepath.Base(file), ".txt")), b, file)
		r.name = name
		logf("%s %-5s %-40s %v", passMark(r.passed), b.arch, name, r.elapsed.Round(time.Millisecond))
		if !r.passed {
			logf("      %s", strings.ReplaceAll(r.detail, "\n", "\n      "))
		}
		results = append(results, r)
	}
	return results, nil
}

func runBoardScenario(ctx context.Context, root, dir string, b binary, file string) scenarioResult {
	start := time.Now()
	res := scenarioResult{faults: faultKinds(file)}
	fail := func(err error) scenarioResult {
		res.detail, res.elapsed = err.Error(), time.Since(start)
		return res
	}
	f, err := os.Open(file)
	if err != nil {
		return fail(err)
	}
	script, err := scenario.Parse(file, f)
	f.Close()
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(err)
	}
	rig, err := startRig(ctx, root, dir, b)
	if err != nil {
		return fail(err)
	}
	defer rig.close()
	if err := rig.startKpos(); err != nil {
		return fail(err)
	}
	transcript, err := os.Create(filepath.Join(dir, "steps.log"))
	if err != nil {
		return fail(err)
	}
	defer transcript.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Duration(b.slow)*3*time.Minute)
	defer cancel()
	runner := &scenario.Runner{Target: hilTarget{r: rig}, Timeout: time.Duration(b.slow) * 5 * time.Second, Log: transcript}
	if err := runner.Run(sctx, script); err != nil {
		fmt.Fprintf(transcript, "FAIL %v\n", err)
		return fail(err)
	}
	fmt.Fprintf(transcript, "PASS\n")
	res.passed, res.elapsed = true, time.Since(start)
	return res
}
