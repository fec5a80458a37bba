package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kpos/boards"
	"kpos/boards/sim"
	"kpos/firmware/journal"
	"kpos/tools/hostsim"
)

// The sim board's provisioned test terminal (docs/test-cards.md).
const simTID = "12345678"

// The crash points kpos -crash-at knows.
var crashPoints = []string{"after-pending", "after-host-answer", "after-approved"}

// Host faults the campaign mixes in: each is answered at once, so the
// terminal reverses without waiting for its deadline.
var campaignFaults = []hostsim.FaultKind{hostsim.FaultDrop, hostsim.FaultDropAfter, hostsim.FaultBadMAC,
	hostsim.FaultGarbage, hostsim.FaultWrongSTAN}

// sale is one kind of transaction the campaign runs.
type sale struct {
	name string
	card string // test card profile; "" for a QR sale
	pin  string // "" for a tap under the no-PIN limit
	tap  bool   // contactless
	max  int64  // largest amount in fen, 0 for the default 99.99
}

var saleKinds = []sale{
	{name: "chip unionpay-debit", card: "unionpay-debit", pin: "123456"},
	{name: "chip unionpay-credit", card: "unionpay-credit", pin: "654321"},
	{name: "chip visa-credit", card: "visa-credit", pin: "1234"},
	{name: "tap unionpay-credit", card: "unionpay-credit", tap: true, max: 5000},
	{name: "qr customer code"},
}

// script writes the scenario of one sale. outcome is what the run must
// end with when nothing cuts it: approved, declined (the host declined)
// or reversed (the answer was lost).
func (s sale) script(amount int64, outcome string, slow int, code string) string {
	w := func(d int) string { return fmt.Sprintf("%ds", d*slow) }
	var b strings.Builder
	fmt.Fprintf(&b, "# campaign: %s, %d fen, %s\n", s.name, amount, outcome)
	fmt.Fprintf(&b, "expect screen idle within %s\n", w(30))
	digits := strings.Join(strings.Split(fmt.Sprint(amount), ""), " ")
	if s.card == "" {
		fmt.Fprintf(&b, "keys MENU\nexpect screen menu\nkeys 2\nexpect screen amount\nkeys %s ENTER\n", digits)
		fmt.Fprintf(&b, "expect screen qr-scan\nscan %s\nexpect screen qr-confirm\nkeys ENTER\n", code)
	} else if s.tap {
		fmt.Fprintf(&b, "keys %s ENTER ENTER\ntap %s\n", digits, s.card)
	} else {
		// The card goes in when the terminal asks for it: one in the slot
		// before the prompt is not read.
		fmt.Fprintf(&b, "keys %s ENTER ENTER\nexpect screen present-card within %s\ninsert %s\nexpect screen enter-pin within %s\npin %s\n",
			digits, w(10), s.card, w(10), s.pin)
	}
	inserted := s.card != "" && !s.tap
	switch outcome {
	case "approved":
		if inserted {
			fmt.Fprintf(&b, "expect screen remove-card within %s\nremove\n", w(20))
		}
		fmt.Fprintf(&b, "expect screen approved within %s\nexpect journal last completed\n", w(20))
	case "declined":
		fmt.Fprintf(&b, "expect screen declined within %s\n", w(20))
		if inserted {
			b.WriteString("remove\n")
		}
		b.WriteString("expect journal last declined\n")
	case "reversed":
		fmt.Fprintf(&b, "expect screen declined within %s\n", w(30))
		if inserted {
			b.WriteString("remove\n")
		}
		fmt.Fprintf(&b, "expect journal last reversed within %s\n", w(10))
	}
	return b.String()
}

// campaignResult is what a campaign proved.
type campaignResult struct {
	cuts      int // power cuts survived: killed, journal opened, booted clean
	inDoubt   int // cuts that left a transaction in doubt (pending or approved) for the boot to reverse
	byMode    map[string]int
	runs      int // kpos runs in all
	completed int // sales completed in the journal at the end
	reversed  int
	declined  int
	faults    int  // host faults injected
	voids     int  // voids attempted
	settled   bool // the batch was settled, balanced, at the end
	settleCut bool // the power was cut during that settlement
	// pendingAfterBoot counts reversals a boot could not send (they go
	// before the next online transaction).
	pendingAfterBoot int
	voided           int // sales voided in the journal at the end
	problems         []string
	elapsed          time.Duration
}

