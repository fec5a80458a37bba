package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kpos/tools/lossyfs"
)

// TestMain lets the test binary serve the lossy filesystem too, as the
// suite does (startPower runs this program again with lossyfsEnv set).
func TestMain(m *testing.M) {
	if os.Getenv(lossyfsEnv) == "1" {
		os.Exit(lossyfs.Main(os.Args[1:], os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLossyCampaignCatchesSkippedDirSync builds kpos deliberately broken —
// durable.WriteFile without the fsync of the directory after its rename
// (build tag durable_skipdirsync) — and runs a short lossy campaign on it:
// the campaign must report a loss. On a filesystem that keeps every write
// (a SIGKILL-only run, or a lossy layer that stopped losing data) the
// broken build survives, and this test fails.
func TestLossyCampaignCatchesSkippedDirSync(t *testing.T) {
	if err := lossyfs.Available(); err != nil {
		t.Skipf("FUSE unavailable here, the lossy campaign cannot run: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	buildLog, err := os.Create(filepath.Join(dir, "build.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer buildLog.Close()
	bin, err := build(ctx, root, filepath.Join(dir, "bin"), "amd64", "", buildLog, "durable_skipdirsync")
	if err != nil {
		raw, _ := os.ReadFile(filepath.Join(dir, "build.log"))
		t.Fatalf("%v\n%s", err, raw)
	}
	plan := campaignPlan{cuts: 60, min: 1, budget: 2 * time.Minute, lossy: true}
	res, err := runCampaign(ctx, root, filepath.Join(dir, "campaign"), bin, plan, 1, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if !res.lossy {
		t.Fatalf("the campaign did not run on the lossy filesystem: %s", res.lossyWhy)
	}
	if res.lost+res.unopenable == 0 {
		t.Fatalf("a build that skips the directory fsync survived %d lossy cuts: lost %d, unopenable %d; the lossy layer must lose its renames",
			res.cuts, res.lost, res.unopenable)
	}
	t.Logf("caught after %d cuts survived: lost %d, unopenable %d; first problem: %s", res.cuts, res.lost, res.unopenable, res.problems[0])
}
