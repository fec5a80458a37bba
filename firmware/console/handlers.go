package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"kpos/firmware/durable"
	"kpos/firmware/update"
)

// commands is the console's command table, in the order help lists it.
func commands() []*command {
	return []*command{
		{name: "help", usage: "[COMMAND]", summary: "list commands, or explain one",
			help: "help lists every command; help COMMAND shows its usage. Commands marked * need 'priv'.\nEvery command takes -json for machine-readable output.", run: runHelp},
		{name: "status", summary: "version, board, binding, batch, link, last errors",
			help: "Shows what the terminal is and how it is doing.", run: runStatus},
		{name: "test", usage: "reader|printer|scanner|modem|keypad|display|leds", summary: "run a device self-test",
			subs: []string{"reader", "printer", "scanner", "modem", "keypad", "display", "leds"},
			help: "reader waits for a card; printer prints a test page and reads the status; scanner reads one code;\nmodem shows SIM, signal and registration; keypad echoes keys until ENTER; display shows a\ntest pattern; leds cycles the LEDs and the buzzer. Ctrl-C stops a test.", run: runTest},
		{name: "modem", usage: "at COMMAND", summary: "pass one AT command to the modem (*)", subs: []string{"at"},
			help: "Sends COMMAND (quoted if it has spaces) to the modem and shows the reply. For diagnostics.", privileged: always, run: runModem},
		{name: "param", usage: "list | get NAME | set NAME VALUE", summary: "terminal parameters (set *)", subs: []string{"list", "get", "set"},
			help:       "Values are validated before they are stored; sensitive values are shown masked.",
			privileged: func(a []string) bool { return first(a) == "set" }, run: runParam},
		{name: "keys", summary: "key check values and load dates", help: "Lists the keys with their check values. Key material is never shown.", run: runKeys},
		{name: "binding", summary: "K-code binding status", help: "Shows the terminal's binding to its merchant and bank.", run: runBinding},
		{name: "journal", usage: "list [N] | show TRACE", summary: "transactions of the open batch (masked)", subs: []string{"list", "show"},
			help: "list shows the newest N (default 20) transactions; show prints one by trace number.", run: runJournal},
		{name: "reprint", usage: "TRACE | last", summary: "reprint a receipt", subs: []string{"last"}, help: "Prints the receipt of a trace number again, or of the last transaction.", run: runReprint},
		{name: "settle", summary: "settle the open batch now (*)", help: "Runs settlement with the host and prints the report.", privileged: always, run: runSettle},
		{name: "log", usage: "tail [N] | level [debug|info|warn|error]", summary: "firmware log (level change *)", subs: []string{"tail", "level"},
			help:       "tail shows the last N (default 20) log lines; level shows or sets the log level.",
			privileged: func(a []string) bool { return first(a) == "level" && len(a) > 1 }, run: runLog},
		{name: "perf", summary: "response times per host and device", help: "Count, errors, median, 95th percentile and maximum response time.", run: runPerf},
		{name: "backup", usage: "FILE | -", summary: "back up journal and parameters (*)",
			help: "Writes the journal and the parameters with an integrity header (length and SHA-256) to FILE,\nor with - prints them as base64 lines to copy from the console.", privileged: always, run: runBackup},
		{name: "restore", usage: "FILE | -", summary: "restore a backup (*)",
			help: "Checks the integrity header and restores from FILE, or with - from base64 lines pasted into\nthe console. Refused when the backup is damaged or would lose unsettled transactions.", privileged: always, interactive: true, run: runRestore},
		{name: "update", usage: "[FILE [--force]]", summary: "firmware slots; install a signed image (*)",
			help:       "Without FILE shows the A/B slots. With FILE verifies the signed image and writes it to the\ninactive slot; the new firmware runs on trial after 'reboot' and rolls back unless it reports\nhealthy. --force allows a downgrade.",
			privileged: func(a []string) bool { return len(a) > 0 }, run: runUpdate},
		{name: "reboot", summary: "restart the terminal (*)", help: "Restarts the terminal.", privileged: always, run: runReboot},
		{name: "passwd", summary: "change the technician password (*)", help: "Asks for the current and the new password (8+ characters, digits and others).", privileged: always, interactive: true, run: runPasswd},
		{name: "term", usage: "[cols N | cols auto]", summary: "terminal width", subs: []string{"cols"},
			help: "Shows the width output is folded at. cols N sets it (20 to 1000); cols auto asks the terminal\n(ESC[6n), as every login does.", run: runTerm},
		{name: "priv", summary: "enable privileged commands", help: "Asks for the technician password again. Privileges lapse after a quiet period, on logout\nand on 'unpriv'.", interactive: true, run: runPriv},
		{name: "unpriv", summary: "drop privileges", help: "Returns to read-only commands.", run: runUnpriv},
		{name: "logout", summary: "end the session, back to the login prompt", help: "Logs out.", run: func(context.Context, *session, []string, *output) error { return errLogout }},
		{name: "exit", summary: "end the session and disconnect", help: "Logs out and closes the connection.", run: func(context.Context, *session, []string, *output) error { return errExit }},
	}
}