// campaign cuts the power of a sim-board kpos, again and again, while it
// sells, with the host simulator running here so that its records survive.
type campaign struct {
	root, dir, data string
	bin             binary
	host            *hostsim.Server
	addr            string
	rng             *rand.Rand
	log             io.Writer
	logf            func(string, ...any)
	res             campaignResult
	window          map[string]time.Duration // per sale kind: how long a whole run takes
	seq             int
}

// campaignPlan is how many power cuts a campaign aims for, how many it
// must reach, and how long it may take to get there.
type campaignPlan struct {
	cuts, min int
	budget    time.Duration
}

func runCampaign(ctx context.Context, root, dir string, b binary, plan campaignPlan, seed uint64, logf func(string, ...any)) (campaignResult, error) {
	start := time.Now()
	c := &campaign{root: root, dir: dir, data: filepath.Join(dir, "data"), bin: b,
		rng: rand.New(rand.NewPCG(seed, 0x6b706f73)), logf: logf, window: map[string]time.Duration{},
		res: campaignResult{byMode: map[string]int{}}}
	for _, d := range []string{c.data, filepath.Join(dir, "scripts")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return c.res, err
		}
	}
	logFile, err := os.Create(filepath.Join(dir, "campaign.log"))
	if err != nil {
		return c.res, err
	}
	defer logFile.Close()
	c.log = logFile
	hostLog, err := os.Create(filepath.Join(dir, "host.log"))
	if err != nil {
		return c.res, err
	}
	defer hostLog.Close()
	c.host, err = hostsim.New(hostsim.Config{DataDir: filepath.Join(root, "testdata", "host"),
		Logger: slog.New(slog.NewTextHandler(hostLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		return c.res, err
	}
	data, err := hostsim.LoadData(filepath.Join(root, "testdata", "host"))
	if err != nil {
		return c.res, err
	}
	initial := map[string]int64{}
	var pans []string
	for _, cd := range data.Cards {
		bal, _ := c.host.Balance(cd.PAN)
		initial[cd.PAN] = bal
		pans = append(pans, cd.PAN)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return c.res, err
	}
	hctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- c.host.Serve(hctx, ln) }()
	defer func() {
		stop()
		<-served
	}()
	c.addr = ln.Addr().String()

	// Each kind of sale once without a cut: the first boot, and how long a
	// run takes (the window random cuts fall in).
	for _, s := range saleKinds {
		o, err := c.sell(ctx, s, 1000, "approved", 0, "calibrate", "")
		if err != nil {
			return c.res, err
		}
		if o.code != 0 {
			c.problem("calibration %s: the sale failed without a cut (see campaign.log)", s.name)
			return c.finish(ctx, start, pans, initial)
		}
		c.window[s.name] = o.elapsed
	}
	deadline := start.Add(plan.budget)
	for attempts := 0; c.res.cuts < plan.cuts && attempts < 3*plan.cuts && len(c.res.problems) == 0; attempts++ {
		if err := ctx.Err(); err != nil {
			return c.res, err
		}
		if c.res.cuts >= plan.min && time.Now().After(deadline) {
			logf("      %s campaign: time budget of %v spent at %d power cuts", b.arch, plan.budget, c.res.cuts)
			break
		}
		before := c.res.cuts
		if err := c.round(ctx); err != nil {
			return c.res, err
		}
		if c.res.cuts != before && c.res.cuts%250 == 0 {
			logf("      %s campaign: %d power cuts so far (%v)", b.arch, c.res.cuts, time.Since(start).Round(time.Second))
		}
	}
	if c.res.cuts < plan.min && len(c.res.problems) == 0 {
		c.problem("only %d power cuts landed, want at least %d", c.res.cuts, plan.min)
	}
	if len(c.res.problems) == 0 {
		if err := c.settle(ctx); err != nil {
			return c.res, err
		}
	}
	return c.finish(ctx, start, pans, initial)
}

func (c *campaign) problem(format string, args ...any) {
	p := fmt.Sprintf(format, args...)
	c.res.problems = append(c.res.problems, p)
	fmt.Fprintf(c.log, "PROBLEM %s\n", p)
}

// round runs one sale and cuts its power: at a named crash point, or at a
// random moment of the run (booting, reading the card, waiting for the
// host, reversing), sometimes with a host fault on top.
func (c *campaign) round(ctx context.Context) error {
	if c.rng.IntN(100) < 12 {
		if done, err := c.voidRound(ctx); done || err != nil {
			return err
		}
	}
	s := saleKinds[c.rng.IntN(len(saleKinds))]
	top := s.max
	if top == 0 {
		top = 9999
	}
	amount := int64(100 + c.rng.Int64N(top-100))
	switch amount % 100 {
	case 55, 91, 99:
		amount++ // wrong PIN, issuer down, never answered: not what this campaign tests
	}
	outcome := "approved"
	if amount%100 == 51 {
		outcome = "declined"
	}
	var mode string
	var kill time.Duration
	crashAt := ""
	switch r := c.rng.IntN(100); {
	case r < 15:
		mode = "no cut" // sales that complete keep the balance check honest
	case r < 50 && s.card != "":
		crashAt = crashPoints[c.rng.IntN(len(crashPoints))]
		mode = "crash-at " + crashAt
	case r < 88:
		kill = time.Duration(1 + c.rng.Int64N(int64(c.window[s.name])))
		mode = "random kill"
	default:
		f := campaignFaults[c.rng.IntN(len(campaignFaults))]
		c.host.InjectFault(hostsim.Fault{Kind: f, MTI: "0200"})
		c.res.faults++
		outcome = "reversed"
		mode = "host " + f.String()
		if c.rng.IntN(2) == 0 {
			kill = time.Duration(1 + c.rng.Int64N(int64(c.window[s.name])))
			mode += " + random kill"
		}
	}
	o, err := c.sell(ctx, s, amount, outcome, kill, mode, crashAt)
	if err != nil {
		return err
	}
	c.host.ClearFaults() // a fault the cut kept from its request must not hit the boot
	if !o.killed {
		if o.code != 0 && outcome != "reversed" {
			// Without a fault or a cut the sale must end as written.
			c.problem("run %d (%s, %s): ended with status %d without a cut", c.seq, s.name, mode, o.code)
		}
		return nil
	}
	if crashAt != "" {
		mode = "crash-at"
	}
	return c.recover(ctx, mode)
}

// voidRound voids a completed card sale of the journal (the merchant's
// password is the test terminal's, docs/test-cards.md) and cuts the power
// at a random moment of it, or not at all. It reports false when there is
// no sale to void.
func (c *campaign) voidRound(ctx context.Context) (bool, error) {
	txns, err := c.journal()
	if err != nil {
		c.problem("run %d: the journal does not open: %v", c.seq, err)
		return true, nil
	}
	var open []journal.Txn
	for _, t := range txns {
		if t.Kind == journal.Sale && t.State == journal.Completed && (t.Method == journal.Chip || t.Method == journal.Contactless) {
			open = append(open, t)
		}
	}
	if len(open) == 0 {
		return false, nil
	}
	orig := open[c.rng.IntN(len(open))]
	w := func(d int) string { return fmt.Sprintf("%ds", d*c.bin.slow) }
	script := fmt.Sprintf(`# campaign: void of trace %06d
expect screen idle within %s
keys MENU 6
expect screen password
keys 1 2 3 4 5 6 ENTER
expect screen orig-trace
keys %s ENTER
expect screen orig-confirm "%06d"
keys ENTER
expect screen approved within %s
expect journal %d voided
`, orig.Trace, w(30), strings.Join(strings.Split(fmt.Sprint(orig.Trace), ""), " "), orig.Trace, w(20), orig.Trace)
	mode, kill := "void, no cut", time.Duration(0)
	if c.rng.IntN(4) != 0 {
		// The window of a sale is about that of a void: both boot, talk to
		// the host once and print.
		kill = time.Duration(1 + c.rng.Int64N(int64(c.window[saleKinds[0].name])))
		mode = "void + random kill"
	}
	c.res.voids++
	o, err := c.kpos(ctx, script, kill, mode, "")
	if err != nil {
		return true, err
	}
	if !o.killed {
		if o.code != 0 {
			c.problem("run %d (void of trace %06d): ended with status %d without a cut", c.seq, orig.Trace, o.code)
		}
		return true, nil
	}
	return true, c.recover(ctx, "random kill")
}

// settle closes the batch as the merchant does at the end of the day, the
// first time with a power cut at a random moment (the boot resumes the
// settlement where it stood). The host must then hold a balanced
// settlement: its totals and the terminal's agree.
func (c *campaign) settle(ctx context.Context) error {
	before := len(c.host.Records())
	w := func(d int) string { return fmt.Sprintf("%ds", d*c.bin.slow) }
	script := fmt.Sprintf(`# campaign: settlement
expect screen idle within %s
keys MENU 9 1
expect screen password
keys 1 2 3 4 5 6 ENTER
expect screen settle-confirm
keys ENTER
expect screen settled "Balanced" within %s
`, w(30), w(60))
	for attempt := 0; attempt < 3; attempt++ {
		if c.settled(before) {
			return nil
		}
		kill, mode := time.Duration(0), "settlement"
		if attempt == 0 {
			kill = time.Duration(1 + c.rng.Int64N(2*int64(c.window[saleKinds[0].name])))
			mode = "settlement + random kill"
		}
		o, err := c.kpos(ctx, script, kill, mode, "")
		if err != nil {
			return err
		}
		if o.killed {
			c.res.settleCut = true
			if err := c.recover(ctx, "random kill"); err != nil {
				return err
			}
		} else if o.code != 0 {
			c.problem("run %d: the settlement failed with status %d", c.seq, o.code)
			return nil
		}
	}
	if !c.settled(before) {
		c.problem("no balanced settlement at the host after three tries")
	}
	return nil
}

// settled reports whether the host recorded a balanced settlement after
// its first `after` records.
func (c *campaign) settled(after int) bool {
	recs := c.host.Records()
	for _, r := range recs[min(after, len(recs)):] {
		if r.Type == "settlement" && r.TID == simTID && r.Balanced {
			c.res.settled = true
			return true
		}
	}
	return false
}

// recover checks that the journal a cut left opens, boots the terminal
// (which reverses what is in doubt) and checks nothing is left in doubt.
func (c *campaign) recover(ctx context.Context, mode string) error {
	before, err := c.journal()
	if err != nil {
		c.problem("run %d: after the cut the journal does not open: %v", c.seq, err)
		return nil
	}
	doubt := false
	for _, t := range before {
		doubt = doubt || t.State.InDoubt()
	}
	boot := fmt.Sprintf("# campaign: boot after a power cut\nexpect screen idle within %ds\n", 60*c.bin.slow)
	o, err := c.kpos(ctx, boot, 0, "boot", "")
	if err != nil {
		return err
	}
	if o.code != 0 {
		c.problem("run %d: the boot after the cut failed with status %d", c.seq, o.code)
		return nil
	}
	txns, err := c.journal()
	if err != nil {
		c.problem("run %d: after the boot the journal does not open: %v", c.seq, err)
		return nil
	}
	for _, t := range txns {
		switch {
		case t.State.InDoubt():
			c.problem("run %d: trace %06d still %s after the boot", c.seq, t.Trace, t.State)
		case t.State == journal.ReversalPending:
			// Allowed: the reversal goes before the next online
			// transaction (SPEC store and forward); the final check
			// wants none left. Counted, since a boot should manage it.
			c.res.pendingAfterBoot++
			fmt.Fprintf(c.log, "NOTE run %d: trace %06d still reversal-pending after the boot\n", c.seq, t.Trace)
		}
	}
	c.res.cuts++
	c.res.byMode[mode]++
	if doubt {
		c.res.inDoubt++
	}
	return nil
}

// sell runs one sale.
func (c *campaign) sell(ctx context.Context, s sale, amount int64, want string, kill time.Duration, mode, crashAt string) (outcome, error) {
	code := fmt.Sprintf("25%022d", c.rng.Uint64()%1e18) // an Alipay-style customer code
	return c.kpos(ctx, s.script(amount, want, c.bin.slow, code), kill, mode, crashAt)
}

// kpos writes script and runs kpos on it against the campaign's host.
func (c *campaign) kpos(ctx context.Context, script string, kill time.Duration, mode, crashAt string) (outcome, error) {
	c.seq++
	c.res.runs++
	path := filepath.Join(c.dir, "scripts", fmt.Sprintf("%04d.txt", c.seq))
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return outcome{}, err
	}
	args := []string{"-board", "sim", "-data", c.data, "-params", filepath.Join(c.root, "testdata"),
		"-host", c.addr, "-script", path}
	if crashAt != "" {
		args = append(args, "-crash-at", crashAt)
	}
	o, err := c.bin.runKpos(ctx, c.root, time.Duration(c.bin.slow)*2*time.Minute, kill, args...)
	if err != nil {
		return o, err
	}
	end := fmt.Sprintf("status %d", o.code)
	if o.killed {
		end = "power cut (SIGKILL)"
	}
	fmt.Fprintf(c.log, "=== run %04d %s kill=%v: %s after %v\n%s", c.seq, mode, kill, end,
		o.elapsed.Round(time.Millisecond), o.out)
	return o, nil
}

