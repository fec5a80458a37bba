// Command kpos is the terminal firmware: it builds the board named on the
// command line, wires the payment logic to it, recovers whatever a power cut
// left in the journal, signs on, and serves the counter, a scenario file, or
// the technician console.
//
// It is the only package that knows every other one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"kpos/boards"
	_ "kpos/boards/hw"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type flags struct {
	board     string
	boardFile string
	dataDir   string
	params    string
	script    string
	host      string
	crashAt   string
	waitScale float64
	logLevel  string
	logFile   string
	blank     bool
	console   string
	tempData  bool // dataDir was made for this run (a scenario without -data)
	version   bool
	list      bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("kpos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.board, "board", "sim", "board to run on (see -boards)")
	fs.StringVar(&f.boardFile, "board-file", "", "board file with device paths and pins (real boards)")
	fs.StringVar(&f.dataDir, "data", "", "state directory: journal, keys, parameters (default: a per-board folder under the user's cache dir; a new temporary one for -script)")
	fs.StringVar(&f.params, "params", "", "parameter directory: EMV terminal data, CA keys, test cards (default: ./testdata when present)")
	fs.StringVar(&f.script, "script", "", "run this scenario file and exit 0 only if every expectation held")
	fs.StringVar(&f.host, "host", "", "acquirer host address (default: the board's; the sim board runs its own host simulator)")
	fs.Float64Var(&f.waitScale, "wait-scale", 1, "scenario files: multiply every wait by this (the slow-down of an emulated or loaded run)")
	fs.StringVar(&f.crashAt, "crash-at", "", "power-cut testing: kill the process with SIGKILL at this point (after-pending, after-host-answer, after-approved)")
	fs.StringVar(&f.logLevel, "log", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.logFile, "log-file", "", "write logs here (default: kpos.log in the data directory)")
	fs.StringVar(&f.console, "console", "", "serve the technician console on this unix socket (attach with: kpos console PATH)")
	fs.BoolVar(&f.blank, "blank", false, "simulated boards: start as a new terminal that must be bound with a K code")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	fs.BoolVar(&f.list, "boards", false, "list the boards and exit")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	if len(args) > 0 && args[0] == "console" {
		return attachConsole(args[1:], stdout, stderr)
	}
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if f.version {
		fmt.Fprintf(stdout, "kpos %s (%s)\n", version, buildKind)
		return 0
	}
	if f.list {
		for _, n := range boards.Names() {
			fmt.Fprintln(stdout, n)
		}
		return 0
	}
	if err := f.resolveDirs(); err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 1
	}
	if f.tempData {
		// A scenario's own state goes with it, unless it failed and the
		// state is the evidence.
		defer func() {
			if code == 0 {
				os.RemoveAll(filepath.Dir(f.dataDir))
			} else {
				fmt.Fprintln(stderr, "kpos: the failed run's data directory is kept:", f.dataDir)
			}
		}()
	}
	unlock, err := lockDataDir(f.dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 1
	}
	defer unlock()
	logger, ring, closeLog, err := openLog(f)
	if err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 1
	}
	defer closeLog()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	board, err := boards.Open(ctx, f.board, boards.Options{DataDir: f.dataDir, ParamsDir: f.params,
		File: f.boardFile, HostAddr: f.host, Blank: f.blank, Logger: logger})
	if err != nil {
		fmt.Fprintln(stderr, "kpos:", err)
		return 1
	}
	defer board.Close()

	perf := newPerfBook()
	board.Link = &timedLink{Link: board.Link, perf: perf}
	board.Printer = &timedPrinter{Printer: board.Printer, perf: perf}
	if board.Scanner != nil {
		board.Scanner = &timedScanner{Scanner: board.Scanner, perf: perf}
	}
	a := &app{board: board, log: logger, crashAt: f.crashAt, out: stdout, waitScale: f.waitScale}
	a.bootFirmware()
	if err := a.serveConsole(ctx, f.console, ring, perf); err != nil {
		fmt.Fprintln(stderr, "kpos: console:", err)
		return 1
	}
	if f.script != "" {
		return a.runScript(ctx, f.script, stdout, stderr)
	}
	fmt.Fprintln(stdout, "data directory:", f.dataDir)
	return a.interactive(ctx, stdin, stdout, stderr)
}

func (f *flags) resolveDirs() error {
	if f.params == "" {
		if st, err := os.Stat("testdata"); err == nil && st.IsDir() {
			f.params = "testdata"
		} else if exe, err := os.Executable(); err == nil {
			f.params = filepath.Join(filepath.Dir(exe), "..", "share", "kpos")
		}
	}
	if f.dataDir == "" && f.script != "" {
		// A folder of the run's own holds the data directory, so that
		// whatever a board keeps beside it (the sim board's test key)
		// goes with it.
		dir, err := os.MkdirTemp("", "kpos-"+f.board+"-")
		if err != nil {
			return err
		}
		f.dataDir, f.tempData = filepath.Join(dir, "data"), true
		return os.Mkdir(f.dataDir, 0o700)
	}
	if f.dataDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		f.dataDir = filepath.Join(base, "kpos", f.board)
	}
	return os.MkdirAll(f.dataDir, 0o700)
}
