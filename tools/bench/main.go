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
	"strconv"
	"strings"
	"time"
)

// figure is one number the issues ask for.
type figure struct {
	what  string
	pkg   string // package whose benchmark reports it
	bench string // benchmark name (without the -N suffix)
	unit  string // the unit it reports with b.ReportMetric
	goal  float64
	less  bool // lower is better
}

var figures = []figure{
	{"CPU time of one chip sale, sim board, zero-latency fakes", "./firmware/cmd/kpos", "BenchmarkChipSale", "cpu-ms/sale", 20, true},
	{"Go heap in use after boot", "./firmware/cmd/kpos", "BenchmarkBootHeap", "heap-MB", 8, true},
	{"pack+unpack of a sale request with field 55", "./firmware/acquirer", "BenchmarkPackUnpackSale", "µs/op", 0, true},
	{"host simulator authorizations/s, 100 terminals, loopback", "./tools/hostsim", "BenchmarkHostThroughput", "auths/s", 0, false},
	{"UnionPay ECB MAC of 200 bytes", "./firmware/keys", "BenchmarkMACUnionPayECB200", "µs/mac", 0, true},
	{"SM4 MAC of 200 bytes", "./firmware/keys", "BenchmarkMACSM4ECB200", "µs/mac", 0, true},
	{"settlement with 10,000 transactions in the batch", "./firmware/settle", "BenchmarkSettle10k", "ms/settlement", 200, true},
	{"journal size per transaction", "./firmware/settle", "BenchmarkJournalSize", "bytes/txn", 0, true},
}

func main() {
	benchtime := flag.String("benchtime", "1x", "go test -benchtime for each figure's benchmark")
	skipQR := flag.Bool("skip-qr", false, "skip the QR decoding comparison")
	flag.Parse()

	results := map[string]map[string]float64{} // bench → unit → value
	byPkg := map[string][]string{}
	for _, f := range figures {
		byPkg[f.pkg] = append(byPkg[f.pkg], f.bench)
	}
	for pkg, names := range byPkg {
		if _, err := os.Stat(strings.TrimPrefix(pkg, "./")); err != nil {
			continue
		}
		regex := "^(" + strings.Join(names, "|") + ")$"
		start := time.Now()
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", regex, "-benchtime", *benchtime, "-count", "1", pkg)
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: %s: %v\n%s\n", pkg, err, tail(out, 20))
		}
		parse(out, results)
		fmt.Fprintf(os.Stderr, "bench: %s done in %v\n", pkg, time.Since(start).Round(time.Millisecond))
	}

	fmt.Println()
	fmt.Printf("%-58s %14s %-14s %10s  %s\n", "figure", "measured", "unit", "goal", "")
	fmt.Println(strings.Repeat("-", 110))
	for _, f := range figures {
		v, ok := results[f.bench][f.unit]
		show(f.what, v, ok, f.unit, f.goal, f.less)
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
	if !*skipQR {
		if _, err := os.Stat("tools/qrbench"); err == nil {
			fmt.Println()
			cmd := exec.Command("go", "run", "./tools/qrbench")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "bench: qrbench:", err)
			}
		}
	}
}

func show(what string, v float64, ok bool, unit string, goal float64, less bool) {
	if !ok {
		fmt.Printf("%-58s %14s %-14s\n", what, "not measured", unit)
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
	fmt.Printf("%-58s %14.3f %-14s %10s  %s\n", what, v, unit, g, verdict)
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
