package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kpos/firmware/durable"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/hal"
	"kpos/hal/fake"
)

const helpText = `Keypad
  1234        type digits          (enter)      ENTER on an empty line
  c           CANCEL               x            CLEAR (delete a digit)
  menu        MENU: the merchant menu (QR, cash, void, refund, settlement…)
  f1          F1 (print a QR code or a balance; letters when typing a K code)
Card and codes
  insert NAME   chip card in the slot      tap NAME    contactless
  swipe NAME    magnetic stripe            remove      take the card away
  pin 123456    the customer types a PIN   pin cancel  the customer cancels
  scan TEXT     show a code to the scanner
  cards         list the test cards
Looking inside
  journal       the last transactions (masked)
  receipts      where printed receipts are saved
  host          the host simulator's records
Host simulator
  host otp      the bank's SMS one-time code (binding), typed for you
  host pay-qr   the customer pays the merchant QR code on the screen
  host revoke   the bank revokes this terminal's binding
  fault KIND    make the host misbehave: no-answer, drop, drop-after, bad-mac,
                garbage, wrong-stan, delay 5s; 'fault clear' ends it
Other
  help          this text           quit        stop the terminal
`

// interactive runs the simulated board in the terminal window: the display
// drawn as a box, keypad keys and card actions typed as commands.
func (a *app) interactive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	sim := a.board.Sim
	if sim == nil {
		fmt.Fprintf(stderr, "kpos: board %s has no simulated devices; it runs its own keypad and display\n", a.board.Name)
		return a.serveHardware(ctx, stderr)
	}
	var outMu sync.Mutex
	sim.Display.OnShow = func(s hal.Screen) {
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprint(stdout, drawScreen(s))
	}
	dir := a.saveReceipts()
	prev := sim.Printer.OnPrint
	sim.Printer.OnPrint = func(d hal.Document) {
		prev(d)
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprintf(stdout, "\n%s\n", receipt.Text(d, 32))
	}
	fmt.Fprintf(stdout, "kpos %s on the %s board. Type 'help' for commands; test cards: %s\n", version, a.board.Name,
		strings.Join(sim.Cards(), ", "))
	inst, err := a.start(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "kpos: start:", err)
		return 1
	}
	if inst.bootErr != nil {
		fmt.Fprintln(stdout, "boot:", inst.bootErr)
	}
	a.confirmFirmware(ctx, inst)
	t := &simTarget{a: a, sim: sim}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			a.stop(a.current())
			return 0
		case line, ok := <-lines:
			if !ok {
				a.stop(a.current())
				return 0
			}
			if quit := a.command(ctx, t, strings.TrimSpace(line), dir, stdout); quit {
				a.stop(a.current())
				return 0
			}
		}
	}
}

// command carries out one typed line; it returns true on quit.
func (a *app) command(ctx context.Context, t *simTarget, line, receipts string, out io.Writer) bool {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		_ = t.Press(ctx, hal.KeyEnter)
		return false
	}
	arg := strings.TrimSpace(strings.TrimPrefix(line, fields[0]))
	say := func(format string, v ...any) { fmt.Fprintf(out, format+"\n", v...) }
	switch strings.ToLower(fields[0]) {
	case "quit", "exit", "q":
		return true
	case "help", "?":
		fmt.Fprint(out, helpText)
	case "c", "cancel":
		_ = t.Press(ctx, hal.KeyCancel)
	case "x", "clear":
		_ = t.Press(ctx, hal.KeyClear)
	case "menu":
		_ = t.Press(ctx, hal.KeyMenu)
	case "f1":
		_ = t.Press(ctx, hal.KeyF1)
	case "insert", "tap", "swipe":
		if arg == "" {
			say("%s which card? %s", fields[0], strings.Join(t.sim.Cards(), ", "))
			break
		}
		if err := t.Present(ctx, strings.ToLower(fields[0]), arg); err != nil {
			say("%v", err)
		}
	case "remove":
		_ = t.Remove(ctx)
	case "pin":
		if strings.EqualFold(arg, "cancel") {
			_ = t.CancelPIN(ctx)
		} else {
			t.sim.PINPad.Enter(fake.PINEntry{Digits: arg})
		}
	case "scan":
		_ = t.Scan(ctx, arg)
	case "cards":
		say("%s", strings.Join(t.sim.Cards(), "\n"))
	case "receipts":
		say("receipts are saved in %s", receipts)
	case "journal":
		a.printJournal(out)
	case "host":
		if t.sim.Host == nil {
			say("no host simulator on this board")
			break
		}
		if arg != "" {
			if err := t.Host(ctx, arg); err != nil {
				say("%v", err)
			}
			break
		}
		for _, kind := range []string{"sale", "reversal", "settlement"} {
			say("%-10s approved %d, declined %d, all %d", kind, t.sim.Host.Count(kind, "approved"),
				t.sim.Host.Count(kind, "declined"), t.sim.Host.Count(kind, ""))
		}
	case "fault":
		if err := t.Host(ctx, "fault "+arg); err != nil {
			say("%v", err)
		}
	default:
		if isKeys(line) {
			for _, r := range strings.ReplaceAll(line, " ", "") {
				_ = t.Press(ctx, hal.Key(r))
			}
			break
		}
		say("unknown command %q; type 'help'", fields[0])
	}
	return false
}

