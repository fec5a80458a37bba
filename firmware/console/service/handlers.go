package service

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

	"kpos/firmware/console/command"
	"kpos/firmware/durable"
	"kpos/firmware/update"
)

// Options are what the service commands need beyond their services.
type Options struct {
	FileRoot      string // relative backup/restore/update paths resolve here
	MaxBackupSize int64  // default 64 MiB
	// OnUpdateProgress, when set, also receives firmware update progress
	// (the firmware wires it to the display).
	OnUpdateProgress func(update.Progress)
}

// set is the service commands bound to their services.
type set struct {
	svc Services
	opt Options
}

// Commands returns the service commands over svc, in the order help lists
// them. Each record is the whole of its command (see command.Command).
func Commands(svc Services, opt Options) []*command.Command {
	if opt.MaxBackupSize <= 0 {
		opt.MaxBackupSize = 64 << 20
	}
	x := &set{svc: svc, opt: opt}
	return x.commands()
}

// resolve places a relative path under FileRoot.
func (x *set) resolve(p string) string {
	if x.opt.FileRoot != "" && !filepath.IsAbs(p) {
		return filepath.Join(x.opt.FileRoot, p)
	}
	return p
}

func (x *set) commands() []*command.Command {
	return []*command.Command{
		{Name: "status", Summary: "version, board, binding, batch, link, last errors",
			Help: "Shows what the terminal is and how it is doing.", Run: command.Handle(x.runStatus, showStatus)},
		{Name: "test", Usage: "reader|printer|scanner|modem|keypad|display|leds", Summary: "run a device self-test",
			Help: "reader waits for a card; printer prints a test page and reads the status; scanner reads one code;\nmodem shows SIM, signal and registration; keypad echoes keys until ENTER; display shows a\ntest pattern; leds cycles the LEDs and the buzzer. Ctrl-C stops a test.",
			Noun: "device", Need: "%s needs one device", Subs: x.deviceTests()},
		{Name: "modem", Usage: "at COMMAND", Summary: "pass one AT command to the modem (*)",
			Help: "Sends COMMAND (quoted if it has spaces) to the modem and shows the reply. For diagnostics.",
			Need: "%s needs 'at' and one AT command",
			Subs: []*command.Command{{Name: "at", Args: command.Between(1, 1, "%s needs 'at' and one AT command"), Privileged: command.Always,
				Run: command.Handle(x.runModemAT, func(_ *command.Call, r modemReply) string { return lines(r.Reply) })}}},
		{Name: "param", Usage: "list | get NAME | set NAME VALUE", Summary: "terminal parameters (set *)",
			Help: "Values are validated before they are stored; sensitive values are shown masked.",
			Subs: []*command.Command{
				{Name: "list", Args: command.Between(0, 0, "%s list takes no more arguments"), Run: command.Handle(x.runParamList, command.TableOf("",
					command.Column[Param]{Head: "NAME", Cell: func(p Param) string { return p.Name }, Keep: true},
					command.Column[Param]{Head: "VALUE", Cell: func(p Param) string { return p.Value }},
					command.Column[Param]{Head: "DESCRIPTION", Cell: paramAbout}))},
				{Name: "get", Args: command.Between(1, 1, "%s get needs one NAME"), Run: command.Handle(x.runParamGet, command.FieldsOf(
					command.Field[Param]{Key: "name", Val: func(p Param) string { return p.Name }},
					command.Field[Param]{Key: "value", Val: func(p Param) string { return p.Value }},
					command.Field[Param]{Key: "about", Val: func(p Param) string { return p.Description }}))},
				{Name: "set", Args: command.Between(2, 2, "%s set needs NAME and VALUE (quote a value with spaces)"), Privileged: command.Always,
					Run: command.Handle(x.runParamSet, command.Sentence(func(p Param) string { return p.Name + " = " + p.Value }))},
			}},
		{Name: "keys", Summary: "key check values and load dates", Help: "Lists the keys with their check values. Key material is never shown.",
			Run: command.Handle(x.runKeys, command.TableOf("",
				command.Column[KeyInfo]{Head: "KEY", Cell: func(k KeyInfo) string { return k.Name }},
				command.Column[KeyInfo]{Head: "ALGORITHM", Cell: func(k KeyInfo) string { return k.Algorithm }},
				command.Column[KeyInfo]{Head: "KCV", Cell: func(k KeyInfo) string { return orDash(k.KCV) }},
				command.Column[KeyInfo]{Head: "LOADED", Cell: keyLoaded}))},
		{Name: "binding", Summary: "K-code binding status", Help: "Shows the terminal's binding to its merchant and bank.",
			Run: command.Handle(x.runBinding, command.FieldsOf(
				command.Field[BindingInfo]{Key: "state", Val: func(b BindingInfo) string { return b.State }},
				command.Field[BindingInfo]{Key: "TID / MID", Val: func(b BindingInfo) string { return orDash(b.TID) + " / " + orDash(b.MID) }},
				command.Field[BindingInfo]{Key: "merchant", Val: func(b BindingInfo) string { return orDash(b.Merchant) }},
				command.Field[BindingInfo]{Key: "bank", Val: func(b BindingInfo) string { return orDash(b.Bank) }},
				command.Field[BindingInfo]{Key: "bound", Val: func(b BindingInfo) string { return command.TimeStr(b.BoundAt) }},
				command.Field[BindingInfo]{Key: "expires", Val: func(b BindingInfo) string { return command.TimeStr(b.ExpiresAt) }},
				command.Field[BindingInfo]{Key: "last check", Val: func(b BindingInfo) string { return command.TimeStr(b.LastCheck) }},
				command.Field[BindingInfo]{Key: "settlement", Val: func(b BindingInfo) string { return orDash(b.SettlementAccount) }}))},
		{Name: "journal", Usage: "list [N] | show TRACE", Summary: "transactions of the open batch (masked)",
			Help: "list shows the newest N (default 20) transactions; show prints one by trace number.",
			Subs: []*command.Command{
				{Name: "list", Args: command.Between(0, 1, "%s list takes at most N"), Run: command.Handle(x.runJournalList, command.TableOf("no transactions in the open batch",
					command.Column[JournalEntry]{Head: "TRACE", Cell: func(e JournalEntry) string { return fmt.Sprintf("%06d", e.Trace) }, Keep: true},
					command.Column[JournalEntry]{Head: "TIME", Cell: func(e JournalEntry) string { return e.Time.Format("01-02 15:04") }},
					command.Column[JournalEntry]{Head: "KIND", Cell: func(e JournalEntry) string { return e.Kind }},
					command.Column[JournalEntry]{Head: "METHOD", Cell: func(e JournalEntry) string { return e.Method }},
					command.Column[JournalEntry]{Head: "AMOUNT", Cell: func(e JournalEntry) string { return command.Money(e.Amount) }, Right: true, Keep: true},
					command.Column[JournalEntry]{Head: "CARD", Cell: func(e JournalEntry) string { return orDash(e.MaskedPAN) }, Keep: true},
					command.Column[JournalEntry]{Head: "STATE", Cell: func(e JournalEntry) string { return e.State }}))},
				{Name: "show", Args: command.Between(1, 1, "%s show needs one TRACE"), Run: command.Handle(x.runJournalShow, command.FieldsOf(
					command.Field[JournalEntry]{Key: "trace", Val: func(e JournalEntry) string { return fmt.Sprintf("%06d (batch %06d)", e.Trace, e.Batch) }},
					command.Field[JournalEntry]{Key: "time", Val: func(e JournalEntry) string { return e.Time.Format("2006-01-02 15:04:05") }},
					command.Field[JournalEntry]{Key: "kind", Val: func(e JournalEntry) string { return e.Kind + " by " + e.Method }},
					command.Field[JournalEntry]{Key: "amount", Val: func(e JournalEntry) string { return command.Money(e.Amount) + " " + e.Currency }},
					command.Field[JournalEntry]{Key: "card", Val: func(e JournalEntry) string { return orDash(e.MaskedPAN) }},
					command.Field[JournalEntry]{Key: "state", Val: func(e JournalEntry) string { return e.State + respText(e.Response) }},
					command.Field[JournalEntry]{Key: "auth code", Val: func(e JournalEntry) string { return orDash(e.AuthCode) }},
					command.Field[JournalEntry]{Key: "reference", Val: func(e JournalEntry) string { return orDash(e.RRN) }},
					command.Field[JournalEntry]{Key: "application", Val: func(e JournalEntry) string { return strings.TrimSpace(orDash(e.AppLabel) + " " + e.AID) }},
					command.Field[JournalEntry]{Key: "settled", Val: func(e JournalEntry) string { return yesNo(e.Settled) }}))},
			}},
		{Name: "reprint", Usage: "TRACE | last", Summary: "reprint a receipt", Words: []string{"last"},
			Help: "Prints the receipt of a trace number again, or of the last transaction.",
			Args: command.Between(1, 1, "%s needs a TRACE or 'last'"),
			Run:  command.Handle(x.runReprint, command.Sentence(func(r reprinted) string { return fmt.Sprintf("receipt of trace %06d reprinted", r.Trace) }))},
		{Name: "settle", Summary: "settle the open batch now (*)", Help: "Runs settlement with the host and prints the report.", Privileged: command.Always,
			Run: command.Handle(x.runSettle, command.Sentence(settleText))},
		{Name: "log", Usage: "tail [N] | level [debug|info|warn|error]", Summary: "firmware log (level change *)",
			Help: "tail shows the last N (default 20) log lines; level shows or sets the log level.",
			Subs: []*command.Command{
				{Name: "tail", Args: command.Between(0, 1, "%s tail takes at most N"), Run: command.Handle(x.runLogTail, func(_ *command.Call, ls []LogLine) string {
					var b strings.Builder
					for _, l := range ls {
						fmt.Fprintf(&b, "%s %-5s %s\n", l.Time.Format("01-02 15:04:05"), strings.ToUpper(l.Level), l.Message)
					}
					return b.String()
				})},
				{Name: "level", Args: command.Between(0, 1, "%s level takes one level"), Privileged: func(a []string) bool { return len(a) > 0 },
					Run: command.Handle(x.runLogLevel, command.Sentence(func(l logLevel) string { return "log level " + l.was + l.Level }))},
			}},
		{Name: "perf", Summary: "response times per host and device", Help: "Count, errors, median, 95th percentile and maximum response time.",
			Run: command.Handle(x.runPerf, command.TableOf("",
				command.Column[PerfStat]{Head: "TARGET", Cell: func(p PerfStat) string { return p.Target }},
				command.Column[PerfStat]{Head: "COUNT", Cell: func(p PerfStat) string { return strconv.Itoa(p.Count) }, Right: true},
				command.Column[PerfStat]{Head: "ERRORS", Cell: func(p PerfStat) string { return strconv.Itoa(p.Errors) }, Right: true},
				command.Column[PerfStat]{Head: "P50", Cell: func(p PerfStat) string { return ms(p.P50) }, Right: true},
				command.Column[PerfStat]{Head: "P95", Cell: func(p PerfStat) string { return ms(p.P95) }, Right: true},
				command.Column[PerfStat]{Head: "MAX", Cell: func(p PerfStat) string { return ms(p.Max) }, Right: true}))},
		{Name: "backup", Usage: "FILE | -", Summary: "back up journal and parameters (*)",
			Help: "Writes the journal and the parameters with an integrity header (length and SHA-256) to FILE,\nor with - prints them as base64 lines to copy from the console.",
			Args: command.Between(1, 1, "%s needs a FILE, or - for the console"), Privileged: command.Always, Run: command.Handle(x.runBackup, showBackup)},
		{Name: "restore", Usage: "FILE | -", Summary: "restore a backup (*)",
			Help: "Checks the integrity header and restores from FILE, or with - from base64 lines pasted into\nthe console. Refused when the backup is damaged or would lose unsettled transactions.",
			Args: command.Between(1, 1, "%s needs a FILE, or - to paste"), Privileged: command.Always, Interactive: true,
			Run: command.Handle(x.runRestore, command.Sentence(func(r restored) string { return fmt.Sprintf("restored %d bytes of journal and parameters", r.Bytes) }))},
		{Name: "update", Usage: "[FILE [--force]]", Summary: "firmware slots; install a signed image (*)",
			Help: "Without FILE shows the A/B slots. With FILE verifies the signed image and writes it to the\ninactive slot; the new firmware runs on trial after 'reboot' and rolls back unless it reports\nhealthy. --force allows a downgrade.",
			Args: command.Between(0, 1, "%s takes one FILE"), Force: true,
			Privileged: func(a []string) bool { return len(a) > 0 }, Run: x.runUpdate},
		{Name: "reboot", Summary: "restart the terminal (*)", Help: "Restarts the terminal.", Privileged: command.Always, Run: command.Say(x.runReboot)},
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

// statusView is status's answer.
type statusView struct {
	Status
	UptimeS int64         `json:"uptime_s"`
	Update  *update.State `json:"update,omitempty"`
}

func (x *set) runStatus(c *command.Call) (statusView, error) {
	svc := x.svc
	if err := command.Available(svc.Status != nil); err != nil {
		return statusView{}, err
	}
	st, err := svc.Status.Status(c.Ctx)
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

func showStatus(c *command.Call, v statusView) string {
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
			t.Method, t.SaleCount, command.Money(t.SaleAmount), t.RefundCount, command.Money(t.RefundAmount), t.VoidCount)})
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
		pairs = append(pairs, [2]string{k, command.Cut(fmt.Sprintf("%s %s: %s", e.Time.Format("01-02 15:04"), e.Source, e.Message), c.Out.Width-10)})
	}
	return command.KV(pairs...)
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
func (x *set) devices(c *command.Call) (DeviceTests, error) {
	d := x.svc.Devices
	return d, command.Available(d != nil)
}

