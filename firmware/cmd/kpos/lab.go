//go:build sim

package main

// The development build (go build -tags sim) adds the laboratory: the
// simulated board with its host and card simulators, test keys and test
// passwords, the scenario runner and the counter in a terminal window.
// `make run`, scenarios and the tests use it; the production firmware
// (`make arm`, the device image) is built without the tag and links none of
// it.
import _ "kpos/boards/sim"

// buildKind names the build in -version.
const buildKind = "development build"