// journal opens the terminal's journal as the firmware does (the seal key
// derived from the simulated board's device key, kept beside the data
// folder) and lists it.
func (c *campaign) journal() ([]journal.Txn, error) {
	keyPath := sim.DeviceKeyPath(c.data)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		return nil, nil // cut before the first boot wrote anything
	}
	key, err := boards.LoadDeviceKey(keyPath)
	if err != nil {
		return nil, err
	}
	b := boards.Board{DeviceKey: key}
	j, err := journal.Open(filepath.Join(c.data, "journal.db"), b.SubKey("journal"), journal.Options{})
	if err != nil {
		return nil, err
	}
	txns, err := j.List(0)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	return txns, err
}

// finish boots once more (which sends whatever reversal is still queued),
// then compares the journal with the host and the
// card balances with the completed sales, and leaves the journal dump and
// the host's records beside the logs.
func (c *campaign) finish(ctx context.Context, start time.Time, pans []string, initial map[string]int64) (campaignResult, error) {
	boot := fmt.Sprintf("# campaign: the last boot\nexpect screen idle within %ds\n", 60*c.bin.slow)
	if o, err := c.kpos(ctx, boot, 0, "last boot", ""); err != nil {
		return c.res, err
	} else if o.code != 0 {
		c.problem("the last boot failed with status %d", o.code)
	}
	txns, err := c.journal()
	if err != nil {
		c.problem("at the end the journal does not open: %v", err)
		return c.res, nil
	}
	recs := c.host.Records()
	for _, p := range reconcile(recs, txns, simTID) {
		c.problem("%s", p)
	}
	spent := spentByCard(txns, pans)
	sort.Strings(pans)
	for _, pan := range pans {
		bal, _ := c.host.Balance(pan)
		if want := initial[pan] - spent[pan]; bal != want {
			c.problem("card %s…%s: balance at the host %d, want %d (initial %d less completed sales %d)",
				pan[:6], pan[len(pan)-4:], bal, want, initial[pan], spent[pan])
		}
	}
	for _, t := range txns {
		switch t.State {
		case journal.Completed:
			c.res.completed++
		case journal.Reversed:
			c.res.reversed++
		case journal.Declined:
			c.res.declined++
		case journal.Voided:
			c.res.voided++
		}
	}
	if err := writeJSON(filepath.Join(c.dir, "journal.json"), txns); err != nil {
		return c.res, err
	}
	if err := writeJSON(filepath.Join(c.dir, "host-records.json"), recs); err != nil {
		return c.res, err
	}
	c.res.elapsed = time.Since(start)
	return c.res, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}
