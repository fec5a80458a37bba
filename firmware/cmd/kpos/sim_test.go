package main

// The in-process tests and benchmarks open the simulated board whatever the
// build tags: test binaries never ship.
import _ "kpos/boards/sim"
