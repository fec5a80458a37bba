//go:build !sim

package main

import (
	"context"
	"fmt"
	"io"
)

// buildKind names the build in -version.
const buildKind = "production build"

// The production firmware carries no scenario runner: scenarios drive the
// simulated board, which only the development build (-tags sim) links.
func (a *app) runScript(ctx context.Context, path string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "kpos: -script needs the development build (go build -tags sim): the production firmware has no simulated board")
	return 2
}

// The production firmware runs its board's own keypad and display.
func (a *app) interactive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	return a.serveHardware(ctx, stderr)
}
