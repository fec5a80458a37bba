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

// commands is the console's command table, in the order help lists it. Each
// record is the whole of its command (see command).
func commands() []*command {
	return []*command{
		{name: "help", usage: "[COMMAND]", summary: "list commands, or explain one",
			help: "help lists every command; help COMMAND shows its usage. Commands marked * need 'priv'.\nEvery command takes -json for machine-readable output.",
			args: between(0, 1, "%s takes at most one command name"), run: runHelp},
		{name: "status", summary: "version, board, binding, batch, link, last errors",
			help: "Shows what the terminal is and how it is doing.", run: handle(runStatus, showStatus)},
		{name: "test", usage: "reader|printer|scanner|modem|keypad|display|leds", summary: "run a device self-test",
			help: "reader waits for a card; printer prints a test page and reads the status; scanner reads one code;\nmodem shows SIM, signal and registration; keypad echoes keys until ENTER; display shows a\ntest pattern; leds cycles the LEDs and the buzzer. Ctrl-C stops a test.",
			noun: "device", need: "%s needs one device", subs: deviceTests()},
		{name: "modem", usage: "at COMMAND", summary: "pass one AT command to the modem (*)",
			help: "Sends COMMAND (quoted if it has spaces) to the modem and shows the reply. For diagnostics.",
			need: "%s needs 'at' and one AT command",
			subs: []*command{{name: "at", args: between(1, 1, "%s needs 'at' and one AT command"), privileged: always,
				run: handle(runModemAT, func(_ *call, r modemReply) string { return lines(r.Reply) })}}},
		{name: "param", usage: "list | get NAME | set NAME VALUE", summary: "terminal parameters (set *)",
			help: "Values are validated before they are stored; sensitive values are shown masked.",
			subs: []*command{
				{name: "list", args: between(0, 0, "%s list takes no more arguments"), run: handle(runParamList, tableOf("",
					column[Param]{head: "NAME", cell: func(p Param) string { return p.Name }, keep: true},
					column[Param]{head: "VALUE", cell: func(p Param) string { return p.Value }},
					column[Param]{head: "DESCRIPTION", cell: paramAbout}))},
				{name: "get", args: between(1, 1, "%s get needs one NAME"), run: handle(runParamGet, fieldsOf(
					field[Param]{"name", func(p Param) string { return p.Name }},
					field[Param]{"value", func(p Param) string { return p.Value }},
					field[Param]{"about", func(p Param) string { return p.Description }}))},
				{name: "set", args: between(2, 2, "%s set needs NAME and VALUE (quote a value with spaces)"), privileged: always,
					run: handle(runParamSet, sentence(func(p Param) string { return p.Name + " = " + p.Value }))},
			}},
		{name: "keys", summary: "key check values and load dates", help: "Lists the keys with their check values. Key material is never shown.",
			run: handle(runKeys, tableOf("",
				column[KeyInfo]{head: "KEY", cell: func(k KeyInfo) string { return k.Name }},
				column[KeyInfo]{head: "ALGORITHM", cell: func(k KeyInfo) string { return k.Algorithm }},
				column[KeyInfo]{head: "KCV", cell: func(k KeyInfo) string { return orDash(k.KCV) }},
				column[KeyInfo]{head: "LOADED", cell: keyLoaded}))},
		{name: "binding", summary: "K-code binding status", help: "Shows the terminal's binding to its merchant and bank.",
			run: handle(runBinding, fieldsOf(
				field[BindingInfo]{"state", func(b BindingInfo) string { return b.State }},
				field[BindingInfo]{"TID / MID", func(b BindingInfo) string { return orDash(b.TID) + " / " + orDash(b.MID) }},
				field[BindingInfo]{"merchant", func(b BindingInfo) string { return orDash(b.Merchant) }},
				field[BindingInfo]{"bank", func(b BindingInfo) string { return orDash(b.Bank) }},
				field[BindingInfo]{"bound", func(b BindingInfo) string { return timeStr(b.BoundAt) }},
				field[BindingInfo]{"expires", func(b BindingInfo) string { return timeStr(b.ExpiresAt) }},
				field[BindingInfo]{"last check", func(b BindingInfo) string { return timeStr(b.LastCheck) }},
				field[BindingInfo]{"settlement", func(b BindingInfo) string { return orDash(b.SettlementAccount) }}))},
		{name: "journal", usage: "list [N] | show TRACE", summary: "transactions of the open batch (masked)",
			help: "list shows the newest N (default 20) transactions; show prints one by trace number.",
			subs: []*command{
				{name: "list", args: between(0, 1, "%s list takes at most N"), run: handle(runJournalList, tableOf("no transactions in the open batch",
					column[JournalEntry]{head: "TRACE", cell: func(e JournalEntry) string { return fmt.Sprintf("%06d", e.Trace) }, keep: true},
					column[JournalEntry]{head: "TIME", cell: func(e JournalEntry) string { return e.Time.Format("01-02 15:04") }},
					column[JournalEntry]{head: "KIND", cell: func(e JournalEntry) string { return e.Kind }},
					column[JournalEntry]{head: "METHOD", cell: func(e JournalEntry) string { return e.Method }},
					column[JournalEntry]{head: "AMOUNT", cell: func(e JournalEntry) string { return money(e.Amount) }, right: true, keep: true},
					column[JournalEntry]{head: "CARD", cell: func(e JournalEntry) string { return orDash(e.MaskedPAN) }, keep: true},
					column[JournalEntry]{head: "STATE", cell: func(e JournalEntry) string { return e.State }}))},
				{name: "show", args: between(1, 1, "%s show needs one TRACE"), run: handle(runJournalShow, fieldsOf(
					field[JournalEntry]{"trace", func(e JournalEntry) string { return fmt.Sprintf("%06d (batch %06d)", e.Trace, e.Batch) }},
					field[JournalEntry]{"time", func(e JournalEntry) string { return e.Time.Format("2006-01-02 15:04:05") }},
					field[JournalEntry]{"kind", func(e JournalEntry) string { return e.Kind + " by " + e.Method }},
					field[JournalEntry]{"amount", func(e JournalEntry) string { return money(e.Amount) + " " + e.Currency }},
					field[JournalEntry]{"card", func(e JournalEntry) string { return orDash(e.MaskedPAN) }},
					field[JournalEntry]{"state", func(e JournalEntry) string { return e.State + respText(e.Response) }},
					field[JournalEntry]{"auth code", func(e JournalEntry) string { return orDash(e.AuthCode) }},
					field[JournalEntry]{"reference", func(e JournalEntry) string { return orDash(e.RRN) }},
					field[JournalEntry]{"application", func(e JournalEntry) string { return strings.TrimSpace(orDash(e.AppLabel) + " " + e.AID) }},
					field[JournalEntry]{"settled", func(e JournalEntry) string { return yesNo(e.Settled) }}))},
			}},
		{name: "reprint", usage: "TRACE | last", summary: "reprint a receipt", words: []string{"last"},
			help: "Prints the receipt of a trace number again, or of the last transaction.",
			args: between(1, 1, "%s needs a TRACE or 'last'"),
			run:  handle(runReprint, sentence(func(r reprinted) string { return fmt.Sprintf("receipt of trace %06d reprinted", r.Trace) }))},
		{name: "settle", summary: "settle the open batch now (*)", help: "Runs settlement with the host and prints the report.", privileged: always,
			run: handle(runSettle, sentence(settleText))},
		{name: "log", usage: "tail [N] | level [debug|info|warn|error]", summary: "firmware log (level change *)",
			help: "tail shows the last N (default 20) log lines; level shows or sets the log level.",
			subs: []*command{
				{name: "tail", args: between(0, 1, "%s tail takes at most N"), run: handle(runLogTail, func(_ *call, ls []LogLine) string {
					var b strings.Builder
					for _, l := range ls {
						fmt.Fprintf(&b, "%s %-5s %s\n", l.Time.Format("01-02 15:04:05"), strings.ToUpper(l.Level), l.Message)
					}
					return b.String()
				})},
				{name: "level", args: between(0, 1, "%s level takes one level"), privileged: func(a []string) bool { return len(a) > 0 },
					run: handle(runLogLevel, sentence(func(l logLevel) string { return "log level " + l.was + l.Level }))},
			}},
		{name: "perf", summary: "response times per host and device", help: "Count, errors, median, 95th percentile and maximum response time.",
			run: handle(runPerf, tableOf("",
				column[PerfStat]{head: "TARGET", cell: func(p PerfStat) string { return p.Target }},
				column[PerfStat]{head: "COUNT", cell: func(p PerfStat) string { return strconv.Itoa(p.Count) }, right: true},
				column[PerfStat]{head: "ERRORS", cell: func(p PerfStat) string { return strconv.Itoa(p.Errors) }, right: true},
				column[PerfStat]{head: "P50", cell: func(p PerfStat) string { return ms(p.P50) }, right: true},
				column[PerfStat]{head: "P95", cell: func(p PerfStat) string { return ms(p.P95) }, right: true},
				column[PerfStat]{head: "MAX", cell: func(p PerfStat) string { return ms(p.Max) }, right: true}))},
		{name: "backup", usage: "FILE | -", summary: "back up journal and parameters (*)",
			help: "Writes the journal and the parameters with an integrity header (length and SHA-256) to FILE,\nor with - prints them as base64 lines to copy from the console.",
			args: between(1, 1, "%s needs a FILE, or - for the console"), privileged: always, run: handle(runBackup, showBackup)},
		{name: "restore", usage: "FILE | -", summary: "restore a backup (*)",
			help: "Checks the integrity header and restores from FILE, or with - from base64 lines pasted into\nthe console. Refused when the backup is damaged or would lose unsettled transactions.",
			args: between(1, 1, "%s needs a FILE, or - to paste"), privileged: always, interactive: true,
			run: handle(runRestore, sentence(func(r restored) string { return fmt.Sprintf("restored %d bytes of journal and parameters", r.Bytes) }))},
		{name: "update", usage: "[FILE [--force]]", summary: "firmware slots; install a signed image (*)",
			help: "Without FILE shows the A/B slots. With FILE verifies the signed image and writes it to the\ninactive slot; the new firmware runs on trial after 'reboot' and rolls back unless it reports\nhealthy. --force allows a downgrade.",
			args: between(0, 1, "%s takes one FILE"), force: true,
			privileged: func(a []string) bool { return len(a) > 0 }, run: runUpdate},
		{name: "reboot", summary: "restart the terminal (*)", help: "Restarts the terminal.", privileged: always, run: say(runReboot)},
		{name: "passwd", summary: "change the technician password (*)", help: "Asks for the current and the new password (8+ characters, digits and others).",
			privileged: always, interactive: true, run: say(runPasswd)},
		{name: "term", usage: "[cols N | cols auto]", summary: "terminal width", words: []string{"cols"},
			help: "Shows the width output is folded at. cols N sets it (20 to 1000); cols auto asks the terminal\n(ESC[6n), as every login does.",
			args: between(0, 2, "%s takes 'cols N' or 'cols auto'"), run: handle(runTerm, sentence(termText))},
		{name: "priv", summary: "enable privileged commands", help: "Asks for the technician password again. Privileges lapse after a quiet period, on logout\nand on 'unpriv'.",
			interactive: true, run: say(runPriv)},
		{name: "unpriv", summary: "drop privileges", help: "Returns to read-only commands.", run: say(runUnpriv)},
		{name: "logout", summary: "end the session, back to the login prompt", help: "Logs out.", run: say(func(*call) (done, error) { return "", errLogout })},
		{name: "exit", summary: "end the session and disconnect", help: "Logs out and closes the connection.", run: say(func(*call) (done, error) { return "", errExit })},
	}
}