func noArgs(cmd string, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%s takes no arguments (got '%s')", cmd, args[0])
	}
	return nil
}

func runHelp(_ context.Context, s *session, args []string, o *output) error {
	if len(args) > 1 {
		return badUsage(s.c.byName["help"], "help takes at most one command name")
	}
	if len(args) == 1 {
		cmd := s.c.byName[args[0]]
		if cmd == nil {
			msg := fmt.Sprintf("no command '%s'", args[0])
			if sug := suggest(args[0], s.c.commandNames()); sug != "" {
				msg += fmt.Sprintf(" — did you mean '%s'?", sug)
			}
			return errors.New(msg)
		}
		o.data = map[string]any{"command": cmd.name, "usage": strings.TrimSpace(cmd.name + " " + cmd.usage), "summary": cmd.summary, "help": cmd.help}
		o.printf("usage: %s %s\n%s\n", cmd.name, cmd.usage, cmd.help)
		return nil
	}
	type entry struct {
		Name       string `json:"name"`
		Usage      string `json:"usage"`
		Summary    string `json:"summary"`
		Privileged bool   `json:"privileged"`
	}
	var list []entry
	var rows [][]string
	for _, cmd := range s.c.cmds {
		list = append(list, entry{cmd.name, cmd.usage, cmd.summary, cmd.privileged != nil})
		rows = append(rows, []string{cmd.name, cmd.summary})
	}
	o.data = list
	o.text.WriteString(o.table([]string{"COMMAND", "WHAT IT DOES"}, rows, nil, nil))
	o.printf("(*) needs 'priv'. 'help COMMAND' for details; every command takes -json.\n")
	return nil
}

func runStatus(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("status", args); err != nil {
		return err
	}
	if s.c.svc.Status == nil {
		return ErrNotAvailable
	}
	st, err := s.c.svc.Status.Status(ctx)
	if err != nil {
		return err
	}
	var slots *update.State
	if s.c.svc.Update != nil {
		if us, err := s.c.svc.Update.Status(); err == nil {
			slots = &us
		}
	}
	o.data = struct {
		Status
		UptimeS int64         `json:"uptime_s"`
		Update  *update.State `json:"update,omitempty"`
	}{st, int64(st.Uptime / time.Second), slots}
	pairs := [][2]string{
		{"version", fmt.Sprintf("%s (board %s)", st.Version, st.Board)},
	}
	if st.Serial != "" {
		pairs = append(pairs, [2]string{"serial", st.Serial})
	}
	pairs = append(pairs, [2]string{"uptime", st.Uptime.Truncate(time.Second).String()},
		[2]string{"binding", st.Binding},
		[2]string{"batch", fmt.Sprintf("%06d: %d transactions, %d unsettled", st.Batch.Number, st.Batch.Count, st.Batch.Unsettled)})
	for _, t := range st.Batch.Totals {
		pairs = append(pairs, [2]string{"", fmt.Sprintf("%-5s sales %d / %s  refunds %d / %s  voids %d",
			t.Method, t.SaleCount, money(t.SaleAmount), t.RefundCount, money(t.RefundAmount), t.VoidCount)})
	}
	pairs = append(pairs, [2]string{"link", linkText(st.Link)})
	if slots != nil {
		pairs = append(pairs, [2]string{"firmware", slotText(*slots)})
	}
	if len(st.LastErrors) == 0 {
		pairs = append(pairs, [2]string{"errors", "none"})
	}
	for i, e := range st.LastErrors {
		k := ""
		if i == 0 {
			k = "errors"
		}
		pairs = append(pairs, [2]string{k, cut(fmt.Sprintf("%s %s: %s", e.Time.Format("01-02 15:04"), e.Source, e.Message), o.width-10)})
	}
	o.text.WriteString(kv(pairs...))
	return nil
}

func linkText(l LinkInfo) string {
	if !l.Up {
		t := l.Kind + " down"
		if l.Detail != "" {
			t += ": " + l.Detail
		}
		return t
	}
	t := l.Kind + " up"
	if l.Kind == "cellular" {
		reg := "not registered"
		if l.Registered {
			reg = "registered"
		}
		t += fmt.Sprintf(", %s, signal %s", reg, signalText(l.Signal))
	}
	if l.Operator != "" {
		t += ", " + l.Operator
	}
	return t
}

