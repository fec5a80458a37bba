package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
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
	"strconv"
	"strings"
	"time"

	"kpos/boards"
	"kpos/boards/sim"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/keys"
	"kpos/firmware/update"
	"kpos/tools/hostsim"
	"kpos/tools/lossyfs"
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
// Its waits are as written: kpos scales them by the binary's slow-down
// (-wait-scale).
func (s sale) script(amount int64, outcome string, code string) string {
	w := func(d int) string { return fmt.Sprintf("%ds", d) }
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
		// The merchant tears off the merchant copy and a key prints the
		// cardholder's (the terminal would go on by itself after a pause).
		fmt.Fprintf(&b, "expect screen tear-off within %s\nkeys ENTER\n", w(20))
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
	// lossy says the data folder was on the lossy filesystem, so that a
	// cut forgot what was not synced; lossyWhy says why it was not.
	lossy    bool
	lossyWhy string
	cutModes map[lossyfs.Mode]int // lossy cuts by what they kept of the pending writes
	// Cuts after which something was lost (a file older than what a
	// finished run left, a transaction the host and the journal disagree
	// on), applied twice, or a store did not open.
	lost, doubled, unopenable int
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
	pw              *power
	// The cut of the current run: chosen before it starts, made at most
	// once (by the kill timer, or after a crash point's own SIGKILL).
	spec    lossyfs.Cut
	cutDone bool
	cutErr  error
	cutRep  lossyfs.Report
	files   *fileBook
	// Firmware updates: the test signing key, and how many were made.
	signer   ed25519.PrivateKey
	verifier ed25519.PublicKey
	updates  int
}

// campaignPlan is how many power cuts a campaign aims for, how many it
// must reach, and how long it may take to get there.
type campaignPlan struct {
	cuts, min int
	budget    time.Duration
	lossy     bool // on the lossy filesystem, when FUSE can be used
}

