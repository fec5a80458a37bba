// Command pwcost measures the PBKDF2 cost of the merchant password on the
// machine it runs on: cross-compile it for a board, run it there, and put
// the number it prints in the board file as password_iterations
// (docs/boards.md). It measures a few times and prints the median.
package main

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"kpos/firmware/merchantpw"
)

func main() {
	target := flag.Duration("target", 100*time.Millisecond, "how long one password check may take")
	runs := flag.Int("runs", 5, "measurements; the median is printed")
	flag.Parse()
	if *runs < 1 || *target <= 0 {
		fmt.Fprintln(os.Stderr, "pwcost: -runs must be at least 1 and -target positive")
		os.Exit(2)
	}
	var got []int
	for range *runs {
		got = append(got, merchantpw.Calibrate(*target))
	}
	slices.Sort(got)
	fmt.Printf("password_iterations = %d # about %v per check on this CPU\n", got[len(got)/2], *target)
}