func signalText(n int) string {
	if n < 0 || n > 31 {
		return "unknown"
	}
	return fmt.Sprintf("%d/31", n)
}

func slotText(st update.State) string {
	t := fmt.Sprintf("slot %s %s", st.Active, st.Info(st.Active).Version)
	if st.Trial {
		t += fmt.Sprintf(" (trial, boot %d)", st.Boots)
	}
	return t
}

func runTest(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["test"]
	if len(args) != 1 {
		return badUsage(cmd, "test needs one device")
	}
	d := s.c.svc.Devices
	if d == nil {
		return ErrNotAvailable
	}
	live := func(msg string) {
		if !o.json {
			s.println(msg)
		}
	}
	switch args[0] {
	case "reader":
		live("Insert, tap or swipe a card (Ctrl-C to stop)...")
		r, err := d.DetectCard(ctx)
		if err != nil {
			return err
		}
		o.data = r
		o.printf("reader ok: card %s (%s)", r.Event, r.Interface)
		if r.ATRLen > 0 {
			o.printf(", ATR %d bytes", r.ATRLen)
		}
		o.printf("\n")
	case "printer":
		if err := d.PrinterTestPage(ctx); err != nil {
			st, serr := d.PrinterStatus(ctx)
			if serr == nil && !st.Ready {
				return fmt.Errorf("test page not printed: %s", printerAdvice(st))
			}
			return fmt.Errorf("test page not printed: %w", err)
		}
		st, err := d.PrinterStatus(ctx)
		if err != nil {
			return err
		}
		o.data = map[string]any{"test_page": "printed", "status": st}
		o.printf("printer ok: test page printed; %s\n", printerAdvice(st))
	case "scanner":
		live("Show a QR or bar code to the scanner (Ctrl-C to stop)...")
		r, err := d.ScanOne(ctx)
		if err != nil {
			return err
		}
		r.Text = cut(r.Text, 64)
		o.data = r
		o.printf("scanner ok: %s code, %q\n", r.Kind, r.Text)
	case "modem":
		m, err := d.Modem(ctx)
		if err != nil {
			return err
		}
		o.data = m
		o.text.WriteString(kv(
			[2]string{"model", orDash(m.Model)},
			[2]string{"SIM", m.SIM + iccid(m.ICCIDMasked)},
			[2]string{"signal", signalText(m.Signal)},
			[2]string{"network", m.Registration + opText(m.Operator)},
		))
	case "keypad":
		live("Press keys on the terminal; ENTER ends the test (Ctrl-C to stop)...")
		keys, err := d.KeypadTest(ctx)
		if err != nil {
			return err
		}
		o.data = map[string]any{"keys": keys}
		o.printf("keypad ok: %s\n", strings.Join(keys, " "))
	case "display":
		if err := d.DisplayTest(ctx); err != nil {
			return err
		}
		o.printf("display ok: test pattern shown; check every pixel and both colours.\n")
	case "leds":
		if err := d.IndicatorTest(ctx); err != nil {
			return err
		}
		o.printf("leds ok: LEDs cycled and buzzer sounded.\n")
	default:
		msg := fmt.Sprintf("unknown device '%s'", args[0])
		if sug := suggest(args[0], cmd.subs); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return badUsage(cmd, "%s", msg)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func iccid(m string) string {
	if m == "" {
		return ""
	}
	return ", ICCID " + m
}

func opText(op string) string {
	if op == "" {
		return ""
	}
	return ", " + op
}

// printerAdvice tells the technician what the printer needs.
func printerAdvice(st PrinterState) string {
	switch {
	case st.PaperOut:
		return "out of paper: load a paper roll"
	case st.CoverOpen:
		return "cover open: close the cover"
	case st.Error != "":
		return "fault: " + st.Error + ": call support"
	case st.PaperNearEnd:
		return "ready, paper near its end"
	}
	return "ready"
}

func runModem(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["modem"]
	if len(args) != 2 || args[0] != "at" {
		return badUsage(cmd, "modem needs 'at' and one AT command")
	}
	at := args[1]
	o.auditArgs = []string{"at", maskAT(at)}
	if len(at) < 2 || !strings.EqualFold(at[:2], "AT") || len(at) > 256 {
		return badUsage(cmd, "'%s' is not an AT command", maskAT(at))
	}
	for _, c := range []byte(at) {
		if c < 0x20 || c > 0x7e {
			return badUsage(cmd, "AT commands are printable ASCII")
		}
	}
	if s.c.svc.Devices == nil {
		return ErrNotAvailable
	}
	lines, err := s.c.svc.Devices.ModemAT(ctx, at)
	if err != nil {
		return err
	}
	o.data = map[string]any{"reply": lines}
	for _, l := range lines {
		o.printf("%s\n", l)
	}
	return nil
}

// maskAT hides SIM PINs and PUKs in AT commands (+CPIN, +CLCK, +CPWD).
func maskAT(at string) string {
	up := strings.ToUpper(at)
	for _, c := range []string{"+CPIN", "+CLCK", "+CPWD"} {
		if i := strings.Index(up, c); i >= 0 && strings.Contains(at[i:], "=") {
			eq := i + strings.Index(at[i:], "=")
			return at[:eq+1] + "****"
		}
	}
	return at
}

func runParam(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["param"]
	p := s.c.svc.Params
	if len(args) == 0 {
		return badUsage(cmd, "param needs list, get or set")
	}
	switch args[0] {
	case "list":
		if len(args) != 1 {
			return badUsage(cmd, "param list takes no more arguments")
		}
		if p == nil {
			return ErrNotAvailable
		}
		list, err := p.List(ctx)
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(list))
		for i := range list {
			list[i] = maskParam(list[i])
			ro := ""
			if list[i].ReadOnly {
				ro = " (read-only)"
			}
			rows = append(rows, []string{list[i].Name, list[i].Value, list[i].Description + ro})
		}
		if list == nil {
			list = []Param{}
		}
		o.data = list
		o.text.WriteString(o.table([]string{"NAME", "VALUE", "DESCRIPTION"}, rows, nil, []int{0}))
	case "get":
		if len(args) != 2 {
			return badUsage(cmd, "param get needs one NAME")
		}
		if p == nil {
			return ErrNotAvailable
		}
		v, err := p.Get(ctx, args[1])
		if errors.Is(err, ErrNotFound) {
			return paramNotFound(ctx, p, args[1])
		}
		if err != nil {
			return err
		}
		v = maskParam(v)
		o.data = v
		o.text.WriteString(kv([2]string{"name", v.Name}, [2]string{"value", v.Value}, [2]string{"about", v.Description}))
	case "set":
		if len(args) != 3 {
			return badUsage(cmd, "param set needs NAME and VALUE (quote a value with spaces)")
		}
		if p == nil {
			return ErrNotAvailable
		}
		name, value := args[1], args[2]
		cur, err := p.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			o.auditArgs = []string{"set", name, "(unknown)"}
			return paramNotFound(ctx, p, name)
		}
		if err != nil {
			return err
		}
		if cur.Sensitive {
			o.auditArgs = []string{"set", name, "****"}
		}
		if cur.ReadOnly {
			return fmt.Errorf("%s is read-only", name)
		}
		if err := p.Set(ctx, name, value); err != nil {
			if errors.Is(err, ErrInvalid) {
				return fmt.Errorf("%s not changed: %w", name, err)
			}
			return err
		}
		after, err := p.Get(ctx, name)
		if err != nil {
			return err
		}
		after = maskParam(after)
		o.data = after
		o.printf("%s = %s\n", after.Name, after.Value)
	default:
		msg := fmt.Sprintf("unknown sub-command '%s'", args[0])
		if sug := suggest(args[0], cmd.subs); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return badUsage(cmd, "%s", msg)
	}
	return nil
}

