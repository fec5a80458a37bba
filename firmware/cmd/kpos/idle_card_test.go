//go:build sim

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	simboard "kpos/boards/sim"
	"kpos/hal"
)

// TestCardAtIdleIsAnswered: a card presented at the console while no sale
// asks for one is answered, and nothing reaches the reader for the next
// sale to read without its prompt.
func TestCardAtIdleIsAnswered(t *testing.T) {
	a, board := openSim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ready := watchInput(board)
	inst, err := a.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer a.stop(inst)
	sim := simboard.Of(board)
	if _, _, err := sim.Display.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == "idle" }); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"insert unionpay-debit", "tap unionpay-credit", "swipe magstripe-only"} {
		var out strings.Builder
		a.command(ctx, &simTarget{a: a, sim: sim}, ready, line, t.TempDir(), &out)
		if !strings.Contains(out.String(), "no sale in progress: type an amount first") {
			t.Errorf("%q at idle: %q", line, out.String())
		}
	}
	if present, _ := sim.Reader.Present(ctx); present || sim.Reader.Pending() != 0 {
		t.Fatalf("the reader holds a card (%v) or %d events", present, sim.Reader.Pending())
	}
}
