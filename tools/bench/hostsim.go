package main

import "fmt"

// hostsimBench is the host simulator's benchmark, run with the figures
// above: 100 terminals on loopback, with short connections (one per
// exchange, the CUP default) and with kept connections.
const hostsimBench = "BenchmarkAuthorizations100Terminals"

// printHostsim prints the host simulator's line for scripts: terminals that
// keep their connection, as a host serving many terminals sees them, and
// beside it, in a line of its own, the same with one connection per
// exchange.
func printHostsim(results map[string]map[string]float64) {
	kept, ok := results[hostsimBench+"/kept"]["auths/s"]
	if !ok {
		fmt.Println("bench: hostsim terminals=100 auths/s=not-measured")
		return
	}
	fmt.Printf("bench: hostsim terminals=100 auths/s=%.0f\n", kept)
	if short, ok := results[hostsimBench+"/short"]["auths/s"]; ok {
		fmt.Printf("bench: hostsim terminals=100 connections=short auths/s=%.0f\n", short)
	}
	// CPU per authorization does not depend on the machine's other load.
	for _, sub := range []string{"kept", "short"} {
		if us, ok := results[hostsimBench+"/"+sub]["cpu-us/auth"]; ok {
			fmt.Printf("bench: hostsim terminals=100 connections=%s cpu-us/auth=%.0f\n", sub, us)
		}
	}
}