func maskParam(p Param) Param {
	if p.Sensitive && p.Value != "" {
		p.Value = "****"
	}
	return p
}

func paramNotFound(ctx context.Context, p ParamStore, name string) error {
	msg := fmt.Sprintf("no parameter '%s'", name)
	if list, err := p.List(ctx); err == nil {
		names := make([]string, len(list))
		for i, x := range list {
			names[i] = x.Name
		}
		if sug := suggest(name, names); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
	}
	return fmt.Errorf("%s (%w)", msg, ErrNotFound)
}

func runKeys(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("keys", args); err != nil {
		return err
	}
	if s.c.svc.Keys == nil {
		return ErrNotAvailable
	}
	keys, err := s.c.svc.Keys.Keys(ctx)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(keys))
	for i := range keys {
		// A check value is at most 6 hex digits; anything longer is not
		// a check value and is not shown.
		if len(keys[i].KCV) > 6 {
			keys[i].KCV = keys[i].KCV[:6]
		}
		loaded := "not loaded"
		if keys[i].Loaded {
			loaded = timeStr(keys[i].LoadedAt)
		}
		rows = append(rows, []string{keys[i].Name, keys[i].Algorithm, orDash(keys[i].KCV), loaded})
	}
	if keys == nil {
		keys = []KeyInfo{}
	}
	o.data = keys
	o.text.WriteString(o.table([]string{"KEY", "ALGORITHM", "KCV", "LOADED"}, rows, nil, nil))
	return nil
}

