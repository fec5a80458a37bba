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
	raw, err := os.ReadFile(file)
	if err != nil {
		return fail(err)
	}
	segments, err := parseRigScript(file, string(raw))
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
	target := hilTarget{r: rig}
	runner := &scenario.Runner{Target: target, Scale: float64(b.slow), Log: transcript}
	for _, seg := range segments {
		if seg.action != "" {
			fmt.Fprintf(transcript, "%s:%d: rig %s\n", file, seg.line, seg.action)
			if err := rig.act(seg.action); err != nil {
				err = fmt.Errorf("%s:%d: rig %s: %w", file, seg.line, seg.action, err)
				fmt.Fprintf(transcript, "FAIL %v\n", err)
				return fail(err)
			}
			// What the display shows now is where the next steps look
			// from: the scenario language matches screens after a cursor
			// that each run starts afresh.
			rig.mu.Lock()
			rig.base = max(0, len(rig.screens)-1)
			rig.mu.Unlock()
			continue
		}
		if err := runner.Run(sctx, seg.script); err != nil {
			fmt.Fprintf(transcript, "FAIL %v\n", err)
			return fail(err)
		}
	}
	fmt.Fprintf(transcript, "PASS\n")
	res.passed, res.elapsed = true, time.Since(start)
	return res
}

// segment is a run of scenario steps, or one rig action between them.
type segment struct {
	script *scenario.Script
	action string // "printer paper-out", …; "" for steps
	line   int
}

// parseRigScript reads a hil scenario: the scenario language, plus lines
// "rig DEVICE ACTION" that act on the emulated hardware (docs/hil.md):
// the paper runs out, the cover opens, the modem loses the network. The
// scenario language has no verbs for these, so the runner splits the file
// at them.
func parseRigScript(name, text string) ([]segment, error) {
	lines := strings.Split(text, "\n")
	var segs []segment
	var chunk []string
	first := 1
	flush := func() error {
		// Blank lines in front keep the file's line numbers, in parse
		// errors and in failures.
		body := strings.Repeat("\n", first-1) + strings.Join(chunk, "\n")
		sc, err := scenario.Parse(name, strings.NewReader(body))
		if err != nil {
			return err
		}
		if len(sc.Steps) > 0 {
			segs = append(segs, segment{script: sc})
		}
		chunk = nil
		return nil
	}
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "rig "); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			if !knownRigAction(strings.TrimSpace(rest)) {
				return nil, fmt.Errorf("%s:%d: unknown rig action %q", name, i+1, rest)
			}
			segs = append(segs, segment{action: strings.TrimSpace(rest), line: i + 1})
			first = i + 2
			continue
		}
		chunk = append(chunk, l)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return segs, nil
}
