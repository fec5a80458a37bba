//go:build sim

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

	"kpos/boards"
	simboard "kpos/boards/sim"
	"kpos/firmware/durable"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/menu"
	"kpos/firmware/terminal/settlement"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
	"kpos/hal/fake"
)

const helpText = `Keypad (each line is carried out when the terminal is ready for it)
  1234        type digits (12.5: a decimal point types yuan)
  enter       ENTER (or an empty line: the Enter that ends a line is not the keypad's)
  c           CANCEL (or Esc)      x            CLEAR: delete a digit (or Backspace)
  menu        MENU: the merchant menu (QR, cash, void, refund, settlement…)
  up, down    UP, DOWN: turn a menu's pages (or the arrow keys)
  f1          F1 (or the F1 key): print a QR code or a balance; letters when typing a K code
Card and codes (while a sale asks for them)
  insert NAME   chip card in the slot      tap NAME    contactless
  swipe NAME    magnetic stripe            remove      take the card away
  pin 123456    the customer types a PIN   pin cancel  the customer cancels
  scan TEXT     show a code to the scanner
  cards         list the test cards
Looking inside
  journal       the last transactions (masked)
  receipts      where printed receipts are saved
  host          the host simulator's records, by kind
Host simulator
  host otp      the bank's SMS one-time code (binding), typed for you
  host pay-qr   the customer pays the merchant QR code on the screen
  host revoke   the bank revokes this terminal's binding
  fault KIND    make the host misbehave: no-answer, drop, drop-after, bad-mac,
                garbage, wrong-stan; 'fault clear' ends it
  fault delay 2s  the host answers 2 s late: the terminal waits up to %s,
                so a delay of %s or more is no answer (the sale is reversed)
Other
  # text        a comment (a # at the start or after a space): ignored
  help          this text
  quit          stop the terminal
`

// noSale is the answer to a card, PIN or code offered at the idle screen.
const noSale = "no sale in progress: type an amount first"

// interactive runs the simulated board in the terminal window: the display
// drawn as a box of the board's size, keypad keys and card actions typed as
// commands. Each line waits until the terminal is ready for input, so lines
// pasted or piped in do not overtake it.
func (a *app) interactive(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) int {
	sim := simboard.Of(a.board)
	if sim == nil {
		fmt.Fprintf(stderr, "kpos: board %s has no simulated devices; it runs its own keypad and display\n", a.board.Name)
		return a.serveHardware(ctx, stderr)
	}
	ready := watchInput(a.board)
	size := ui.Size{Columns: a.board.DisplaySize.Columns, Rows: a.board.DisplaySize.Rows}
	if size.Columns == 0 || size.Rows == 0 {
		size = ui.Size{Columns: 32, Rows: 10} // a board that declares none: a countertop terminal's
	}
	var outMu sync.Mutex
	sim.Display.OnShow = func(s hal.Screen) {
		ready.shown()
		outMu.Lock()
		defer outMu.Unlock()
		fmt.Fprint(stdout, drawScreen(s, size))
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
			ready.settle(ctx, sim)
			outMu.Lock()
			quit := a.command(ctx, t, ready, line, dir, stdout)
			outMu.Unlock()
			if quit {
				a.stop(a.current())
				return 0
			}
		}
	}
}

// hostKinds are the kinds of record the host summary counts, every one the
// terminal sends: the transaction kinds as the host names them
// (firmware/txkind), then reversals, settlement and batch upload
// (docs/scenarios.md names them).
var hostKinds = append(txkind.HostNames(), "reversal", "settlement", "batch-upload")