func runBinding(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("binding", args); err != nil {
		return err
	}
	if s.c.svc.Binding == nil {
		return ErrNotAvailable
	}
	b, err := s.c.svc.Binding.Binding(ctx)
	if err != nil {
		return err
	}
	o.data = b
	o.text.WriteString(kv(
		[2]string{"state", b.State},
		[2]string{"TID / MID", orDash(b.TID) + " / " + orDash(b.MID)},
		[2]string{"merchant", orDash(b.Merchant)},
		[2]string{"bank", orDash(b.Bank)},
		[2]string{"bound", timeStr(b.BoundAt)},
		[2]string{"expires", timeStr(b.ExpiresAt)},
		[2]string{"last check", timeStr(b.LastCheck)},
		[2]string{"settlement", orDash(b.SettlementAccount)},
	))
	return nil
}

func parseTrace(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 999999 {
		return 0, fmt.Errorf("'%s' is not a trace number (1 to 999999)", s)
	}
	return uint32(n), nil
}

// optionalCount reads the N of "journal list [N]" and "log tail [N]": 20
// when absent, 1 to 1000 when given.
func optionalCount(cmd *command, args []string, usage string) (int, error) {
	switch len(args) {
	case 1:
		return 20, nil
	case 2:
		v, err := strconv.Atoi(args[1])
		if err != nil || v < 1 || v > 1000 {
			return 0, badUsage(cmd, "'%s' is not a count (1 to 1000)", args[1])
		}
		return v, nil
	}
	return 0, badUsage(cmd, "%s takes at most N", usage)
}

func runJournal(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["journal"]
	j := s.c.svc.Journal
	if len(args) == 0 {
		return badUsage(cmd, "journal needs list or show")
	}
	switch args[0] {
	case "list":
		n, err := optionalCount(cmd, args, "journal list")
		if err != nil {
			return err
		}
		if j == nil {
			return ErrNotAvailable
		}
		list, err := j.List(ctx, n)
		if err != nil {
			return err
		}
		rows := make([][]string, 0, len(list))
		for _, e := range list {
			rows = append(rows, []string{fmt.Sprintf("%06d", e.Trace), e.Time.Format("01-02 15:04"), e.Kind, e.Method,
				money(e.Amount), orDash(e.MaskedPAN), e.State})
		}
		if list == nil {
			list = []JournalEntry{}
		}
		o.data = list
		if len(list) == 0 {
			o.printf("no transactions in the open batch\n")
			return nil
		}
		o.text.WriteString(o.table([]string{"TRACE", "TIME", "KIND", "METHOD", "AMOUNT", "CARD", "STATE"}, rows, []int{4}, []int{0, 4, 5}))
	case "show":
		if len(args) != 2 {
			return badUsage(cmd, "journal show needs one TRACE")
		}
		tr, err := parseTrace(args[1])
		if err != nil {
			return badUsage(cmd, "%v", err)
		}
		if j == nil {
			return ErrNotAvailable
		}
		e, err := j.Show(ctx, tr)
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("no transaction with trace %06d", tr)
		}
		if err != nil {
			return err
		}
		o.data = e
		settled := "no"
		if e.Settled {
			settled = "yes"
		}
		o.text.WriteString(kv(
			[2]string{"trace", fmt.Sprintf("%06d (batch %06d)", e.Trace, e.Batch)},
			[2]string{"time", e.Time.Format("2006-01-02 15:04:05")},
			[2]string{"kind", e.Kind + " by " + e.Method},
			[2]string{"amount", money(e.Amount) + " " + e.Currency},
			[2]string{"card", orDash(e.MaskedPAN)},
			[2]string{"state", e.State + respText(e.Response)},
			[2]string{"auth code", orDash(e.AuthCode)},
			[2]string{"reference", orDash(e.RRN)},
			[2]string{"application", strings.TrimSpace(orDash(e.AppLabel) + " " + e.AID)},
			[2]string{"settled", settled},
		))
	default:
		msg := fmt.Sprintf("unknown sub-command '%s'", args[0])
		if sug := suggest(args[0], cmd.subs); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return badUsage(cmd, "%s", msg)
	}
	return nil
}

func respText(code string) string {
	if code == "" {
		return ""
	}
	return " (response " + code + ")"
}

