package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// saleCPU measures a whole approved chip sale's CPU time on the simulated
// board with 0, 10,000 and 100,000 transactions already in the journal, all
// three in one run of BenchmarkChipSale (firmware/cmd/kpos: three terminals
// taking turns, the median sale of each), and prints
//
//	bench: sale-cpu empty=<ms> 10k=<ms> 100k=<ms> ratio=<100k/empty>
//
// The goal is a ratio of at most 1.2: a sale costs the same however long
// the terminal has been selling.
func saleCPU(benchtime string) {
	if benchtime == "" {
		// 150 sales per journal: medians that move by a few per cent
		// between runs on a loaded machine, not by a tenth.
		benchtime = "150x"
	}
	start := time.Now()
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkChipSale$", "-benchtime", benchtime,
		"-count", "1", "-timeout", "30m", "./firmware/cmd/kpos")
	out, err := cmd.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: sale-cpu: %v\n%s\n", err, tail(out, 20))
	}
	results := map[string]map[string]float64{}
	parse(out, results)
	fmt.Fprintf(os.Stderr, "bench: ./firmware/cmd/kpos BenchmarkChipSale done in %v\n", time.Since(start).Round(time.Millisecond))
	ms := map[string]string{}
	var empty, big float64
	for _, size := range []string{"empty", "10k", "100k"} {
		v, ok := results["BenchmarkChipSale"][size+"-cpu-ms/sale"]
		if !ok {
			ms[size] = "not-measured"
			continue
		}
		ms[size] = strconv.FormatFloat(v, 'f', 3, 64)
		switch size {
		case "empty":
			empty = v
		case "100k":
			big = v
		}
	}
	ratio := "not-measured"
	if empty > 0 && big > 0 {
		ratio = strconv.FormatFloat(big/empty, 'f', 3, 64)
	}
	fmt.Printf("bench: sale-cpu empty=%s 10k=%s 100k=%s ratio=%s\n", ms["empty"], ms["10k"], ms["100k"], ratio)
}