func lines(ls []string) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l + "\n")
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// helpEntry is one line of help's list.
type helpEntry struct {
	Name       string `json:"name"`
	Usage      string `json:"usage"`
	Summary    string `json:"summary"`
	Privileged bool   `json:"privileged"`
}

// helpTopic is help COMMAND.
type helpTopic struct {
	Command string `json:"command"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
	Help    string `json:"help"`
}

func runHelp(c *call) (any, string, error) {
	cs := c.s.c
	if len(c.args) == 1 {
		cmd := cs.byName[c.args[0]]
		if cmd == nil {
			msg := fmt.Sprintf("no command '%s'", c.args[0])
			if sug := suggest(c.args[0], cs.commandNames()); sug != "" {
				msg += fmt.Sprintf(" — did you mean '%s'?", sug)
			}
			return nil, "", errors.New(msg)
		}
		t := helpTopic{cmd.name, strings.TrimSpace(cmd.name + " " + cmd.usage), cmd.summary, cmd.help}
		return t, fmt.Sprintf("usage: %s %s\n%s\n", cmd.name, cmd.usage, cmd.help), nil
	}
	var list []helpEntry
	for _, cmd := range cs.cmds {
		list = append(list, helpEntry{cmd.name, cmd.usage, cmd.summary, cmd.mayNeedPriv()})
	}
	text := tableOf("",
		column[helpEntry]{head: "COMMAND", cell: func(e helpEntry) string { return e.Name }},
		column[helpEntry]{head: "WHAT IT DOES", cell: func(e helpEntry) string { return e.Summary }})(c, list)
	return list, text + "(*) needs 'priv'. 'help COMMAND' for details; every command takes -json.\n", nil
}

// statusView is status's answer.
type statusView struct {
	Status
	UptimeS int64         `json:"uptime_s"`
	Update  *update.State `json:"update,omitempty"`
}

func runStatus(c *call) (statusView, error) {
	svc := c.svc()
	if err := available(svc.Status != nil); err != nil {
		return statusView{}, err
	}
	st, err := svc.Status.Status(c.ctx)
	if err != nil {
		return statusView{}, err
	}
	var slots *update.State
	if svc.Update != nil {
		if us, err := svc.Update.Status(); err == nil {
			slots = &us
		}
	}
	return statusView{st, int64(st.Uptime / time.Second), slots}, nil
}

func showStatus(c *call, v statusView) string {
	st := v.Status
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
	if v.Update != nil {
		pairs = append(pairs, [2]string{"firmware", slotText(*v.Update)})
	}
	if len(st.LastErrors) == 0 {
		pairs = append(pairs, [2]string{"errors", "none"})
	}
	for i, e := range st.LastErrors {
		k := ""
		if i == 0 {
			k = "errors"
		}
		pairs = append(pairs, [2]string{k, cut(fmt.Sprintf("%s %s: %s", e.Time.Format("01-02 15:04"), e.Source, e.Message), c.o.width-10)})
	}
	return kv(pairs...)
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

// devices are the self-tests, when the board has them.
func devices(c *call) (DeviceTests, error) {
	d := c.svc().Devices
	return d, available(d != nil)
}

// deviceTest declares one 'test' device: a handler answering a T and its
// text.
func deviceTest[T any](name string, run func(*call, DeviceTests) (T, error), show func(T) string) *command {
	return &command{name: name, args: between(0, 0, "%s needs one device"), run: handle(func(c *call) (T, error) {
		d, err := devices(c)
		if err != nil {
			var zero T
			return zero, err
		}
		return run(c, d)
	}, func(_ *call, v T) string { return show(v) })}
}

// printerTest is test printer's answer.
type printerTest struct {
	TestPage string       `json:"test_page"`
	Status   PrinterState `json:"status"`
}

// keypadTest is test keypad's answer.
type keypadTest struct {
	Keys []string `json:"keys"`
}

func deviceTests() []*command {
	return []*command{
		deviceTest("reader", func(c *call, d DeviceTests) (CardDetect, error) {
			c.live("Insert, tap or swipe a card (Ctrl-C to stop)...")
			return d.DetectCard(c.ctx)
		}, func(r CardDetect) string {
			t := fmt.Sprintf("reader ok: card %s (%s)", r.Event, r.Interface)
			if r.ATRLen > 0 {
				t += fmt.Sprintf(", ATR %d bytes", r.ATRLen)
			}
			return t + "\n"
		}),
		deviceTest("printer", func(c *call, d DeviceTests) (printerTest, error) {
			if err := d.PrinterTestPage(c.ctx); err != nil {
				st, serr := d.PrinterStatus(c.ctx)
				if serr == nil && !st.Ready {
					return printerTest{}, fmt.Errorf("test page not printed: %s", printerAdvice(st))
				}
				return printerTest{}, fmt.Errorf("test page not printed: %w", err)
			}
			st, err := d.PrinterStatus(c.ctx)
			return printerTest{"printed", st}, err
		}, func(p printerTest) string { return "printer ok: test page printed; " + printerAdvice(p.Status) + "\n" }),
		deviceTest("scanner", func(c *call, d DeviceTests) (ScanResult, error) {
			c.live("Show a QR or bar code to the scanner (Ctrl-C to stop)...")
			r, err := d.ScanOne(c.ctx)
			r.Text = cut(r.Text, 64)
			return r, err
		}, func(r ScanResult) string { return fmt.Sprintf("scanner ok: %s code, %q\n", r.Kind, r.Text) }),
		deviceTest("modem", func(c *call, d DeviceTests) (ModemInfo, error) { return d.Modem(c.ctx) },
			func(m ModemInfo) string {
				return kv(
					[2]string{"model", orDash(m.Model)},
					[2]string{"SIM", m.SIM + iccid(m.ICCIDMasked)},
					[2]string{"signal", signalText(m.Signal)},
					[2]string{"network", m.Registration + opText(m.Operator)},
				)
			}),
		deviceTest("keypad", func(c *call, d DeviceTests) (keypadTest, error) {
			c.live("Press keys on the terminal; ENTER ends the test (Ctrl-C to stop)...")
			keys, err := d.KeypadTest(c.ctx)
			return keypadTest{keys}, err
		}, func(k keypadTest) string { return "keypad ok: " + strings.Join(k.Keys, " ") + "\n" }),
		deviceTest("display", func(c *call, d DeviceTests) (*struct{}, error) { return nil, d.DisplayTest(c.ctx) },
			func(*struct{}) string { return "display ok: test pattern shown; check every pixel and both colours.\n" }),
		deviceTest("leds", func(c *call, d DeviceTests) (*struct{}, error) { return nil, d.IndicatorTest(c.ctx) },
			func(*struct{}) string { return "leds ok: LEDs cycled and buzzer sounded.\n" }),
	}
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

// modemReply is modem at's answer.
type modemReply struct {
	Reply []string `json:"reply"`
}

func runModemAT(c *call) (modemReply, error) {
	at := c.args[0]
	c.o.auditArgs = []string{"at", maskAT(at)}
	if len(at) < 2 || !strings.EqualFold(at[:2], "AT") || len(at) > 256 {
		return modemReply{}, c.usage("'%s' is not an AT command", maskAT(at))
	}
	for _, b := range []byte(at) {
		if b < 0x20 || b > 0x7e {
			return modemReply{}, c.usage("AT commands are printable ASCII")
		}
	}
	d, err := devices(c)
	if err != nil {
		return modemReply{}, err
	}
	reply, err := d.ModemAT(c.ctx, at)
	if err != nil {
		return modemReply{}, err
	}
	out := make([]string, len(reply))
	for i, l := range reply {
		out[i] = maskIdentities(l)
	}
	return modemReply{out}, nil
}

// maskIdentities masks the long numbers a modem reports: the SIM's ICCID
// (19 or 20 digits, ITU-T E.118), the IMSI and the IMEI (15 digits) keep
// their first six and last four digits, as the console shows an ICCID
// everywhere. Shorter numbers (signal, cell, operator codes) are shown.
func maskIdentities(line string) string {
	var b strings.Builder
	for i := 0; i < len(line); {
		j := i
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j == i {
			b.WriteByte(line[i])
			i++
			continue
		}
		if d := line[i:j]; len(d) >= 14 {
			b.WriteString(d[:6] + strings.Repeat("*", len(d)-10) + d[len(d)-4:])
		} else {
			b.WriteString(d)
		}
		i = j
	}
	return b.String()
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

// params is the parameter store, when the board has one.
func params(c *call) (ParamStore, error) {
	p := c.svc().Params
	return p, available(p != nil)
}

func paramAbout(p Param) string {
	if p.ReadOnly {
		return p.Description + " (read-only)"
	}
	return p.Description
}

func runParamList(c *call) ([]Param, error) {
	p, err := params(c)
	if err != nil {
		return nil, err
	}
	list, err := p.List(c.ctx)
	for i := range list {
		list[i] = maskParam(list[i])
	}
	return list, err
}

func runParamGet(c *call) (Param, error) {
	p, err := params(c)
	if err != nil {
		return Param{}, err
	}
	v, err := p.Get(c.ctx, c.args[0])
	if errors.Is(err, ErrNotFound) {
		return Param{}, paramNotFound(c.ctx, p, c.args[0])
	}
	return maskParam(v), err
}

func runParamSet(c *call) (Param, error) {
	p, err := params(c)
	if err != nil {
		return Param{}, err
	}
	name, value := c.args[0], c.args[1]
	cur, err := p.Get(c.ctx, name)
	if errors.Is(err, ErrNotFound) {
		c.o.auditArgs = []string{"set", name, "(unknown)"}
		return Param{}, paramNotFound(c.ctx, p, name)
	}
	if err != nil {
		return Param{}, err
	}
	if cur.Sensitive {
		c.o.auditArgs = []string{"set", name, "****"}
	}
	if cur.ReadOnly {
		return Param{}, fmt.Errorf("%s is read-only", name)
	}
	if err := p.Set(c.ctx, name, value); err != nil {
		if errors.Is(err, ErrInvalid) {
			return Param{}, fmt.Errorf("%s not changed: %w", name, err)
		}
		return Param{}, err
	}
	after, err := p.Get(c.ctx, name)
	return maskParam(after), err
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

func runKeys(c *call) ([]KeyInfo, error) {
	if err := available(c.svc().Keys != nil); err != nil {
		return nil, err
	}
	keys, err := c.svc().Keys.Keys(c.ctx)
	for i := range keys {
		// A check value is at most 6 hex digits; anything longer is not
		// a check value and is not shown.
		if len(keys[i].KCV) > 6 {
			keys[i].KCV = keys[i].KCV[:6]
		}
	}
	return keys, err
}

func keyLoaded(k KeyInfo) string {
	if k.Loaded {
		return timeStr(k.LoadedAt)
	}
	return "not loaded"
}

func runBinding(c *call) (BindingInfo, error) {
	if err := available(c.svc().Binding != nil); err != nil {
		return BindingInfo{}, err
	}
	return c.svc().Binding.Binding(c.ctx)
}

func parseTrace(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 999999 {
		return 0, fmt.Errorf("'%s' is not a trace number (1 to 999999)", s)
	}
	return uint32(n), nil
}

// count reads the optional N of "journal list [N]" and "log tail [N]": 20
// when absent, 1 to 1000 when given.
func count(c *call) (int, error) {
	if len(c.args) == 0 {
		return 20, nil
	}
	v, err := strconv.Atoi(c.args[0])
	if err != nil || v < 1 || v > 1000 {
		return 0, c.usage("'%s' is not a count (1 to 1000)", c.args[0])
	}
	return v, nil
}

// journal is the journal, when the board has one.
func journal(c *call) (JournalView, error) {
	j := c.svc().Journal
	return j, available(j != nil)
}

func runJournalList(c *call) ([]JournalEntry, error) {
	n, err := count(c)
	if err != nil {
		return nil, err
	}
	j, err := journal(c)
	if err != nil {
		return nil, err
	}
	return j.List(c.ctx, n)
}

func runJournalShow(c *call) (JournalEntry, error) {
	tr, err := parseTrace(c.args[0])
	if err != nil {
		return JournalEntry{}, c.usage("%v", err)
	}
	j, err := journal(c)
	if err != nil {
		return JournalEntry{}, err
	}
	e, err := j.Show(c.ctx, tr)
	return e, errNotFoundAs(err, fmt.Sprintf("no transaction with trace %06d", tr))
}

func respText(code string) string {
	if code == "" {
		return ""
	}
	return " (response " + code + ")"
}

// reprinted is reprint's answer.
type reprinted struct {
	Trace uint32 `json:"reprinted"`
}

func runReprint(c *call) (reprinted, error) {
	if c.args[0] == "last" {
		j, err := journal(c)
		if err != nil {
			return reprinted{}, err
		}
		tr, err := j.ReprintLast(c.ctx)
		return reprinted{tr}, errNotFoundAs(err, "nothing to reprint: no transaction yet")
	}
	tr, err := parseTrace(c.args[0])
	if err != nil {
		return reprinted{}, c.usage("%v", err)
	}
	j, err := journal(c)
	if err != nil {
		return reprinted{}, err
	}
	return reprinted{tr}, errNotFoundAs(j.Reprint(c.ctx, tr), fmt.Sprintf("no transaction with trace %06d", tr))
}

func runSettle(c *call) (SettleResult, error) {
	j, err := journal(c)
	if err != nil {
		return SettleResult{}, err
	}
	c.live("Settling with the host...")
	r, err := j.Settle(c.ctx)
	if err != nil {
		return SettleResult{}, fmt.Errorf("settlement failed: %w", err)
	}
	return r, nil
}

func settleText(r SettleResult) string {
	how := "balanced with the host"
	if !r.Balanced {
		how = fmt.Sprintf("not balanced: %d transactions uploaded, then closed", r.Uploaded)
	}
	return fmt.Sprintf("batch %06d settled, %s: %d transactions, %s\nnew batch %06d", r.Batch, how, r.Count, money(r.Amount), r.NewBatch)
}

// logLevels are the levels log level accepts.
func logLevels() []string { return []string{"debug", "info", "warn", "error"} }

// logs is the log source, when the board has one.
func logs(c *call) (LogSource, error) {
	l := c.svc().Logs
	return l, available(l != nil)
}

func runLogTail(c *call) ([]LogLine, error) {
	n, err := count(c)
	if err != nil {
		return nil, err
	}
	l, err := logs(c)
	if err != nil {
		return nil, err
	}
	return l.Tail(c.ctx, n)
}

// logLevel is log level's answer; was is how the text says it.
type logLevel struct {
	Level string `json:"level"`
	was   string
}

func runLogLevel(c *call) (logLevel, error) {
	l, err := logs(c)
	if err != nil {
		return logLevel{}, err
	}
	if len(c.args) == 0 {
		lvl, err := l.Level(c.ctx)
		return logLevel{Level: lvl}, err
	}
	lvl := strings.ToLower(c.args[0])
	ok := false
	for _, x := range logLevels() {
		ok = ok || x == lvl
	}
	if !ok {
		return logLevel{}, c.usage("'%s' is not a level (%s)", c.args[0], strings.Join(logLevels(), ", "))
	}
	return logLevel{Level: lvl, was: "set to "}, l.SetLevel(c.ctx, lvl)
}

func runPerf(c *call) ([]PerfStat, error) {
	if err := available(c.svc().Perf != nil); err != nil {
		return nil, err
	}
	return c.svc().Perf.Perf(c.ctx)
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

// backedUp is backup's answer: the armored text for -, or the file.
type backedUp struct {
	Bytes int    `json:"bytes"`
	Armor string `json:"armor,omitempty"`
	File  string `json:"file,omitempty"`
	named string
}

func runBackup(c *call) (backedUp, error) {
	b := c.svc().Backup
	if err := available(b != nil); err != nil {
		return backedUp{}, err
	}
	var payload bytes.Buffer
	if err := b.Export(c.ctx, &limitWriter{w: &payload, n: c.s.c.cfg.MaxBackupSize}); err != nil {
		return backedUp{}, fmt.Errorf("backup failed: %w", err)
	}
	sealed := sealBackup(payload.Bytes())
	if c.args[0] == "-" {
		return backedUp{Bytes: payload.Len(), Armor: armor(sealed)}, nil
	}
	path := c.s.resolve(c.args[0])
	if err := durable.WriteFile(path, sealed, 0o600); err != nil {
		return backedUp{}, fmt.Errorf("backup failed: %w", err)
	}
	return backedUp{Bytes: payload.Len(), File: path, named: c.args[0]}, nil
}

func showBackup(_ *call, b backedUp) string {
	if b.File == "" {
		return b.Armor + fmt.Sprintf("backup: %d bytes; copy everything from BEGIN to END, 'restore -' pastes it back\n", b.Bytes)
	}
	return fmt.Sprintf("backup written to %s: %d bytes with integrity header\n", b.named, b.Bytes)
}

// restored is restore's answer.
type restored struct {
	Bytes int `json:"restored_bytes"`
}

// pasteBackup reads an armored backup pasted into the console.
func pasteBackup(s *session, limit int64) ([]byte, error) {
	s.println("Paste the backup (BEGIN to END lines); an empty line aborts.")
	var lines []string
	total := int64(0)
	for {
		l, err := s.readSecret("")
		if err != nil {
			return nil, err
		}
		l = strings.TrimSpace(l)
		if l == "" {
			return nil, errors.New("restore aborted; nothing was changed")
		}
		total += int64(len(l))
		if total > limit*4/3+4096 {
			return nil, errors.New("restore refused: backup larger than the configured limit; nothing was changed")
		}
		lines = append(lines, l)
		if l == endArmor {
			break
		}
	}
	data, err := dearmor(lines)
	if err != nil {
		return nil, fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	return data, nil
}

// readBackup reads a backup file, at most limit bytes and its header.
func readBackup(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("restore failed: %w", err)
	}
	defer f.Close()
	sealed, err := io.ReadAll(io.LimitReader(f, limit+4096))
	if err != nil {
		return nil, fmt.Errorf("restore failed: %w", err)
	}
	return sealed, nil
}

func runRestore(c *call) (restored, error) {
	b := c.svc().Backup
	if err := available(b != nil); err != nil {
		return restored{}, err
	}
	limit := c.s.c.cfg.MaxBackupSize
	var sealed []byte
	var err error
	if c.args[0] == "-" {
		sealed, err = pasteBackup(c.s, limit)
	} else {
		sealed, err = readBackup(c.s.resolve(c.args[0]), limit)
	}
	if err != nil {
		return restored{}, err
	}
	payload, err := openBackup(sealed, limit)
	if err != nil {
		return restored{}, fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	rctx, cancel := context.WithTimeout(c.ctx, c.s.c.cfg.CommandTimeout)
	defer cancel()
	if err := b.Import(rctx, bytes.NewReader(payload)); err != nil {
		if errors.Is(err, ErrWouldLoseUnsettled) {
			return restored{}, fmt.Errorf("restore refused: %w; settle first. Nothing was changed", err)
		}
		return restored{}, fmt.Errorf("restore failed: %w", err)
	}
	return restored{len(payload)}, nil
}

// runUpdate shows the slots without FILE, and installs FILE with one.
func runUpdate(c *call) (any, string, error) {
	u := c.svc().Update
	if err := available(u != nil); err != nil {
		return nil, "", err
	}
	if len(c.args) == 0 {
		if c.o.force {
			return nil, "", c.usage("--force needs a FILE")
		}
		return handle(func(*call) (update.State, error) { return u.Status() }, showSlots)(c)
	}
	return handle(installUpdate, sentence(func(r update.Result) string {
		return fmt.Sprintf("firmware %s written to slot %s; type 'reboot' to run it on trial", r.Version, r.Slot)
	}))(c)
}

func showSlots(c *call, st update.State) string {
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
	t := c.o.table([]string{"SLOT", "VERSION", "INSTALLED", "STATE"}, [][]string{row(update.SlotA), row(update.SlotB)}, nil, nil)
	if st.Last != "" {
		t += fmt.Sprintf("last: %s\n", st.Last)
	}
	return t
}

func installUpdate(c *call) (update.Result, error) {
	s := c.s
	lastPct := int64(-1)
	res, err := c.svc().Update.InstallFile(c.ctx, s.resolve(c.args[0]), update.Options{Force: c.o.force, Progress: func(p update.Progress) {
		if s.c.cfg.OnUpdateProgress != nil {
			s.c.cfg.OnUpdateProgress(p)
		}
		if c.o.json || p.Phase != "write" || p.Total == 0 {
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
		return res, fmt.Errorf("update refused: %w", err)
	case err != nil:
		return res, fmt.Errorf("update refused, nothing changed: %w", err)
	}
	return res, nil
}

func runReboot(c *call) (done, error) {
	if err := available(c.svc().Reboot != nil); err != nil {
		return "", err
	}
	// The reboot may not return: record it first.
	if err := c.s.audit(c.top.name, nil, "requested"); err != nil {
		return "", err
	}
	c.live("Rebooting...")
	if err := c.svc().Reboot(c.ctx); err != nil {
		return "", fmt.Errorf("reboot failed: %w", err)
	}
	return "reboot under way\n", nil
}

func runPasswd(c *call) (done, error) {
	s := c.s
	old, err := s.readSecret("Current password: ")
	if err != nil {
		return "", err
	}
	pw, err := s.readSecret("New password: ")
	if err != nil {
		return "", err
	}
	again, err := s.readSecret("Repeat new password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the new passwords differ; password not changed")
	}
	if err := s.c.guard.change(old, pw); err != nil {
		return "", fmt.Errorf("password not changed: %w", err)
	}
	return "password changed\n", nil
}

func runPriv(c *call) (done, error) {
	s := c.s
	if s.priv {
		return "already privileged\n", nil
	}
	pw, err := s.readSecret("Password: ")
	if err != nil {
		return "", err
	}
	res, err := s.c.guard.attempt(pw)
	if c.ctx.Err() != nil {
		// ^C while the password was checked: no privileges, whatever the
		// answer.
		s.audit(c.top.name, nil, "cancelled")
		return "", c.ctx.Err()
	}
	switch {
	case err == nil && res.ok:
		s.priv = true
		s.privUntil = s.c.cfg.Now().Add(s.c.cfg.PrivTimeout)
		if aerr := s.audit(c.top.name, nil, "ok"); aerr != nil {
			s.priv = false
			return "", fmt.Errorf("privileges refused: %w", aerr)
		}
		return done(fmt.Sprintf("privileged commands enabled for %s after the last one\n", s.c.cfg.PrivTimeout)), nil
	case errors.Is(err, ErrLocked):
		s.audit(c.top.name, nil, "refused: locked")
		return "", fmt.Errorf("console locked: try again in %s", roundUp(res.lockFor))
	case errors.Is(err, ErrBadPassword):
		s.audit(c.top.name, nil, fmt.Sprintf("failed (%d consecutive)", res.failures))
		if res.lockFor > 0 {
			return "", fmt.Errorf("wrong password; console locked for %s", roundUp(res.lockFor))
		}
		return "", errors.New("wrong password")
	}
	return "", err
}

func runUnpriv(c *call) (done, error) {
	if c.s.priv {
		c.s.priv = false
		c.s.audit(c.top.name, nil, "ok")
	}
	return "read-only\n", nil
}

// termWidth is term's answer.
type termWidth struct {
	Cols   int    `json:"cols"`
	Source string `json:"source"`
}

func termText(t termWidth) string {
	if t.Source == "asked" {
		return fmt.Sprintf("asked the terminal for its width; until it answers, %d columns", t.Cols)
	}
	return fmt.Sprintf("%d columns (%s)", t.Cols, t.Source)
}

func runTerm(c *call) (termWidth, error) {
	s, args := c.s, c.args
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "cols" && args[1] == "auto":
		s.widthSet = false
		if err := s.askWidth(); err != nil {
			return termWidth{}, err
		}
		return termWidth{s.width, "asked"}, nil
	case len(args) == 2 && args[0] == "cols":
		n, err := strconv.Atoi(args[1])
		if err != nil || n < minWidth || n > maxWidth {
			return termWidth{}, c.usage("'%s' is not a width (%d to %d)", args[1], minWidth, maxWidth)
		}
		s.widthSet = true
		s.setWidth(n)
	default:
		return termWidth{}, c.usage("%s takes 'cols N' or 'cols auto'", c.top.name)
	}
	source := "default"
	switch {
	case s.widthSet:
		source = "set with term cols"
	case s.port.reportedCols() == s.width:
		source = "reported by the terminal"
	}
	return termWidth{s.width, source}, nil
}
