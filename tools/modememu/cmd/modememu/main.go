// Command modememu runs the modem emulator on a pseudo-terminal and takes
// fault commands on standard input, one per line:
//
//	sim on|off      insert or remove the SIM card
//	net on|off      bring the cell up or down
//	stuck on|off    lose registration until the next power cycle
//	drop            drop every open socket
//	slow DURATION   delay every answer (e.g. "slow 2s", "slow 0")
//	ring            report an incoming call
//	power           press the power key
//	stats           print counters
//	quit            stop
//
// It prints the pty path first; point the modem driver's Device at it.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"kpos/tools/modememu"
)

func main() {
	operator := flag.String("operator", "CHINA MOBILE", "network name the module reports")
	signal := flag.Int("signal", 24, "AT+CSQ rssi 0..31")
	off := flag.Bool("off", false, "start powered off, waiting for the power key")
	verbose := flag.Bool("v", false, "log to standard error")
	flag.Parse()

	log := slog.New(slog.DiscardHandler)
	if *verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	emu, err := modememu.New(modememu.Config{Operator: *operator, Signal: *signal, StartOff: *off, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer emu.Close()
	fmt.Println(emu.Path())
	if err := control(emu, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// control reads fault commands from in until EOF or "quit".
func control(emu *modememu.Emulator, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		arg := ""
		if len(f) > 1 {
			arg = f[1]
		}
		switch f[0] {
		case "sim":
			emu.SetSIM(arg != "off")
		case "net":
			emu.SetNetwork(arg != "off")
		case "stuck":
			emu.SetStuck(arg != "off")
		case "drop":
			fmt.Fprintf(out, "dropped %d\n", emu.DropSockets())
		case "slow":
			d, err := time.ParseDuration(arg)
			if err != nil {
				fmt.Fprintf(out, "slow: %v\n", err)
				continue
			}
			emu.SetDelay(d)
		case "ring":
			emu.Ring()
		case "power":
			if err := emu.Press(context.Background(), 500*time.Millisecond); err != nil {
				fmt.Fprintf(out, "power: %v\n", err)
			}
		case "stats":
			fmt.Fprintf(out, "%+v on=%v\n", emu.Stats(), emu.On())
		case "quit":
			return nil
		default:
			fmt.Fprintf(out, "unknown command %q\n", f[0])
			continue
		}
		fmt.Fprintln(out, "ok")
	}
	return sc.Err()
}
