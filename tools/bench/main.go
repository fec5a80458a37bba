// Command bench prints the performance figures the project tracks: it runs
// the Go benchmarks that report them (b.ReportMetric), measures the built
// binaries, runs the QR decoding comparison, and prints one table with each
// figure beside its goal. `make bench` runs it after `make arm`.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"
)

// figure is one number the issues ask for: a metric that a benchmark (or
// every sub-benchmark of a family, such as one per card profile) reports.
type figure struct {
	what      string
	pkg       string  // package whose benchmark reports it
	bench     string  // benchmark name; sub-benchmarks are shown one row each
	unit      string  // the unit it reports (b.ReportMetric, or ns/op)
	goal      float64 // 0: no goal, shown for the record
	less      bool    // lower is better
	benchtime string  // go test -benchtime for this benchmark
}

var figures = []figure{
	{"Go heap in use after boot", "./firmware/cmd/kpos", "BenchmarkBootHeap", "heap-MB", 8, true, "3x"},
	{"EMV: kernel CPU time per transaction incl. ODA", "./firmware/emv", "BenchmarkTransaction", "kernel-ms/txn", 2, true, "200x"},
	{"EMV kernel CPU per transaction (tap), card excluded, simulated card", "./tools/cardsim", "BenchmarkKernel", "kernel-cpu-ms/txn", 2, true, "200x"},
	{"EMV: APDUs per transaction, counted on the simulated card", "./tools/cardsim", "BenchmarkKernel", "apdus/txn", 0, true, "200x"},
	{"ISO 8583: pack+unpack of a sale request with field 55", "./firmware/acquirer", "BenchmarkPackUnpackSale", "ns/op", 0, true, "2000x"},
	{"host simulator authorizations/s, 100 terminals, loopback", "./tools/hostsim", "BenchmarkAuthorizations100Terminals", "auths/s", 0, false, "2000x"},
	{"UnionPay ECB MAC of 200 bytes", "./firmware/keys", "BenchmarkMACUnionPayECB200", "µs/mac", 0, true, "2000x"},
	{"SM4 MAC of 200 bytes", "./firmware/keys", "BenchmarkMACSM4ECB200", "µs/mac", 0, true, "2000x"},
	{"settlement with 10,000 transactions in the batch", "./firmware/settle", "BenchmarkSettle10k", "ms/settlement", 200, true, "3x"},
	{"settlement, unbalanced: upload of 10,000 transactions", "./firmware/settle", "BenchmarkSettleUnbalanced10k", "ms/settlement", 0, true, "1x"},
	{"journal size per transaction", "./firmware/journal", "BenchmarkJournalBytesPerTxn", "bytes/txn", 0, true, "1x"},
	{"ESC/POS receipt over a pty to the printer emulator", "./drivers/escpos", "BenchmarkPrintReceipt", "ms/receipt", 0, true, "20x"},
	{"PC/SC: one APDU through pcscd, vpcd and the card simulator", "./tools/cardsim", "BenchmarkPCSCRoundTrip", "ms/APDU", 0, true, "200x"},
	{"signed firmware image verification", "./firmware/update", "BenchmarkVerifyImage", "MB/s", 0, false, "5x"},
}

func main() {
	benchtime := flag.String("benchtime", "", "override every benchmark's -benchtime")
	skipQR := flag.Bool("skip-qr", false, "skip the QR decoding comparison")
	flag.Parse()

	saleCPU(*benchtime)
	results := map[string]map[string]float64{} // benchmark (with sub-name) → unit → value
	ran := map[string]bool{}
	failed := 0 // benchmark runs that failed: their figures are missing or partial
	for _, f := range figures {
		key := f.pkg + " " + f.bench
		if ran[key] {
			continue
		}
		ran[key] = true
		if _, err := os.Stat(strings.TrimPrefix(f.pkg, "./")); err != nil {
			continue
		}
		bt := f.benchtime
		if *benchtime != "" {
			bt = *benchtime
		}
		start := time.Now()
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+f.bench+"$", "-benchtime", bt, "-count", "1", f.pkg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s %s: %v\n%s\n", f.pkg, f.bench, err, tail(out, 20))
			failed++
		}
		parse(out, results)
		fmt.Fprintf(os.Stderr, "bench: %s %s done in %v\n", f.pkg, f.bench, time.Since(start).Round(time.Millisecond))
	}

	fmt.Println()
	fmt.Printf("%-62s %12s %-16s %8s  %s\n", "figure", "measured", "unit", "goal", "")
	fmt.Println(strings.Repeat("-", 118))
	for _, f := range figures {
		var names []string
		for name := range results {
			if name == f.bench || strings.HasPrefix(name, f.bench+"/") {
				if _, ok := results[name][f.unit]; ok {
					names = append(names, name)
				}
			}
		}
		sort.Strings(names)
		if len(names) == 0 {
			show(f.what, 0, false, f.unit, f.goal, f.less)
		}
		for _, name := range names {
			what := f.what
			if sub := strings.TrimPrefix(name, f.bench); sub != "" {
				what += " [" + strings.TrimPrefix(sub, "/") + "]"
			}
			show(what, results[name][f.unit], true, f.unit, f.goal, f.less)
		}
	}
	for _, arch := range []string{"armv7", "arm64"} {
		path := "build/" + arch + "/kpos"
		st, err := os.Stat(path)
		goal := 0.0
		if arch == "armv7" {
			goal = 12
		}
		show("stripped "+arch+" binary size ("+path+")", float64(st.Size())/(1<<20), err == nil, "MB", goal, true)
	}
	fmt.Println()
	printHostsim(results)
	printSMRatios(results)
	if !*skipQR {
		if _, err := os.Stat("tools/qrbench"); err == nil {
			fmt.Println()
			cmd := exec.Command("go", "run", "./tools/qrbench")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "bench: qrbench:", err)
				failed++
			}
		}
	}
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d benchmark runs failed\n", failed)
		os.Exit(1)
	}
}

func show(what string, v float64, ok bool, unit string, goal float64, less bool) {
	if !ok {
		fmt.Printf("%-62s %12s %-16s\n", what, "not measured", unit)
		return
	}
	verdict, g := "", ""
	if goal > 0 {
		g = fmt.Sprintf("%s %g", map[bool]string{true: "<", false: ">"}[less], goal)
		if (less && v < goal) || (!less && v > goal) {
			verdict = fmt.Sprintf("met (%.2f× the goal)", v/goal)
		} else {
			verdict = fmt.Sprintf("MISSED (%.2f× the goal)", v/goal)
		}
	}
	fmt.Printf("%-62s %12.3f %-16s %8s  %s\n", what, v, unit, g, verdict)
}

// parse reads "BenchmarkX-2  10  123 ns/op  4.5 unit …" lines.
func parse(out []byte, into map[string]map[string]float64) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i]
		}
		m := into[name]
		if m == nil {
			m = map[string]float64{}
			into[name] = m
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			m[fields[i+1]] = v
		}
	}
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
