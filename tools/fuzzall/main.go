// Command fuzzall finds every fuzz target in the module (go test -list),
// lists them, and runs each for a short while, one at a time, printing a
// summary. `make fuzz` runs it; -list only lists. A crash leaves its input
// under the package's testdata/fuzz folder, where it becomes a regression
// test.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	fuzztime := flag.String("fuzztime", "10s", "how long each target runs")
	pattern := flag.String("pkg", "./...", "packages to search")
	listOnly := flag.Bool("list", false, "list the targets and run none")
	flag.Parse()

	list, err := exec.Command("go", "test", "-list", "^Fuzz", *pattern).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fuzzall: listing targets:", err)
		os.Exit(2)
	}
	type target struct{ pkg, name string }
	var targets []target
	var pending []string
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Fuzz"):
			pending = append(pending, line)
		case strings.HasPrefix(line, "ok "):
			pkg := strings.Fields(line)[1]
			for _, n := range pending {
				targets = append(targets, target{pkg, n})
			}
			pending = nil
		}
	}
	fmt.Printf("%d fuzz targets:\n", len(targets))
	for _, t := range targets {
		fmt.Printf("  %-40s %s\n", t.pkg, t.name)
	}
	if *listOnly {
		return
	}
	failed := 0
	for _, t := range targets {
		start := time.Now()
		cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.name+"$", "-fuzztime", *fuzztime, t.pkg)
		out, err := cmd.CombinedOutput()
		status := "ok"
		if err != nil {
			status = "FAIL"
			failed++
			fmt.Fprintf(os.Stderr, "%s\n", out)
		}
		fmt.Printf("%-4s %-40s %-30s %v\n", status, t.pkg, t.name, time.Since(start).Round(time.Second))
	}
	fmt.Printf("%d fuzz targets, %d failed\n", len(targets), failed)
	if failed > 0 {
		os.Exit(1)
	}
}