// command carries out one typed line; it returns true on quit. Its
// answers go to out while the screens wait.
func (a *app) command(ctx context.Context, t *simTarget, ready *readiness, line, receipts string, out io.Writer) bool {
	say := func(format string, v ...any) { fmt.Fprintf(out, format+"\n", v...) }
	if i := commentAt(line); i >= 0 {
		if line = line[:i]; strings.TrimSpace(line) == "" {
			return false // a comment alone is not an empty line
		}
	}
	if keys, fn, ok := keyLine(line); ok {
		if fn != "" {
			say("%s is not a key of this keypad: F1, the arrows (UP, DOWN), Esc (CANCEL) and Backspace (CLEAR) are", fn)
			return false
		}
		if len(keys) == 0 {
			keys = []hal.Key{hal.KeyEnter}
		}
		_ = t.Press(ctx, keys...)
		return false
	}
	line = strings.TrimSpace(line)
	fields := strings.Fields(line)
	arg := strings.TrimSpace(strings.TrimPrefix(line, fields[0]))
	screen := t.sim.Display.Current().ID
	cmd := strings.ToLower(fields[0])
	switch cmd {
	case "insert", "tap", "swipe", "pin", "scan":
		if screen == ui.Idle || screen == menu.ScreenMenu {
			say("%s", noSale)
			return false
		}
	}
	if k, ok := keyWords[cmd]; ok {
		_ = t.Press(ctx, k)
		return false
	}
	switch cmd {
	case "quit", "exit", "q":
		return true
	case "help", "?":
		fmt.Fprintf(out, helpText, a.board.HostTimeout, a.board.HostTimeout)
	case "insert", "tap", "swipe":
		if arg == "" {
			say("%s which card? %s", fields[0], strings.Join(t.sim.Cards(), ", "))
			break
		}
		// The terminal answers a card with a screen; until it has drawn
		// one, the screen shown now is not what the next line meets.
		ready.awaitChange()
		if err := t.Present(ctx, cmd, arg); err != nil {
			say("%v", err)
		}
	case "remove":
		if present, err := t.sim.Reader.Present(ctx); err == nil && !present {
			say("no card in the reader")
			break
		}
		ready.awaitChange()
		_ = t.Remove(ctx)
	case "pin":
		if screen != ui.EnterPIN {
			say("no PIN asked for now: the customer types it when the screen says 请输入密码 Enter PIN")
			break
		}
		ready.queue()
		if strings.EqualFold(arg, "cancel") {
			_ = t.CancelPIN(ctx)
		} else {
			t.sim.PINPad.Enter(fake.PINEntry{Digits: arg})
		}
	case "scan":
		ready.queue()
		_ = t.Scan(ctx, arg)
	case "cards":
		say("%s", strings.Join(t.sim.Cards(), "\n"))
	case "receipts":
		say("receipts are saved in %s", receipts)
	case "journal":
		a.printJournal(out)
	case "host":
		hostCommand(ctx, t, ready, arg, say)
	case "fault":
		if err := t.Host(ctx, "fault "+arg); err != nil {
			say("%v", err)
			break
		}
		if d, ok := faultDelay(arg); ok && a.board.HostTimeout > 0 && d >= a.board.HostTimeout {
			say("the host will answer %v late; the terminal waits %v: it sees no answer, and reverses the sale", d, a.board.HostTimeout)
		}
	default:
		say("unknown command %q; type 'help'", fields[0])
	}
	return false
}

// keyWords are the keypad keys named by a word.
var keyWords = map[string]hal.Key{
	"enter": hal.KeyEnter, "ok": hal.KeyEnter, "e": hal.KeyEnter,
	"c": hal.KeyCancel, "cancel": hal.KeyCancel, "x": hal.KeyClear, "clear": hal.KeyClear,
	"menu": hal.KeyMenu, "up": hal.KeyUp, "down": hal.KeyDown, "f1": hal.KeyF1,
}

// hostCommand is 'host': the host simulator's summary, or a command to it.
func hostCommand(ctx context.Context, t *simTarget, ready *readiness, arg string, say func(string, ...any)) {
	if t.sim.Host == nil {
		say("no host simulator on this board")
		return
	}
	if arg != "" {
		if err := t.Host(ctx, arg); err != nil {
			say("%v", err)
		} else if strings.HasPrefix(arg, "pay-qr") {
			ready.awaitChange() // the terminal learns of it when it next asks the host
		}
		return
	}
	for _, kind := range hostKinds {
		all := t.sim.Host.Count(kind, "")
		if all == 0 && kind != "sale" {
			continue
		}
		say("%-28s approved %d, declined %d, all %d", kind, t.sim.Host.Count(kind, "approved"),
			t.sim.Host.Count(kind, "declined"), all)
	}
}

