package main

import "testing"

func TestParseSaleCPU(t *testing.T) {
	out := []byte("BenchmarkChipSale-2   \t     150\t  87635914 ns/op\t         6.152 100k-cpu-ms/sale\t         5.612 10k-cpu-ms/sale\t         3.654 empty-cpu-ms/sale\n")
	results := map[string]map[string]float64{}
	parse(out, results)
	m := results["BenchmarkChipSale"]
	if m["empty-cpu-ms/sale"] != 3.654 || m["10k-cpu-ms/sale"] != 5.612 || m["100k-cpu-ms/sale"] != 6.152 {
		t.Fatalf("parsed %v", results)
	}
}
