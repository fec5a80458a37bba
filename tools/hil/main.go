// Command hil is the hardware-in-the-loop suite: it builds kpos for the host
// and for ARMv7, runs every scenario file (those of testdata/scenarios, the
// binding ones on a blank terminal, those that must fail, and the fault
// scenarios of testdata/scenarios/faults) against each binary, the ARM one
// under qemu-arm-static; runs a power-cut campaign against each (kill -9 at
// the firmware's crash points and at random moments, restart, and at the
// end the host's records and the journal must agree); scans every artefact
// of the run for secrets in the clear; and ends with a summary table.
// docs/hil.md is its manual.
//
// It drives kpos only from outside, as a process, through its flags,
// scenario files, data folder and a host simulator of its own; it knows
// nothing of the firmware's insides but the journal's format.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"kpos/tools/hil/leak"
	"kpos/tools/hostsim"
	"kpos/tools/lossyfs"
)

func main() {
	if os.Getenv(lossyfsEnv) == "1" {
		os.Exit(lossyfs.Main(os.Args[1:], os.Stderr))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	out    string
	arches []string
	parts  map[string]bool
	plans  map[string]campaignPlan
	seed   uint64
	qemu   string
	only   string
	lossy  bool
}

var allParts = []string{"scenarios", "campaign", "board", "leaks"}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var arch, parts string
	fs := flag.NewFlagSet("hil", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "build/hil", "folder for the runs: each run gets OUT/<UTC time>/")
	fs.StringVar(&arch, "arch", "amd64,armv7", "binaries to build and test: amd64, armv7")
	fs.StringVar(&parts, "parts", strings.Join(allParts, ","), "what to run: scenarios, campaign, board, leaks")
	amd, arm := campaignPlan{}, campaignPlan{}
	fs.IntVar(&amd.cuts, "cuts", 1000, "power cuts the amd64 campaign aims for")
	fs.IntVar(&amd.min, "min-cuts", 200, "power cuts the amd64 campaign must reach")
	fs.DurationVar(&amd.budget, "campaign-time", 75*time.Second, "time after which the amd64 campaign stops once past -min-cuts")
	fs.IntVar(&arm.cuts, "arm-cuts", 100, "power cuts the armv7 campaign (under qemu) aims for")
	fs.IntVar(&arm.min, "arm-min-cuts", 30, "power cuts the armv7 campaign must reach")
	fs.DurationVar(&arm.budget, "arm-campaign-time", 90*time.Second, "time after which the armv7 campaign stops once past -arm-min-cuts")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed of the campaign (0: from the clock; the summary names it)")
	fs.StringVar(&o.qemu, "qemu", "qemu-arm-static", "user-mode emulator for the armv7 binary")
	fs.StringVar(&o.only, "only", "", "run only the scenario files whose name contains this")
	fs.BoolVar(&o.lossy, "lossy", true, "campaign on the lossy filesystem (tools/lossyfs), when FUSE can be used")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("hil: unexpected argument %q", fs.Arg(0))
	}
	if amd.min > amd.cuts {
		amd.cuts = amd.min
	}
	if arm.min > arm.cuts {
		arm.cuts = arm.min
	}
	amd.lossy, arm.lossy = o.lossy, o.lossy
	o.plans = map[string]campaignPlan{"amd64": amd, "armv7": arm}
	o.arches = splitList(arch)
	o.parts = map[string]bool{}
	for _, p := range splitList(parts) {
		if !contains(allParts, p) {
			return o, fmt.Errorf("hil: unknown part %q (have %s)", p, strings.Join(allParts, ", "))
		}
		o.parts[p] = true
	}
	for _, a := range o.arches {
		if a != "amd64" && a != "armv7" {
			return o, fmt.Errorf("hil: unknown architecture %q (amd64, armv7)", a)
		}
	}
	if len(o.arches) == 0 {
		return o, errors.New("hil: no architecture to test")
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// archResult is what the suite found for one binary.
type archResult struct {
	arch      string
	bin       *binary
	buildErr  error
	scenarios []scenarioResult
	ranScen   bool
	campaign  *campaignResult
	campErr   error
	board     []scenarioResult
	ranBoard  bool
	boardErr  error
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseOptions(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	out := o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(root, out)
	}
	runDir := filepath.Join(out, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "hil:", err)
		return 2
	}
	progress, err := os.Create(filepath.Join(runDir, "hil.log"))
	if err != nil {
		fmt.Fprintln(stderr, "hil:", err)
		return 2
	}
	defer progress.Close()
	logf := func(format string, a ...any) {
		line := fmt.Sprintf(format, a...)
		fmt.Fprintln(stdout, line)
		fmt.Fprintln(progress, line)
	}
	rel, _ := filepath.Rel(root, runDir)
	logf("hil: run %s, seed %d", rel, o.seed)
	started := time.Now()

	buildLog, err := os.Create(filepath.Join(runDir, "build.log"))
	if err != nil {
		fmt.Fprintln(stderr, "hil:", err)
		return 2
	}
	var results []*archResult
	for _, arch := range o.arches {
		r := &archResult{arch: arch}
		results = append(results, r)
		t0 := time.Now()
		bin, err := build(ctx, root, filepath.Join(runDir, "bin"), arch, o.qemu, buildLog)
		if err != nil {
			r.buildErr = err
			logf("FAIL %s: %v", arch, err)
			continue
		}
		logf("built %s in %v", arch, time.Since(t0).Round(time.Second))
		took, err := bin.measureSlowdown(ctx, root, filepath.Join(runDir, arch, "calibration"))
		if err != nil {
			r.buildErr = err
			logf("FAIL %s: %v", arch, err)
			continue
		}
		logf("      %s slow-down ×%d (calibration sale %v against %v nominal): every scenario wait scales by it",
			arch, bin.slow, took.Round(time.Millisecond), calibrationNominal)
		r.bin = &bin
		if o.parts["scenarios"] {
			r.ranScen = true
			dir := filepath.Join(runDir, arch, "scenarios")
			r.scenarios, err = runScenarios(ctx, root, dir, bin, o.only, logf)
			if err != nil {
				r.buildErr = err
				logf("FAIL %s scenarios: %v", arch, err)
			}
		}
		if o.parts["campaign"] {
			plan := o.plans[arch]
			if plan.cuts > 0 {
				logf("      %s campaign: %d power cuts (at least %d; %v to go past that)…", arch, plan.cuts, plan.min, plan.budget)
				res, err := runCampaign(ctx, root, filepath.Join(runDir, arch, "campaign"), bin, plan, o.seed, logf)
				r.campaign, r.campErr = &res, err
				logf("%s %-5s campaign: %d power cuts survived in %d runs, %v", passMark(err == nil && len(res.problems) == 0),
					arch, res.cuts, res.runs, res.elapsed.Round(time.Second))
				for _, p := range res.problems {
					logf("      %s", p)
				}
				if err != nil {
					logf("      %v", err)
				}
			}
		}
	}
	buildLog.Close()
	if o.parts["board"] {
		// The hil board after the rest: it starts pcscd and the emulators.
		for _, r := range results {
			if r.bin == nil {
				continue
			}
			r.ranBoard = true
			r.board, r.boardErr = runBoard(ctx, root, filepath.Join(runDir, r.arch, "board"), *r.bin, o.only, logf)
			if r.boardErr != nil {
				logf("FAIL %s hil board: %v", r.arch, r.boardErr)
			}
		}
	}

	var findings []leak.Finding
	files := 0
	var leakErr error
	if o.parts["leaks"] {
		findings, files, leakErr = scanRun(root, runDir)
		for _, f := range findings {
			logf("LEAK %s", f)
		}
		if leakErr != nil {
			logf("FAIL leak scan: %v", leakErr)
		}
	}
	sum := summary(results, o, findings, files, leakErr, rel, time.Since(started))
	fmt.Fprint(stdout, sum.text)
	fmt.Fprint(progress, sum.text)
	if err := os.WriteFile(filepath.Join(runDir, "summary.txt"), []byte(sum.text), 0o600); err != nil {
		fmt.Fprintln(stderr, "hil:", err)
		return 1
	}
	if !sum.ok {
		return 1
	}
	return 0
}