func runReprint(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["reprint"]
	if len(args) != 1 {
		return badUsage(cmd, "reprint needs a TRACE or 'last'")
	}
	j := s.c.svc.Journal
	if args[0] == "last" {
		if j == nil {
			return ErrNotAvailable
		}
		tr, err := j.ReprintLast(ctx)
		if errors.Is(err, ErrNotFound) {
			return errors.New("nothing to reprint: no transaction yet")
		}
		if err != nil {
			return err
		}
		o.data = map[string]any{"reprinted": tr}
		o.printf("receipt of trace %06d reprinted\n", tr)
		return nil
	}
	tr, err := parseTrace(args[0])
	if err != nil {
		return badUsage(cmd, "%v", err)
	}
	if j == nil {
		return ErrNotAvailable
	}
	if err := j.Reprint(ctx, tr); errors.Is(err, ErrNotFound) {
		return fmt.Errorf("no transaction with trace %06d", tr)
	} else if err != nil {
		return err
	}
	o.data = map[string]any{"reprinted": tr}
	o.printf("receipt of trace %06d reprinted\n", tr)
	return nil
}

func runSettle(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("settle", args); err != nil {
		return err
	}
	if s.c.svc.Journal == nil {
		return ErrNotAvailable
	}
	if !o.json {
		s.println("Settling with the host...")
	}
	r, err := s.c.svc.Journal.Settle(ctx)
	if err != nil {
		return fmt.Errorf("settlement failed: %w", err)
	}
	o.data = r
	how := "balanced with the host"
	if !r.Balanced {
		how = fmt.Sprintf("not balanced: %d transactions uploaded, then closed", r.Uploaded)
	}
	o.printf("batch %06d settled, %s: %d transactions, %s\nnew batch %06d\n", r.Batch, how, r.Count, money(r.Amount), r.NewBatch)
	return nil
}

// logLevels are the levels log level accepts.
func logLevels() []string { return []string{"debug", "info", "warn", "error"} }

func runLog(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["log"]
	l := s.c.svc.Logs
	if len(args) == 0 {
		return badUsage(cmd, "log needs tail or level")
	}
	switch args[0] {
	case "tail":
		n, err := optionalCount(cmd, args, "log tail")
		if err != nil {
			return err
		}
		if l == nil {
			return ErrNotAvailable
		}
		lines, err := l.Tail(ctx, n)
		if err != nil {
			return err
		}
		if lines == nil {
			lines = []LogLine{}
		}
		o.data = lines
		for _, ln := range lines {
			o.printf("%s %-5s %s\n", ln.Time.Format("01-02 15:04:05"), strings.ToUpper(ln.Level), ln.Message)
		}
	case "level":
		if len(args) > 2 {
			return badUsage(cmd, "log level takes one level")
		}
		if l == nil {
			return ErrNotAvailable
		}
		if len(args) == 1 {
			lvl, err := l.Level(ctx)
			if err != nil {
				return err
			}
			o.data = map[string]string{"level": lvl}
			o.printf("log level %s\n", lvl)
			return nil
		}
		lvl := strings.ToLower(args[1])
		ok := false
		for _, x := range logLevels() {
			ok = ok || x == lvl
		}
		if !ok {
			return badUsage(cmd, "'%s' is not a level (%s)", args[1], strings.Join(logLevels(), ", "))
		}
		if err := l.SetLevel(ctx, lvl); err != nil {
			return err
		}
		o.data = map[string]string{"level": lvl}
		o.printf("log level set to %s\n", lvl)
	default:
		msg := fmt.Sprintf("unknown sub-command '%s'", args[0])
		if sug := suggest(args[0], cmd.subs); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return badUsage(cmd, "%s", msg)
	}
	return nil
}

func runPerf(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("perf", args); err != nil {
		return err
	}
	if s.c.svc.Perf == nil {
		return ErrNotAvailable
	}
	stats, err := s.c.svc.Perf.Perf(ctx)
	if err != nil {
		return err
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }
	rows := make([][]string, 0, len(stats))
	for _, p := range stats {
		rows = append(rows, []string{p.Target, strconv.Itoa(p.Count), strconv.Itoa(p.Errors), ms(p.P50), ms(p.P95), ms(p.Max)})
	}
	if stats == nil {
		stats = []PerfStat{}
	}
	o.data = stats
	o.text.WriteString(o.table([]string{"TARGET", "COUNT", "ERRORS", "P50", "P95", "MAX"}, rows, []int{1, 2, 3, 4, 5}, nil))
	return nil
}

// resolve places a relative path under FileRoot.
func (s *session) resolve(p string) string {
	if s.c.cfg.FileRoot != "" && !filepath.IsAbs(p) {
		return filepath.Join(s.c.cfg.FileRoot, p)
	}
	return p
}

// limitWriter fails once more than n bytes are written.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, errors.New("console: backup larger than the configured limit")
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

