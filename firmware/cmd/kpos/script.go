//go:build sim

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	simboard "kpos/boards/sim"
	"kpos/tools/scenario"
)

// runScript runs one scenario file on a simulated board and reports.
func (a *app) runScript(ctx context.Context, path string, stdout, stderr io.Writer) int {
	if a.board.Sim == nil {
		fmt.Fprintf(stderr, "kpos: board %s cannot run scenarios in-process (use the HIL runner)\n", a.board.Name)
		return 2
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 2
	}
	script, err := scenario.Parse(path, f)
	f.Close()
	if err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 2
	}
	a.saveReceipts()
	inst, err := a.start(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "kpos: start:", err)
		return 1
	}
	started := time.Now()
	runner := &scenario.Runner{Target: &simTarget{a: a, sim: simboard.Of(a.board)}, Scale: a.waitScale}
	err = runner.Run(ctx, script)
	if cur := a.current(); cur != nil {
		inst = cur
	}
	a.stop(inst)
	if err != nil {
		fmt.Fprintf(stderr, "FAIL %s\n%v\n", path, err)
		return 1
	}
	fmt.Fprintf(stdout, "PASS %s (%d steps, %v)\n", path, len(script.Steps), time.Since(started).Round(time.Millisecond))
	return 0
}
