package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
)

// The ratio lines come from the benchmark output as go test prints it.
func TestPrintSMRatios(t *testing.T) {
	results := map[string]map[string]float64{}
	parse([]byte(`BenchmarkODAChain/rsa-2   200   21179 ns/op   21.16 µs/chain
BenchmarkODAChain/sm2-2   200  424659 ns/op  424.6 µs/chain
BenchmarkMACUnionPayECB200-2  2000  3000 ns/op  3.000 µs/mac
BenchmarkMACSM4ECB200-2  2000  1500 ns/op  1.500 µs/mac
`), results)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	printSMRatios(results)
	os.Stdout = stdout
	w.Close()
	var out bytes.Buffer
	if _, err := io.Copy(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SM2 / RSA, one certificate chain verified", "20.1 x", "SM 424.6, RSA/3DES 21.2 µs/chain",
		"SM4 / 3DES, UnionPay MAC of 200 bytes", "0.5 x"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