func runBackup(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["backup"]
	if len(args) != 1 {
		return badUsage(cmd, "backup needs a FILE, or - for the console")
	}
	if s.c.svc.Backup == nil {
		return ErrNotAvailable
	}
	var payload bytes.Buffer
	if err := s.c.svc.Backup.Export(ctx, &limitWriter{w: &payload, n: s.c.cfg.MaxBackupSize}); err != nil {
		return fmt.Errorf("backup failed: %w", err)
	}
	sealed := sealBackup(payload.Bytes())
	if args[0] == "-" {
		a := armor(sealed)
		o.data = map[string]any{"bytes": payload.Len(), "armor": a}
		o.text.WriteString(a)
		o.printf("backup: %d bytes; copy everything from BEGIN to END, 'restore -' pastes it back\n", payload.Len())
		return nil
	}
	path := s.resolve(args[0])
	if err := durable.WriteFile(path, sealed, 0o600); err != nil {
		return fmt.Errorf("backup failed: %w", err)
	}
	o.data = map[string]any{"bytes": payload.Len(), "file": path}
	o.printf("backup written to %s: %d bytes with integrity header\n", args[0], payload.Len())
	return nil
}

func runRestore(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["restore"]
	if len(args) != 1 {
		return badUsage(cmd, "restore needs a FILE, or - to paste")
	}
	if s.c.svc.Backup == nil {
		return ErrNotAvailable
	}
	limit := s.c.cfg.MaxBackupSize
	var sealed []byte
	if args[0] == "-" {
		s.println("Paste the backup (BEGIN to END lines); an empty line aborts.")
		var lines []string
		total := int64(0)
		for {
			l, err := s.readSecret("")
			if err != nil {
				return err
			}
			l = strings.TrimSpace(l)
			if l == "" {
				return errors.New("restore aborted; nothing was changed")
			}
			total += int64(len(l))
			if total > limit*4/3+4096 {
				return errors.New("restore refused: backup larger than the configured limit; nothing was changed")
			}
			lines = append(lines, l)
			if l == endArmor {
				break
			}
		}
		data, err := dearmor(lines)
		if err != nil {
			return fmt.Errorf("restore refused: %w; nothing was changed", err)
		}
		sealed = data
	} else {
		path := s.resolve(args[0])
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("restore failed: %w", err)
		}
		sealed, err = io.ReadAll(io.LimitReader(f, limit+4096))
		f.Close()
		if err != nil {
			return fmt.Errorf("restore failed: %w", err)
		}
	}
	payload, err := openBackup(sealed, limit)
	if err != nil {
		return fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	rctx, cancel := context.WithTimeout(ctx, s.c.cfg.CommandTimeout)
	defer cancel()
	if err := s.c.svc.Backup.Import(rctx, bytes.NewReader(payload)); err != nil {
		if errors.Is(err, ErrWouldLoseUnsettled) {
			return fmt.Errorf("restore refused: %w; settle first. Nothing was changed", err)
		}
		return fmt.Errorf("restore failed: %w", err)
	}
	o.data = map[string]any{"restored_bytes": len(payload)}
	o.printf("restored %d bytes of journal and parameters\n", len(payload))
	return nil
}

func runUpdate(ctx context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["update"]
	u := s.c.svc.Update
	if len(args) > 1 {
		return badUsage(cmd, "update takes one FILE")
	}
	if u == nil {
		return ErrNotAvailable
	}
	if len(args) == 0 {
		if o.force {
			return badUsage(cmd, "--force needs a FILE")
		}
		st, err := u.Status()
		if err != nil {
			return err
		}
		o.data = st
		row := func(sl update.Slot) []string {
			i := st.Info(sl)
			state := "standby"
			if sl == st.Active {
				state = "active"
				if st.Trial {
					state = fmt.Sprintf("active, trial boot %d", st.Boots)
				}
			}
			return []string{string(sl), orDash(i.Version), timeStr(i.Installed), state}
		}
		o.text.WriteString(o.table([]string{"SLOT", "VERSION", "INSTALLED", "STATE"}, [][]string{row(update.SlotA), row(update.SlotB)}, nil, nil))
		if st.Last != "" {
			o.printf("last: %s\n", st.Last)
		}
		return nil
	}
	path := s.resolve(args[0])
	lastPct := int64(-1)
	res, err := u.InstallFile(ctx, path, update.Options{Force: o.force, Progress: func(p update.Progress) {
		if s.c.cfg.OnUpdateProgress != nil {
			s.c.cfg.OnUpdateProgress(p)
		}
		if o.json || p.Phase != "write" || p.Total == 0 {
			return
		}
		pct := p.Written * 100 / p.Total
		if pct/10 > lastPct/10 || p.Written == p.Total && pct != lastPct {
			lastPct = pct
			s.println(fmt.Sprintf("writing: %3d%% (%d of %d bytes)", pct, p.Written, p.Total))
		}
	}})
	switch {
	case errors.Is(err, update.ErrDowngrade):
		return fmt.Errorf("update refused: %w", err)
	case err != nil:
		return fmt.Errorf("update refused, nothing changed: %w", err)
	}
	o.data = res
	o.printf("firmware %s written to slot %s; type 'reboot' to run it on trial\n", res.Version, res.Slot)
	return nil
}

