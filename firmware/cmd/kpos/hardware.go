package main

import (
	"context"
	"fmt"
	"io"
)

// serveHardware runs the terminal on a board with its own keypad and
// display until ctx ends.
func (a *app) serveHardware(ctx context.Context, stderr io.Writer) int {
	inst, err := a.start(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "kpos: start:", err)
		return 1
	}
	a.confirmFirmware(ctx, inst)
	<-ctx.Done()
	a.stop(inst)
	return 0
}
