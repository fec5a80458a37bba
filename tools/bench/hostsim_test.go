package main

import (
	"io"
	"os"
	"testing"
)

// The host simulator's line is read from the sub-benchmarks' output as go
// test prints it.
func TestHostsimLine(t *testing.T) {
	out := []byte("BenchmarkAuthorizations100Terminals/short-2  2000  131549 ns/op  7602 auths/s  262 cpu-us/auth\n" +
		"BenchmarkAuthorizations100Terminals/kept-2  2000  77633 ns/op  12881 auths/s  155 cpu-us/auth\n")
	results := map[string]map[string]float64{}
	parse(out, results)
	r, w, _ := os.Pipe()
	stdout := os.Stdout
	os.Stdout = w
	printHostsim(results)
	w.Close()
	os.Stdout = stdout
	got, _ := io.ReadAll(r)
	want := "bench: hostsim terminals=100 auths/s=12881\nbench: hostsim terminals=100 connections=short auths/s=7602\n" +
		"bench: hostsim terminals=100 connections=kept cpu-us/auth=155\nbench: hostsim terminals=100 connections=short cpu-us/auth=262\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