// deviceTest declares one 'test' device: a handler answering a T and its
// text.
func deviceTest[T any](x *set, name string, run func(*command.Call, DeviceTests) (T, error), show func(T) string) *command.Command {
	return &command.Command{Name: name, Args: command.Between(0, 0, "%s needs one device"), Run: command.Handle(func(c *command.Call) (T, error) {
		d, err := x.devices(c)
		if err != nil {
			var zero T
			return zero, err
		}
		return run(c, d)
	}, func(_ *command.Call, v T) string { return show(v) })}
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

func (x *set) deviceTests() []*command.Command {
	return []*command.Command{
		deviceTest(x, "reader", func(c *command.Call, d DeviceTests) (CardDetect, error) {
			c.Live("Insert, tap or swipe a card (Ctrl-C to stop)...")
			return d.DetectCard(c.Ctx)
		}, func(r CardDetect) string {
			t := fmt.Sprintf("reader ok: card %s (%s)", r.Event, r.Interface)
			if r.ATRLen > 0 {
				t += fmt.Sprintf(", ATR %d bytes", r.ATRLen)
			}
			return t + "\n"
		}),
		deviceTest(x, "printer", func(c *command.Call, d DeviceTests) (printerTest, error) {
			if err := d.PrinterTestPage(c.Ctx); err != nil {
				st, serr := d.PrinterStatus(c.Ctx)
				if serr == nil && !st.Ready {
					return printerTest{}, fmt.Errorf("test page not printed: %s", printerAdvice(st))
				}
				return printerTest{}, fmt.Errorf("test page not printed: %w", err)
			}
			st, err := d.PrinterStatus(c.Ctx)
			return printerTest{"printed", st}, err
		}, func(p printerTest) string { return "printer ok: test page printed; " + printerAdvice(p.Status) + "\n" }),
		deviceTest(x, "scanner", func(c *command.Call, d DeviceTests) (ScanResult, error) {
			c.Live("Show a QR or bar code to the scanner (Ctrl-C to stop)...")
			r, err := d.ScanOne(c.Ctx)
			r.Text = command.Cut(r.Text, 64)
			return r, err
		}, func(r ScanResult) string { return fmt.Sprintf("scanner ok: %s code, %q\n", r.Kind, r.Text) }),
		deviceTest(x, "modem", func(c *command.Call, d DeviceTests) (ModemInfo, error) { return d.Modem(c.Ctx) },
			func(m ModemInfo) string {
				return command.KV(
					[2]string{"model", orDash(m.Model)},
					[2]string{"SIM", m.SIM + iccid(m.ICCIDMasked)},
					[2]string{"signal", signalText(m.Signal)},
					[2]string{"network", m.Registration + opText(m.Operator)},
				)
			}),
		deviceTest(x, "keypad", func(c *command.Call, d DeviceTests) (keypadTest, error) {
			c.Live("Press keys on the terminal; ENTER ends the test (Ctrl-C to stop)...")
			keys, err := d.KeypadTest(c.Ctx)
			return keypadTest{keys}, err
		}, func(k keypadTest) string { return "keypad ok: " + strings.Join(k.Keys, " ") + "\n" }),
		deviceTest(x, "display", func(c *command.Call, d DeviceTests) (*struct{}, error) { return nil, d.DisplayTest(c.Ctx) },
			func(*struct{}) string { return "display ok: test pattern shown; check every pixel and both colours.\n" }),
		deviceTest(x, "leds", func(c *command.Call, d DeviceTests) (*struct{}, error) { return nil, d.IndicatorTest(c.Ctx) },
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

func (x *set) runModemAT(c *command.Call) (modemReply, error) {
	at := c.Args[0]
	c.Out.AuditArgs = []string{"at", maskAT(at)}
	if len(at) < 2 || !strings.EqualFold(at[:2], "AT") || len(at) > 256 {
		return modemReply{}, c.Usage("'%s' is not an AT command", maskAT(at))
	}
	for _, b := range []byte(at) {
		if b < 0x20 || b > 0x7e {
			return modemReply{}, c.Usage("AT commands are printable ASCII")
		}
	}
	d, err := x.devices(c)
	if err != nil {
		return modemReply{}, err
	}
	reply, err := d.ModemAT(c.Ctx, at)
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
func (x *set) params(c *command.Call) (ParamStore, error) {
	p := x.svc.Params
	return p, command.Available(p != nil)
}

func paramAbout(p Param) string {
	if p.ReadOnly {
		return p.Description + " (read-only)"
	}
	return p.Description
}

func (x *set) runParamList(c *command.Call) ([]Param, error) {
	p, err := x.params(c)
	if err != nil {
		return nil, err
	}
	list, err := p.List(c.Ctx)
	for i := range list {
		list[i] = maskParam(list[i])
	}
	return list, err
}

func (x *set) runParamGet(c *command.Call) (Param, error) {
	p, err := x.params(c)
	if err != nil {
		return Param{}, err
	}
	v, err := p.Get(c.Ctx, c.Args[0])
	if errors.Is(err, ErrNotFound) {
		return Param{}, paramNotFound(c.Ctx, p, c.Args[0])
	}
	return maskParam(v), err
}

func (x *set) runParamSet(c *command.Call) (Param, error) {
	p, err := x.params(c)
	if err != nil {
		return Param{}, err
	}
	name, value := c.Args[0], c.Args[1]
	cur, err := p.Get(c.Ctx, name)
	if errors.Is(err, ErrNotFound) {
		c.Out.AuditArgs = []string{"set", name, "(unknown)"}
		return Param{}, paramNotFound(c.Ctx, p, name)
	}
	if err != nil {
		return Param{}, err
	}
	if cur.Sensitive {
		c.Out.AuditArgs = []string{"set", name, "****"}
	}
	if cur.ReadOnly {
		return Param{}, fmt.Errorf("%s is read-only", name)
	}
	if err := p.Set(c.Ctx, name, value); err != nil {
		if errors.Is(err, ErrInvalid) {
			return Param{}, fmt.Errorf("%s not changed: %w", name, err)
		}
		return Param{}, err
	}
	after, err := p.Get(c.Ctx, name)
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
		if sug := command.Suggest(name, names); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
	}
	return fmt.Errorf("%s (%w)", msg, ErrNotFound)
}

func (x *set) runKeys(c *command.Call) ([]KeyInfo, error) {
	if err := command.Available(x.svc.Keys != nil); err != nil {
		return nil, err
	}
	keys, err := x.svc.Keys.Keys(c.Ctx)
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
		return command.TimeStr(k.LoadedAt)
	}
	return "not loaded"
}

func (x *set) runBinding(c *command.Call) (BindingInfo, error) {
	if err := command.Available(x.svc.Binding != nil); err != nil {
		return BindingInfo{}, err
	}
	return x.svc.Binding.Binding(c.Ctx)
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
func count(c *command.Call) (int, error) {
	if len(c.Args) == 0 {
		return 20, nil
	}
	v, err := strconv.Atoi(c.Args[0])
	if err != nil || v < 1 || v > 1000 {
		return 0, c.Usage("'%s' is not a count (1 to 1000)", c.Args[0])
	}
	return v, nil
}

// journal is the journal, when the board has one.
func (x *set) journal(c *command.Call) (JournalView, error) {
	j := x.svc.Journal
	return j, command.Available(j != nil)
}

func (x *set) runJournalList(c *command.Call) ([]JournalEntry, error) {
	n, err := count(c)
	if err != nil {
		return nil, err
	}
	j, err := x.journal(c)
	if err != nil {
		return nil, err
	}
	return j.List(c.Ctx, n)
}

func (x *set) runJournalShow(c *command.Call) (JournalEntry, error) {
	tr, err := parseTrace(c.Args[0])
	if err != nil {
		return JournalEntry{}, c.Usage("%v", err)
	}
	j, err := x.journal(c)
	if err != nil {
		return JournalEntry{}, err
	}
	e, err := j.Show(c.Ctx, tr)
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

func (x *set) runReprint(c *command.Call) (reprinted, error) {
	if c.Args[0] == "last" {
		j, err := x.journal(c)
		if err != nil {
			return reprinted{}, err
		}
		tr, err := j.ReprintLast(c.Ctx)
		return reprinted{tr}, errNotFoundAs(err, "nothing to reprint: no transaction yet")
	}
	tr, err := parseTrace(c.Args[0])
	if err != nil {
		return reprinted{}, c.Usage("%v", err)
	}
	j, err := x.journal(c)
	if err != nil {
		return reprinted{}, err
	}
	return reprinted{tr}, errNotFoundAs(j.Reprint(c.Ctx, tr), fmt.Sprintf("no transaction with trace %06d", tr))
}

func (x *set) runSettle(c *command.Call) (SettleResult, error) {
	j, err := x.journal(c)
	if err != nil {
		return SettleResult{}, err
	}
	c.Live("Settling with the host...")
	r, err := j.Settle(c.Ctx)
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
	return fmt.Sprintf("batch %06d settled, %s: %d transactions, %s\nnew batch %06d", r.Batch, how, r.Count, command.Money(r.Amount), r.NewBatch)
}

// logLevels are the levels log level accepts.
func logLevels() []string { return []string{"debug", "info", "warn", "error"} }

// logs is the log source, when the board has one.
func (x *set) logs(c *command.Call) (LogSource, error) {
	l := x.svc.Logs
	return l, command.Available(l != nil)
}

func (x *set) runLogTail(c *command.Call) ([]LogLine, error) {
	n, err := count(c)
	if err != nil {
		return nil, err
	}
	l, err := x.logs(c)
	if err != nil {
		return nil, err
	}
	return l.Tail(c.Ctx, n)
}

// logLevel is log level's answer; was is how the text says it.
type logLevel struct {
	Level string `json:"level"`
	was   string
}

func (x *set) runLogLevel(c *command.Call) (logLevel, error) {
	l, err := x.logs(c)
	if err != nil {
		return logLevel{}, err
	}
	if len(c.Args) == 0 {
		lvl, err := l.Level(c.Ctx)
		return logLevel{Level: lvl}, err
	}
	lvl := strings.ToLower(c.Args[0])
	ok := false
	for _, x := range logLevels() {
		ok = ok || x == lvl
	}
	if !ok {
		return logLevel{}, c.Usage("'%s' is not a level (%s)", c.Args[0], strings.Join(logLevels(), ", "))
	}
	return logLevel{Level: lvl, was: "set to "}, l.SetLevel(c.Ctx, lvl)
}

func (x *set) runPerf(c *command.Call) ([]PerfStat, error) {
	if err := command.Available(x.svc.Perf != nil); err != nil {
		return nil, err
	}
	return x.svc.Perf.Perf(c.Ctx)
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

func (x *set) runBackup(c *command.Call) (backedUp, error) {
	b := x.svc.Backup
	if err := command.Available(b != nil); err != nil {
		return backedUp{}, err
	}
	var payload bytes.Buffer
	if err := b.Export(c.Ctx, &limitWriter{w: &payload, n: x.opt.MaxBackupSize}); err != nil {
		return backedUp{}, fmt.Errorf("backup failed: %w", err)
	}
	sealed := sealBackup(payload.Bytes())
	if c.Args[0] == "-" {
		return backedUp{Bytes: payload.Len(), Armor: armor(sealed)}, nil
	}
	path := x.resolve(c.Args[0])
	if err := durable.WriteFile(path, sealed, 0o600); err != nil {
		return backedUp{}, fmt.Errorf("backup failed: %w", err)
	}
	return backedUp{Bytes: payload.Len(), File: path, named: c.Args[0]}, nil
}

func showBackup(_ *command.Call, b backedUp) string {
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
func pasteBackup(s command.Session, limit int64) ([]byte, error) {
	s.Println("Paste the backup (BEGIN to END lines); an empty line aborts.")
	var lines []string
	total := int64(0)
	for {
		l, err := s.ReadSecret("")
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
		if l == EndArmor {
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

func (x *set) runRestore(c *command.Call) (restored, error) {
	b := x.svc.Backup
	if err := command.Available(b != nil); err != nil {
		return restored{}, err
	}
	limit := x.opt.MaxBackupSize
	var sealed []byte
	var err error
	if c.Args[0] == "-" {
		sealed, err = pasteBackup(c.Sess, limit)
	} else {
		sealed, err = readBackup(x.resolve(c.Args[0]), limit)
	}
	if err != nil {
		return restored{}, err
	}
	payload, err := openBackup(sealed, limit)
	if err != nil {
		return restored{}, fmt.Errorf("restore refused: %w; nothing was changed", err)
	}
	rctx, cancel := context.WithTimeout(c.Ctx, c.Timeout)
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
func (x *set) runUpdate(c *command.Call) (any, string, error) {
	u := x.svc.Update
	if err := command.Available(u != nil); err != nil {
		return nil, "", err
	}
	if len(c.Args) == 0 {
		if c.Out.Force {
			return nil, "", c.Usage("--force needs a FILE")
		}
		return command.Handle(func(*command.Call) (update.State, error) { return u.Status() }, showSlots)(c)
	}
	return command.Handle(x.installUpdate, command.Sentence(func(r update.Result) string {
		return fmt.Sprintf("firmware %s written to slot %s; type 'reboot' to run it on trial", r.Version, r.Slot)
	}))(c)
}

func showSlots(c *command.Call, st update.State) string {
	row := func(sl update.Slot) []string {
		i := st.Info(sl)
		state := "standby"
		if sl == st.Active {
			state = "active"
			if st.Trial {
				state = fmt.Sprintf("active, trial boot %d", st.Boots)
			}
		}
		return []string{string(sl), orDash(i.Version), command.TimeStr(i.Installed), state}
	}
	t := c.Out.Table([]string{"SLOT", "VERSION", "INSTALLED", "STATE"}, [][]string{row(update.SlotA), row(update.SlotB)}, nil, nil)
	if st.Last != "" {
		t += fmt.Sprintf("last: %s\n", st.Last)
	}
	return t
}

func (x *set) installUpdate(c *command.Call) (update.Result, error) {
	lastPct := int64(-1)
	res, err := x.svc.Update.InstallFile(c.Ctx, x.resolve(c.Args[0]), update.Options{Force: c.Out.Force, Progress: func(p update.Progress) {
		if x.opt.OnUpdateProgress != nil {
			x.opt.OnUpdateProgress(p)
		}
		if c.Out.JSON || p.Phase != "write" || p.Total == 0 {
			return
		}
		pct := p.Written * 100 / p.Total
		if pct/10 > lastPct/10 || p.Written == p.Total && pct != lastPct {
			lastPct = pct
			c.Sess.Println(fmt.Sprintf("writing: %3d%% (%d of %d bytes)", pct, p.Written, p.Total))
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

func (x *set) runReboot(c *command.Call) (command.Done, error) {
	if err := command.Available(x.svc.Reboot != nil); err != nil {
		return "", err
	}
	// The reboot may not return: record it first.
	if err := c.Sess.Audit(c.Top.Name, nil, "requested"); err != nil {
		return "", err
	}
	c.Live("Rebooting...")
	if err := x.svc.Reboot(c.Ctx); err != nil {
		return "", fmt.Errorf("reboot failed: %w", err)
	}
	return "reboot under way\n", nil
}
