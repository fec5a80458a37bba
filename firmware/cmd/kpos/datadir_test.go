package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestASecondHolderOfTheDataDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	var inUse *errDataDirInUse
	if !errors.As(err, &inUse) || inUse.pid != os.Getpid() {
		t.Fatalf("second lock: %v, want in use by pid %d", err, os.Getpid())
	}
	release()
	release, err = lockDataDir(dir)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	release()
}

// TestASecondKposOnTheSameDataFailsAtOnce: the firmware names the holder at
// once instead of waiting on the journal's own lock.
func TestASecondKposOnTheSameDataFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	start := time.Now()
	out, err := kpos(t, 30*time.Second, "-board", "sim", "-data", dir, "-script", repoPath(t, "testdata/scenarios/chip-sale.txt"))
	if err == nil {
		t.Fatalf("kpos ran on a data directory in use:\n%s", out)
	}
	want := fmt.Sprintf("data directory in use by pid %d", os.Getpid())
	if !strings.Contains(out, want) {
		t.Fatalf("output %q lacks %q", out, want)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("refused after %v: it should not wait", d)
	}
}

// TestScriptsWithoutDataRunSideBySide: without -data every scenario run has
// a fresh directory of its own, so two runs of one scenario started at the
// same moment both pass, and the README's examples pass however often they
// are repeated. A passing run leaves nothing behind.
func TestScriptsWithoutDataRunSideBySide(t *testing.T) {
	tmp := t.TempDir()
	for _, name := range []string{"chip-sale.txt", "void-qr.txt"} {
		var wg sync.WaitGroup
		outs := make([]string, 2)
		errs := make([]error, 2)
		for i := range outs {
			wg.Go(func() {
				outs[i], errs[i] = kposEnv(t, time.Minute, []string{"TMPDIR=" + tmp}, "-board", "sim", "-script", repoPath(t, "testdata/scenarios/"+name))
			})
		}
		wg.Wait()
		for i := range outs {
			if errs[i] != nil || !strings.Contains(outs[i], "PASS") {
				t.Errorf("%s run %d: %v\n%s", name, i, errs[i], outs[i])
			}
		}
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "kpos-*"))
	if len(left) != 0 {
		t.Errorf("passing runs left %v behind", left)
	}
}