func runCampaign(ctx context.Context, root, dir string, b binary, plan campaignPlan, seed uint64, logf func(string, ...any)) (campaignResult, error) {
	start := time.Now()
	c := &campaign{root: root, dir: dir, bin: b,
		rng: rand.New(rand.NewPCG(seed, 0x6b706f73)), logf: logf, window: map[string]time.Duration{},
		res: campaignResult{byMode: map[string]int{}, cutModes: map[lossyfs.Mode]int{}}, files: newFileBook()}
	disk := filepath.Join(dir, "data")
	for _, d := range []string{disk, filepath.Join(dir, "scripts")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return c.res, err
		}
	}
	pw, err := startPower(ctx, dir, disk, filepath.Join(dir, "mnt"), plan.lossy)
	if err != nil {
		return c.res, err
	}
	defer func() {
		if err := pw.stop(); err != nil {
			logf("      %s campaign: %v", b.arch, err)
		}
	}()
	c.pw, c.data = pw, pw.mount
	c.res.lossy, c.res.lossyWhy = pw.lossy, pw.why
	if pw.lossy {
		logf("      %s campaign: on the lossy filesystem: a cut forgets what kpos did not sync", b.arch)
	} else {
		logf("      %s campaign: NOT lossy (%s): falling back to SIGKILL cuts, a weaker run: the kernel keeps every write, so a missing fsync cannot show", b.arch, pw.why)
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
	if o, err := c.kpos(ctx, c.bootScript("boot"), 0, "calibrate", ""); err != nil {
		return c.res, err
	} else if o.code != 0 {
		c.problem("calibration: a boot failed without a cut (see campaign.log)")
		return c.finish(ctx, start, pans, initial)
	} else {
		c.window["boot"] = o.elapsed
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
	if c.rng.IntN(100) < 8 {
		return c.signOnRound(ctx)
	}
	if c.rng.IntN(100) < 6 {
		return c.updateRound(ctx)
	}
	if c.rng.IntN(100) < 5 {
		return c.consoleRound(ctx)
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
	w := func(d int) string { return fmt.Sprintf("%ds", d) }
	script := fmt.Sprintf(`# campaign: void of trace %06d
expect screen idle within %s
keys MENU 6
expect screen password
keys 1 2 3 4 5 6 ENTER
expect screen orig-trace
keys %s ENTER
expect screen orig-confirm "%06d"
keys ENTER
expect screen tear-off within %s
keys ENTER
expect screen approved within %s
expect journal %d voided
`, orig.Trace, w(30), strings.Join(strings.Split(fmt.Sprint(orig.Trace), ""), " "), orig.Trace, w(20), w(20), orig.Trace)
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
	return true, c.recover(ctx, "void")
}

// signOnRound boots the terminal and cuts the power at a random moment of
// the boot: the reversals of the last cut, and the sign-on, which
// downloads new working keys into the key store.
func (c *campaign) signOnRound(ctx context.Context) error {
	kill := time.Duration(1 + c.rng.Int64N(int64(c.window["boot"])))
	o, err := c.kpos(ctx, c.bootScript("boot, cut during the sign-on"), kill, "sign-on + random kill", "")
	if err != nil || !o.killed {
		return err
	}
	return c.recover(ctx, "key download")
}

// updateRound installs a signed firmware image of a newer version in the
// inactive slot with the firmware's own updater (package update), through
// the terminal's data folder, and cuts the power at a random moment of the
// install. The boot after it counts the new slot's trial boot and confirms
// it healthy: the A/B state is written by kpos then.
func (c *campaign) updateRound(ctx context.Context) error {
	if c.signer == nil {
		raw, err := os.ReadFile(filepath.Join(c.root, "testdata", "update", "fwsign-test.key"))
		if err != nil {
			return err
		}
		if c.signer, err = update.ParsePrivateKey(raw); err != nil {
			return err
		}
		if raw, err = os.ReadFile(filepath.Join(c.root, "testdata", "update", "fwsign-test.pub")); err != nil {
			return err
		}
		if c.verifier, err = update.ParsePublicKey(raw); err != nil {
			return err
		}
	}
	c.updates++
	payload := make([]byte, 48<<10)
	for i := range payload {
		payload[i] = byte(c.rng.Uint32())
	}
	img, err := update.Sign(c.signer, fmt.Sprintf("99.%d.0", c.updates), "sim", payload)
	if err != nil {
		return err
	}
	c.seq++
	c.res.runs++
	u, err := update.New(update.Config{SlotDir: filepath.Join(c.data, "firmware"), PublicKey: c.verifier,
		CurrentVersion: "0.1.0", Board: "sim"})
	if err != nil {
		c.problem("run %d: the updater does not open: %v", c.seq, err)
		return nil
	}
	window, measured := c.window["update"]
	c.spec = lossyfs.Cut{Mode: cutModes[c.rng.IntN(len(cutModes))], Seed: c.rng.Uint64(), Keep: -1}
	c.cutDone, c.cutErr, c.cutRep = false, nil, lossyfs.Report{}
	var t *time.Timer
	cutNow := make(chan struct{})
	if measured {
		t = time.AfterFunc(time.Duration(c.rng.Int64N(int64(window)+1)), func() {
			c.cut()
			close(cutNow)
		})
	}
	start := time.Now()
	_, ierr := u.Install(ctx, bytes.NewReader(img), update.Options{})
	took := time.Since(start)
	cut := false
	if t != nil && !t.Stop() {
		<-cutNow
		cut = true
	}
	if !measured && ierr == nil {
		c.window["update"] = took
	}
	end := fmt.Sprintf("installed in %v", took.Round(time.Millisecond))
	if ierr != nil {
		end = fmt.Sprintf("%v after %v", ierr, took.Round(time.Millisecond))
	}
	if cut {
		r := c.cutRep
		end = fmt.Sprintf("power cut during the install (%s); lossy %s: %d pending, %d kept, %d forgotten %v", end, r.Mode, r.Pending, r.Kept, r.Lost, r.Forgotten)
		c.res.cutModes[r.Mode]++
	}
	fmt.Fprintf(c.log, "=== run %04d firmware update 99.%d.0: %s\n", c.seq, c.updates, end)
	if c.cutErr != nil {
		return fmt.Errorf("hil: the lossy cut of run %d: %w", c.seq, c.cutErr)
	}
	if !cut {
		if ierr != nil && !errors.Is(ierr, update.ErrTrialPending) {
			c.problem("run %d: the firmware update failed without a cut: %v", c.seq, ierr)
		}
		return nil
	}
	return c.recover(ctx, "firmware update")
}

// consoleRound boots the terminal and types wrong passwords at its
// technician console (the console counts each failure in its lockout file
// before it answers), and cuts the power at a random moment of the boot
// and the attempts.
func (c *campaign) consoleRound(ctx context.Context) error {
	// The script only waits: the cut ends the run.
	script := "# campaign: wrong passwords at the technician console\nexpect screen idle within 60s\nexpect screen no-such-screen within 120s\n"
	// The console listens from the start of the boot: the cut falls from
	// half a boot in to a boot and a few hundred attempts' worth later.
	boot := int64(c.window["boot"])
	kill := time.Duration(boot/2 + c.rng.Int64N(boot+int64(time.Second)))
	rctx, stop := context.WithCancel(ctx)
	typed := make(chan int, 1)
	go func() { typed <- typeWrongPasswords(rctx, c.consoleSock()) }()
	o, err := c.kpos(ctx, script, kill, "console + random kill", "")
	stop()
	n := <-typed
	fmt.Fprintf(c.log, "    %d wrong passwords typed at the console\n", n)
	if err != nil || !o.killed {
		return err
	}
	return c.recover(ctx, "console")
}

// typeWrongPasswords attaches to the console socket as soon as it is there
// and types wrong passwords until ctx ends or the console goes; it returns
// how many it typed.
func typeWrongPasswords(ctx context.Context, sock string) int {
	var d net.Dialer
	var conn net.Conn
	for conn == nil {
		var err error
		if conn, err = d.DialContext(ctx, "unix", sock); err != nil {
			conn = nil
			select {
			case <-ctx.Done():
				return 0
			case <-time.After(5 * time.Millisecond): // the firmware is still booting
			}
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	go io.Copy(io.Discard, conn) // the prompts and answers
	n := 0
	for ctx.Err() == nil {
		if _, err := fmt.Fprintf(conn, "wrong-%d\r", n); err != nil {
			return n
		}
		n++
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
	return n
}

func (c *campaign) consoleSock() string { return filepath.Join(c.dir, "console.sock") }

func (c *campaign) bootScript(what string) string {
	return fmt.Sprintf("# campaign: %s\nexpect screen idle within 60s\n", what)
}

// settle closes the batch as the merchant does at the end of the day, the
// first time with a power cut at a random moment (the boot resumes the
// settlement where it stood). The host must then hold a balanced
// settlement: its totals and the terminal's agree.
func (c *campaign) settle(ctx context.Context) error {
	before := len(c.host.Records())
	w := func(d int) string { return fmt.Sprintf("%ds", d) }
	script := fmt.Sprintf(`# campaign: settlement
expect screen idle within %s
keys MENU 9 1
expect screen password
keys 1 2 3 4 5 6 ENTER
expect screen settle-confirm
keys ENTER
expect screen settled "Balanced" within %s
`, w(30), w(60))
	for attempt := 0; attempt < 4; attempt++ {
		if c.settled(before) {
			return nil
		}
		kill, mode := time.Duration(0), "settlement"
		if attempt < 2 {
			// The settlement starts once the boot is done: the cut falls
			// between half and one and a half boots in.
			boot := int64(c.window["boot"])
			kill = time.Duration(boot/2 + c.rng.Int64N(boot+1))
			mode = "settlement + random kill"
		}
		o, err := c.kpos(ctx, script, kill, mode, "")
		if err != nil {
			return err
		}
		if o.killed {
			c.res.settleCut = true
			if err := c.recover(ctx, "settlement"); err != nil {
				return err
			}
		} else if o.code != 0 {
			c.problem("run %d: the settlement failed with status %d", c.seq, o.code)
			return nil
		}
	}
	if !c.settled(before) {
		c.problem("no balanced settlement at the host after four tries")
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

// recover brings the power back after a cut and checks what survived it,
// before kpos touches anything: every store opens (the journal, the key
// store, the binding record with its parameters, the A/B update state),
// and no file is older than what the last finished run left. Then kpos
// boots (reversing what is in doubt) and sells once more, which must be
// approved; after it nothing is in doubt or queued for reversal, and the
// host and the journal agree.
func (c *campaign) recover(ctx context.Context, mode string) error {
	if err := c.pw.restore(); err != nil {
		return err
	}
	lost := c.files.check(c.data)
	for _, l := range lost {
		c.problem("run %d: after the cut: %s", c.seq, l)
	}
	unopenable := c.checkStores()
	for _, u := range unopenable {
		c.problem("run %d: after the cut: %s", c.seq, u)
	}
	before, err := c.journal()
	if err != nil {
		c.problem("run %d: after the cut the journal does not open: %v", c.seq, err)
		unopenable = append(unopenable, "journal")
	}
	if len(unopenable) > 0 {
		c.res.unopenable++
	}
	if len(lost) > 0 {
		c.res.lost++
	}
	if len(lost) > 0 || len(unopenable) > 0 {
		return nil
	}
	doubt := false
	for _, t := range before {
		doubt = doubt || t.State.InDoubt()
	}
	// The boot, then the next sale: a QR sale by a customer code, the
	// cheapest that goes online.
	amount := int64(100 + c.rng.Int64N(5000))
	if amount%100 == 51 || amount%100 == 55 || amount%100 == 91 || amount%100 == 99 {
		amount++
	}
	o, err := c.sell(ctx, saleKinds[len(saleKinds)-1], amount, "approved", 0, "boot and the next sale", "")
	if err != nil {
		return err
	}
	if o.code != 0 {
		c.problem("run %d: the boot and the next sale after the cut failed with status %d (the sale must be approved)", c.seq, o.code)
		return nil
	}
	txns, err := c.journal()
	if err != nil {
		c.problem("run %d: after the boot the journal does not open: %v", c.seq, err)
		c.res.unopenable++
		return nil
	}
	for _, t := range txns {
		switch {
		case t.State.InDoubt():
			c.problem("run %d: trace %06d still %s after the boot", c.seq, t.Trace, t.State)
		case t.State == journal.ReversalPending:
			c.res.pendingAfterBoot++
			c.problem("run %d: trace %06d still reversal-pending after the boot and a sale: the queue did not drain", c.seq, t.Trace)
		}
	}
	if c.tally(reconcile(c.host.Records(), txns, simTID)) {
		return nil
	}
	c.res.cuts++
	c.res.byMode[mode]++
	if doubt {
		c.res.inDoubt++
	}
	return nil
}

// tally records the disagreements of a reconciliation as problems and
// counts the cut as one that lost or doubled money; it reports whether
// there were any.
func (c *campaign) tally(ds []discrepancy) bool {
	lost, doubled := false, false
	for _, d := range ds {
		c.problem("run %d: %s", c.seq, d.text)
		lost = lost || d.kind == lostMoney
		doubled = doubled || d.kind == doubledMoney
	}
	if lost {
		c.res.lost++
	}
	if doubled {
		c.res.doubled++
	}
	return len(ds) > 0
}

// checkStores opens every store of the data folder that exists as the
// firmware would, and lists those that do not open.
func (c *campaign) checkStores() []string {
	var out []string
	key, err := c.deviceKey()
	if err != nil {
		return []string{err.Error()}
	}
	if key == nil {
		return nil // cut before the first boot wrote anything
	}
	b := boards.Board{DeviceKey: key}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(c.data, rel))
		return err == nil
	}
	if exists("keys.db") {
		if _, err := keys.Open(filepath.Join(c.data, "keys.db"), b.SubKey("keys")); err != nil {
			out = append(out, fmt.Sprintf("the key store does not open: %v", err))
		}
	}
	if exists("binding.json") {
		rec, err := binding.NewFileStore(filepath.Join(c.data, "binding.json")).Load()
		if err != nil {
			out = append(out, fmt.Sprintf("the binding record does not open: %v", err))
		} else if rec.Params != nil {
			if err := rec.Params.Validate(); err != nil {
				out = append(out, fmt.Sprintf("the parameters of the binding record are not valid: %v", err))
			}
		}
	}
	if exists("firmware/update-state.json") {
		raw, err := os.ReadFile(filepath.Join(c.data, "firmware", "update-state.json"))
		var st update.State
		if err == nil {
			err = json.Unmarshal(raw, &st)
		}
		if err == nil && st.Active != update.SlotA && st.Active != update.SlotB {
			err = fmt.Errorf("active slot %q", st.Active)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("the A/B update state does not open: %v", err))
		}
	}
	return out
}

// deviceKey reads the data folder's device key, nil when there is none
// yet; unlike the board it never creates one.
func (c *campaign) deviceKey() ([]byte, error) {
	key, err := os.ReadFile(sim.DeviceKeyPath(c.data))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the device key does not open: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("the device key has %d bytes, want 32", len(key))
	}
	return key, nil
}

// sell runs one sale.
func (c *campaign) sell(ctx context.Context, s sale, amount int64, want string, kill time.Duration, mode, crashAt string) (outcome, error) {
	code := fmt.Sprintf("25%022d", c.rng.Uint64()%1e18) // an Alipay-style customer code
	return c.kpos(ctx, s.script(amount, want, code), kill, mode, crashAt)
}

// cutModes are the lossy cuts the campaign makes, in proportion: most
// forget everything pending, many keep a random prefix, some tear the
// last write.
var cutModes = []lossyfs.Mode{lossyfs.Drop, lossyfs.Drop, lossyfs.Prefix, lossyfs.Prefix, lossyfs.Tear}

// cut cuts the power of the run now (once): the lossy filesystem forgets
// what spec says of what kpos did not sync.
func (c *campaign) cut() {
	if c.cutDone {
		return
	}
	c.cutDone = true
	c.cutRep, c.cutErr = c.pw.cut(c.spec)
}

// kpos writes script and runs kpos on it against the campaign's host; a
// kill after kill (when > 0) or at crashAt cuts the power.
func (c *campaign) kpos(ctx context.Context, script string, kill time.Duration, mode, crashAt string) (outcome, error) {
	c.seq++
	c.res.runs++
	path := filepath.Join(c.dir, "scripts", fmt.Sprintf("%04d.txt", c.seq))
	if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
		return outcome{}, err
	}
	args := []string{"-board", "sim", "-data", c.data, "-params", filepath.Join(c.root, "testdata"),
		"-host", c.addr, "-script", path, "-wait-scale", strconv.Itoa(c.bin.slow), "-console", c.consoleSock()}
	if crashAt != "" {
		args = append(args, "-crash-at", crashAt)
	}
	c.spec = lossyfs.Cut{Mode: cutModes[c.rng.IntN(len(cutModes))], Seed: c.rng.Uint64(), Keep: -1}
	c.cutDone, c.cutErr, c.cutRep = false, nil, lossyfs.Report{}
	o, err := c.bin.runCut(ctx, c.root, time.Duration(c.bin.slow)*2*time.Minute, kill, c.cut, args...)
	if err != nil {
		return o, err
	}
	if o.killed {
		c.cut() // a crash point: kpos killed itself
	}
	end := fmt.Sprintf("status %d", o.code)
	if o.killed {
		end = "power cut (SIGKILL)"
		if c.pw.lossy {
			r := c.cutRep
			end += fmt.Sprintf(", lossy %s: %d pending, %d kept, %d forgotten %v", r.Mode, r.Pending, r.Kept, r.Lost, r.Forgotten)
			if r.TornFile != "" {
				end += fmt.Sprintf(", %s torn after %d of %d bytes", r.TornFile, r.TornKept, r.TornOf)
			}
			c.res.cutModes[r.Mode]++
		}
	}
	fmt.Fprintf(c.log, "=== run %04d %s kill=%v: %s after %v\n%s", c.seq, mode, kill, end,
		o.elapsed.Round(time.Millisecond), o.out)
	if c.cutErr != nil {
		return o, fmt.Errorf("hil: the lossy cut of run %d: %w", c.seq, c.cutErr)
	}
	if !o.killed {
		// A finished run: what it wrote is what a later cut may not take
		// back.
		if err := c.files.snapshot(c.data); err != nil {
			return o, err
		}
	}
	return o, nil
}

// journal opens the terminal's journal as the firmware does (the seal key
// derived from the simulated board's device key, kept beside the data
// folder) and lists it.
func (c *campaign) journal() ([]journal.Txn, error) {
	key, err := c.deviceKey()
	if err != nil || key == nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.data, "journal.db")); errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("journal.db is gone") // opening would create an empty one
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
	if o, err := c.kpos(ctx, c.bootScript("the last boot"), 0, "last boot", ""); err != nil {
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
	c.tally(reconcile(recs, txns, simTID))
	spent := spentByCard(txns, pans)
	sort.Strings(pans)
	for _, pan := range pans {
		bal, _ := c.host.Balance(pan)
		if want := initial[pan] - spent[pan]; bal != want {
			c.res.lost++
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