func runReboot(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("reboot", args); err != nil {
		return err
	}
	if s.c.svc.Reboot == nil {
		return ErrNotAvailable
	}
	// The reboot may not return: record it first.
	if err := s.audit("reboot", nil, "requested"); err != nil {
		return err
	}
	if !o.json {
		s.println("Rebooting...")
	}
	if err := s.c.svc.Reboot(ctx); err != nil {
		return fmt.Errorf("reboot failed: %w", err)
	}
	o.printf("reboot under way\n")
	return nil
}

func runPasswd(_ context.Context, s *session, args []string, o *output) error {
	if err := noArgs("passwd", args); err != nil {
		return err
	}
	old, err := s.readSecret("Current password: ")
	if err != nil {
		return err
	}
	pw, err := s.readSecret("New password: ")
	if err != nil {
		return err
	}
	again, err := s.readSecret("Repeat new password: ")
	if err != nil {
		return err
	}
	if pw != again {
		return errors.New("the new passwords differ; password not changed")
	}
	if err := s.c.guard.change(old, pw); err != nil {
		return fmt.Errorf("password not changed: %w", err)
	}
	o.printf("password changed\n")
	return nil
}

func runPriv(ctx context.Context, s *session, args []string, o *output) error {
	if err := noArgs("priv", args); err != nil {
		return err
	}
	if s.priv {
		o.printf("already privileged\n")
		return nil
	}
	pw, err := s.readSecret("Password: ")
	if err != nil {
		return err
	}
	res, err := s.c.guard.attempt(pw)
	if ctx.Err() != nil {
		// ^C while the password was checked: no privileges, whatever the
		// answer.
		s.audit("priv", nil, "cancelled")
		return ctx.Err()
	}
	switch {
	case err == nil && res.ok:
		s.priv = true
		s.privUntil = s.c.cfg.Now().Add(s.c.cfg.PrivTimeout)
		if aerr := s.audit("priv", nil, "ok"); aerr != nil {
			s.priv = false
			return fmt.Errorf("privileges refused: %w", aerr)
		}
		o.printf("privileged commands enabled for %s after the last one\n", s.c.cfg.PrivTimeout)
		return nil
	case errors.Is(err, ErrLocked):
		s.audit("priv", nil, "refused: locked")
		return fmt.Errorf("console locked: try again in %s", roundUp(res.lockFor))
	case errors.Is(err, ErrBadPassword):
		s.audit("priv", nil, fmt.Sprintf("failed (%d consecutive)", res.failures))
		if res.lockFor > 0 {
			return fmt.Errorf("wrong password; console locked for %s", roundUp(res.lockFor))
		}
		return errors.New("wrong password")
	}
	return err
}

func runUnpriv(_ context.Context, s *session, args []string, o *output) error {
	if err := noArgs("unpriv", args); err != nil {
		return err
	}
	if s.priv {
		s.priv = false
		s.audit("unpriv", nil, "ok")
	}
	o.printf("read-only\n")
	return nil
}

func runTerm(_ context.Context, s *session, args []string, o *output) error {
	cmd := s.c.byName["term"]
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "cols" && args[1] == "auto":
		s.widthSet = false
		if err := s.askWidth(); err != nil {
			return err
		}
		o.data = map[string]any{"cols": s.width, "source": "asked"}
		o.printf("asked the terminal for its width; until it answers, %d columns\n", s.width)
		return nil
	case len(args) == 2 && args[0] == "cols":
		n, err := strconv.Atoi(args[1])
		if err != nil || n < minWidth || n > maxWidth {
			return badUsage(cmd, "'%s' is not a width (%d to %d)", args[1], minWidth, maxWidth)
		}
		s.widthSet = true
		s.setWidth(n)
	default:
		return badUsage(cmd, "term takes 'cols N' or 'cols auto'")
	}
	source := "default"
	switch {
	case s.widthSet:
		source = "set with term cols"
	case s.port.reportedCols() == s.width:
		source = "reported by the terminal"
	}
	o.data = map[string]any{"cols": s.width, "source": source}
	o.printf("%d columns (%s)\n", s.width, source)
	return nil
}