func passMark(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// repoRoot finds the module root from the working folder up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "testdata", "scenarios")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hil: run me inside the kpos source tree")
		}
		dir = parent
	}
}

// scanRun looks through every artefact of the run for the test cards'
// PANs and PINs and the test keys (testdata/host), skipping the binaries
// the scripts the runner wrote and the hil step transcripts (they hold
// the PINs the customer types and the PANs a scenario checks are absent).
func scanRun(root, runDir string) ([]leak.Finding, int, error) {
	data, err := hostsim.LoadData(filepath.Join(root, "testdata", "host"))
	if err != nil {
		return nil, 0, err
	}
	var s leak.Secrets
	for _, c := range data.Cards {
		s.Cards = append(s.Cards, leak.Card{Name: c.Profile, PAN: c.PAN, PIN: c.PIN})
	}
	for _, is := range data.Issuers {
		s.Keys = append(s.Keys, leak.Key{Name: "IMK-AC " + is.Name, Hex: is.IMKAC})
	}
	for _, t := range data.Terminals {
		if t.TMK != "" {
			s.Keys = append(s.Keys, leak.Key{Name: "TMK " + t.Serial, Hex: t.TMK})
		}
	}
	// Each terminal's own device key (and so every key sealed under it)
	// must stay in its file too.
	keyFiles, err := findFiles(runDir, "device.key")
	if err != nil {
		return nil, 0, err
	}
	for _, kf := range keyFiles {
		raw, err := os.ReadFile(kf)
		if err != nil {
			return nil, 0, err
		}
		rel, _ := filepath.Rel(runDir, kf)
		s.Keys = append(s.Keys, leak.Key{Name: "device key " + filepath.ToSlash(filepath.Dir(rel)), Hex: hex.EncodeToString(raw)})
	}
	sc, err := leak.New(s)
	if err != nil {
		return nil, 0, err
	}
	return sc.ScanDir(runDir, func(rel string) bool {
		first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		base := filepath.Base(rel)
		return first == "bin" || base == "scripts" || base == "steps.log" || rel == "build.log"
	})
}

// findFiles lists the files named name under root.
func findFiles(root, name string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == name {
			out = append(out, path)
		}
		return nil
	})
	return out, err
}