func isKeys(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != ' ' && r != '.' {
			return false
		}
	}
	return true
}

func (a *app) printJournal(out io.Writer) {
	inst := a.current()
	if inst == nil {
		return
	}
	txns, err := inst.journal.List(0)
	if err != nil {
		fmt.Fprintln(out, "journal:", err)
		return
	}
	if len(txns) > 10 {
		txns = txns[len(txns)-10:]
	}
	for _, t := range txns {
		fmt.Fprintln(out, t.String())
	}
}

// saveReceipts makes the simulated printer save every document to a file
// under the data directory, and returns that folder. A receipt is written
// durably (a power cut leaves it whole or not at all, and never takes back
// one printed), under a name no earlier receipt has: the counter restarts
// with the process, so a name already taken moves it on.
func (a *app) saveReceipts() string {
	dir := filepath.Join(a.board.DataDir, "receipts")
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		a.log.Error("receipts folder", "err", err)
	}
	var n int
	var mu sync.Mutex
	a.board.Sim.Printer.OnPrint = func(d hal.Document) {
		mu.Lock()
		defer mu.Unlock()
		var path string
		for {
			n++
			path = filepath.Join(dir, fmt.Sprintf("%s-%03d-%s.txt", time.Now().Format("20060102-150405"), n, d.Name))
			if _, err := os.Lstat(path); err != nil {
				break // free (or unreadable: the write will say so)
			}
		}
		if err := durable.WriteFile(path, []byte(receipt.Text(d, 32)), 0o600); err != nil {
			a.log.Error("save receipt", "err", err)
		}
	}
	return dir
}

// drawScreen draws a screen as a box in the terminal window.
func drawScreen(s hal.Screen) string {
	lines := append([]string{s.Title}, s.Lines...)
	width := 34
	for _, l := range lines {
		if w := receipt.Columns(l) + 2; w > width {
			width = w
		}
	}
	var b strings.Builder
	b.WriteString("\n┌" + strings.Repeat("─", width) + "┐ " + s.ID + "\n")
	for i, l := range lines {
		pad := width - 1 - receipt.Columns(l)
		if i == 0 {
			l = "\x1b[1m" + l + "\x1b[0m"
		}
		b.WriteString("│ " + l + strings.Repeat(" ", max(pad, 0)) + "│\n")
	}
	b.WriteString("└" + strings.Repeat("─", width) + "┘\n")
	if s.QR != "" {
		// Drawn for real, so a phone can scan it off the window.
		if m, err := qr.Matrix(s.QR); err == nil {
			b.WriteString(qr.HalfBlocks(m, true))
		}
		b.WriteString("[QR] " + s.QR + "\n")
	}
	return b.String()
}

// serveHardware runs the terminal on a board with its own keypad and
// display until ctx ends.
func (a *app) serveHardware(ctx context.Context, stderr io.Writer) int {
	inst, err := a.start(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "kpos: start:", err)
		return 1
	}
	a.confirmFirmware(ctx, inst)
	<-ctx.Done()
	a.stop(inst)
	return 0
}