// commentAt is where a comment starts in line: a # at its start or after a
// space (a # inside a word, as in a scanned address, is text). -1: none.
func commentAt(line string) int {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// faultDelay is the delay of a "delay DURATION …" fault.
func faultDelay(arg string) (time.Duration, bool) {
	words := strings.Fields(arg)
	if len(words) < 2 || words[0] != "delay" {
		return 0, false
	}
	for _, w := range words[1:] {
		if d, err := time.ParseDuration(w); err == nil {
			return d, true
		}
	}
	return 0, false
}

// The escape sequences a terminal window sends for its function and arrow
// keys (xterm and VT220 forms, and the Linux console's), and the keypad key
// each is; the function keys the keypad lacks are named so that the answer
// can say so.
var (
	escapeKeys = map[string]hal.Key{
		"\x1bOP": hal.KeyF1, "\x1b[11~": hal.KeyF1, "\x1b[[A": hal.KeyF1, "\x1b[1P": hal.KeyF1,
		"\x1b[A": hal.KeyUp, "\x1bOA": hal.KeyUp, "\x1b[B": hal.KeyDown, "\x1bOB": hal.KeyDown,
	}
	escapeNames = map[string]string{
		"\x1bOQ": "F2", "\x1bOR": "F3", "\x1bOS": "F4", "\x1b[12~": "F2", "\x1b[13~": "F3", "\x1b[14~": "F4",
		"\x1b[[B": "F2", "\x1b[[C": "F3", "\x1b[[D": "F4", "\x1b[[E": "F5", "\x1b[15~": "F5", "\x1b[17~": "F6",
		"\x1b[18~": "F7", "\x1b[19~": "F8", "\x1b[20~": "F9", "\x1b[21~": "F10", "\x1b[23~": "F11", "\x1b[24~": "F12",
		"\x1b[C": "the right arrow", "\x1b[D": "the left arrow", "\x1bOC": "the right arrow", "\x1bOD": "the left arrow",
		"\x1b[H": "Home", "\x1b[F": "End", "\x1b[2~": "Insert", "\x1b[3~": "Delete", "\x1b[5~": "Page Up", "\x1b[6~": "Page Down",
	}
)

// keyLine reads a line made only of keypad keys: digits, decimal points,
// spaces, the escape sequences of keys (F1, the arrows), Esc alone
// (CANCEL) and Backspace (CLEAR). ok is false for any other line (a
// command). fn names a key the keypad does not have, when one was sent.
func keyLine(line string) (keys []hal.Key, fn string, ok bool) {
	for i := 0; i < len(line); {
		c := line[i]
		switch {
		case c >= '0' && c <= '9', c == '.':
			keys = append(keys, hal.Key(c))
			i++
		case c == ' ' || c == '\t':
			i++
		case c == 0x7f || c == 0x08:
			keys = append(keys, hal.KeyClear)
			i++
		case c == 0x1b:
			seq := escapeSequence(line[i:])
			if seq == "\x1b" {
				keys = append(keys, hal.KeyCancel)
			} else if k, known := escapeKeys[seq]; known {
				keys = append(keys, k)
			} else if name, named := escapeNames[seq]; named {
				fn = name
			} else {
				fn = fmt.Sprintf("the key sending %q", seq)
			}
			i += len(seq)
		default:
			return nil, "", false
		}
	}
	return keys, fn, true
}

// escapeSequence is the escape sequence at the start of s: ESC O and a
// letter, ESC [ [ and a letter, ESC [ then parameters and a final byte, or
// ESC alone.
func escapeSequence(s string) string {
	switch {
	case len(s) >= 3 && s[1] == 'O':
		return s[:3]
	case len(s) >= 4 && s[1] == '[' && s[2] == '[':
		return s[:4]
	case len(s) >= 3 && s[1] == '[':
		for j := 2; j < len(s); j++ {
			if s[j] >= 0x40 && s[j] <= 0x7e {
				return s[:j+1]
			}
		}
	}
	return s[:1]
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
	simboard.Of(a.board).Printer.OnPrint = func(d hal.Document) {
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

// drawScreen draws a screen as the board's display shows it: a box of the
// display's size (ui.Layout wraps and shortens the text to it), the screen's
// ID beside it, and a QR code below.
func drawScreen(s hal.Screen, size ui.Size) string {
	rows := ui.Layout(s, size)
	width := ui.Width(rows[0]) + 2
	var b strings.Builder
	b.WriteString("\n┌" + strings.Repeat("─", width) + "┐ " + s.ID + "\n")
	for i, l := range rows {
		if i == 0 {
			l = "\x1b[1m" + l + "\x1b[0m"
		}
		b.WriteString("│ " + l + " │\n")
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

// readiness knows when the firmware waits for input: it counts the waits on
// the board's input devices and notes when a screen was last shown.
type readiness struct {
	mu      sync.Mutex
	waiting int
	queued  int       // PIN entries and codes given and not yet taken
	lastAt  time.Time // a screen shown, or an input taken
	// changeAfter, when set, is when something changed that the firmware
	// learns of by itself (a QR order paid at the host): the terminal is
	// ready once it has shown a new screen since.
	changeAfter time.Time
}

// watchInput wraps the board's input devices so that their waits are
// counted; it must run before the firmware starts.
func watchInput(b *boards.Board) *readiness {
	r := &readiness{lastAt: time.Now()}
	b.Keypad = watchedKeypad{b.Keypad, r}
	b.Reader = watchedReader{b.Reader, r}
	b.PINPad = watchedPINPad{b.PINPad, r}
	if b.Scanner != nil {
		b.Scanner = watchedScanner{b.Scanner, r}
	}
	return r
}

// wait counts one wait for input until the returned func is called.
func (r *readiness) wait() func() {
	r.mu.Lock()
	r.waiting++
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		r.waiting--
		r.mu.Unlock()
	}
}

// queue counts a PIN entry or a code given to the simulated devices, which
// (unlike keys and card events) do not say how many wait to be taken.
func (r *readiness) queue() {
	r.mu.Lock()
	r.queued++
	r.mu.Unlock()
}

// taken counts one queued input taken.
func (r *readiness) taken() {
	r.mu.Lock()
	r.queued = max(r.queued-1, 0)
	r.lastAt = time.Now()
	r.mu.Unlock()
}

// awaitChange makes the next settle wait for a new screen.
func (r *readiness) awaitChange() {
	r.mu.Lock()
	r.changeAfter = time.Now()
	r.mu.Unlock()
}

func (r *readiness) shown() {
	r.mu.Lock()
	r.lastAt = time.Now()
	r.mu.Unlock()
}

// How long the screen must stay unchanged, with the firmware waiting for
// input and every key and card event taken, for the terminal to be ready;
// and the longest a line waits for that (a host that never answers is
// given up on sooner).
const (
	settleQuiet = 100 * time.Millisecond
	settleMax   = 15 * time.Second
)

// busyScreens are the screens of work under way: the terminal shows the
// next screen by itself, whatever it waits for meanwhile (a watch on the
// card slot, the cancel key), so the next line waits for it. A loaded
// machine can keep one on the display for longer than settleQuiet.
var busyScreens = map[string]bool{
	ui.ReadingCard: true, ui.Processing: true, ui.Reversing: true, ui.Printing: true,
	settlement.ScreenSettling: true,
}

// settle returns when the firmware is ready for the next line, as a person
// at the counter waits for the screen before acting, or after settleMax.
func (r *readiness) settle(ctx context.Context, sim *simboard.Devices) {
	ctx, cancel := context.WithTimeout(ctx, settleMax)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ready := r.waiting > 0 && r.queued == 0 && time.Since(r.lastAt) >= settleQuiet && r.lastAt.After(r.changeAfter)
		r.mu.Unlock()
		ready = ready && !busyScreens[sim.Display.Current().ID]
		if ready && sim.Keypad.Pending() == 0 && sim.Reader.Pending() == 0 {
			return
		}
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.queued = 0 // not taken: nothing waits for it any more
			r.changeAfter = time.Time{}
			r.mu.Unlock()
			return
		case <-tick.C:
		}
	}
}

type watchedKeypad struct {
	hal.Keypad
	r *readiness
}

func (k watchedKeypad) Key(ctx context.Context) (hal.Key, error) {
	defer k.r.wait()()
	key, err := k.Keypad.Key(ctx)
	if err == nil {
		k.r.shown() // a key taken is news: the quiet time starts again
	}
	return key, err
}

type watchedReader struct {
	hal.CardReader
	r *readiness
}

func (c watchedReader) WaitEvent(ctx context.Context) (hal.CardEvent, error) {
	defer c.r.wait()()
	return c.CardReader.WaitEvent(ctx)
}

type watchedPINPad struct {
	hal.PINPad
	r *readiness
}

func (p watchedPINPad) PINBlock(ctx context.Context, req hal.PINRequest) (hal.PINBlock, error) {
	defer p.r.wait()()
	pb, err := p.PINPad.PINBlock(ctx, req)
	if ctx.Err() == nil {
		p.r.taken()
	}
	return pb, err
}

type watchedScanner struct {
	hal.Scanner
	r *readiness
}

func (s watchedScanner) Scan(ctx context.Context) (string, error) {
	defer s.r.wait()()
	text, err := s.Scanner.Scan(ctx)
	if ctx.Err() == nil {
		s.r.taken()
	}
	return text, err
}
