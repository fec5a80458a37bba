// Command vmtest boots the device image (tools/image) in qemu's ARM `virt`
// machine with its devices wired to the emulators on the host, sells through
// it as a person at the counter would, cuts its power by killing qemu at
// random moments, and checks after every cut that the journal on the disk
// opens and that the next boot settles what was in doubt; at the end the
// host simulator's records and the journal must agree (nothing lost, nothing
// doubled). It also installs firmware on the image's A/B root partitions
// and checks the trial boot, the confirmation and the rollback.
//
//	go run ./tools/vmtest [-cuts 20] [-seed N] [-image build/image] [-out build/vmtest]
//
// vmtest must not know the firmware's insides: it sees the screens, the
// printer, the host and, between boots, the files on the data partition.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kpos/firmware/console"
	"kpos/firmware/journal"
	"kpos/tools/hostsim"
	"kpos/tools/scenario"
)

func main() {
	image := flag.String("image", "build/image", "the folder make image wrote")
	out := flag.String("out", "build/vmtest", "runs go to OUT/<UTC time>/")
	cuts := flag.Int("cuts", 20, "power cuts (each boot ends in one)")
	seed := flag.Uint64("seed", 0, "the random choices (default from the clock)")
	parts := flag.String("parts", "sales,ab,camera", "what to run: sales (and cuts), ab (after sales), camera")
	flag.Parse()
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	dir := filepath.Join(*out, time.Now().UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	ok, err := runAll(ctx, ".", dir, *image, *cuts, *seed, *parts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

type result struct {
	boots, cuts, approved, lost, doubled int
	inDoubt                              int // cuts that left a sale in doubt for the next boot
	resolved                             int // of those sales, the ones a later boot was seen to settle
	abUpdate, rollback                   string
	camera                               string
	problems                             []string
}

func (r *result) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.problems = append(r.problems, msg)
	fmt.Println("vmtest: PROBLEM:", msg)
}

func runAll(ctx context.Context, root, dir, image string, cuts int, seed uint64, parts string) (bool, error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Printf("vmtest %6.1fs: %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	logf("run %s, seed %d", dir, seed)
	res := &result{abUpdate: "not run", rollback: "not run", camera: "not run"}
	// the releases the A/B test installs are built while the VM sells
	type built struct {
		medium string
		err    error
	}
	releases := make(chan built, 1)
	if strings.Contains(parts, "ab") {
		go func() {
			t := time.Now()
			m, err := buildReleases(ctx, root, dir, image)
			logf("releases %s and %s built and signed in %v", goodVersion, badVersion, time.Since(t).Round(time.Second))
			releases <- built{m, err}
		}()
	}
	r, err := startRig(ctx, root, dir, image)
	if err != nil {
		return false, err
	}
	defer r.close()
	s := &sales{r: r, res: res, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), logf: logf, dir: dir}
	if strings.Contains(parts, "sales") {
		if err := s.run(ctx, cuts); err != nil {
			return false, err
		}
	}
	if strings.Contains(parts, "ab") && strings.Contains(parts, "sales") { // the update needs a bound terminal
		b := <-releases
		if b.err != nil {
			return false, b.err
		}
		if err := s.abTest(ctx, b.medium); err != nil {
			res.problem("A/B update: %v", err)
		}
	}
	if strings.Contains(parts, "camera") {
		if err := s.cameraTest(ctx); err != nil {
			res.camera = "FAILED"
			res.problem("camera: %v", err)
		}
	}
	logf("done in %v", time.Since(start).Round(time.Second))
	fmt.Printf("vm: cuts that left a sale in doubt %d, sales in doubt the next boot settled %d\n", res.inDoubt, res.resolved)
	fmt.Printf("vm: boots %d, cuts %d, sales approved %d, lost %d, doubled %d, ab-update %s, rollback %s\n",
		res.boots, res.cuts, res.approved, res.lost, res.doubled, res.abUpdate, res.rollback)
	if res.camera != "not run" {
		fmt.Printf("vm: camera %s\n", res.camera)
	}
	return len(res.problems) == 0 && res.cuts >= 20 && res.abUpdate == "ok" && res.rollback == "ok" &&
		(res.camera == "ok" || !strings.Contains(parts, "camera")), nil
}

// sales is the selling and power-cutting part.
type sales struct {
	r    *rig
	res  *result
	rng  *rand.Rand
	logf func(string, ...any)
	dir  string
	// window is how long a boot and a sale take without a cut: random cuts
	// fall within it.
	window time.Duration
	steps  io.Writer
	// chipWindow: the same for a chip sale
	chipWindow time.Duration
	// exchange is how long the terminal waits on the bank in a sale: from
	// the "processing" screen to the approval
	exchange, chipExchange time.Duration
	// resolve: what the cut before a boot that reached idle left in doubt;
	// the next cut's journal must show it reversed or completed.
	resolve map[uint32]journal.State
}

// hostDelay is how late the bank answers in the rounds cut during the
// exchange; well within the terminal's deadline.
const hostDelay = 1500 * time.Millisecond

// slowdown stretches the scenarios' waits: the guest runs under TCG.
const slowdown = 4

var withinRe = regexp.MustCompile(`within (\d+)s`)

func (s *sales) script(ctx context.Context, name, text string) error {
	text = withinRe.ReplaceAllStringFunc(text, func(m string) string {
		n, _ := strconv.Atoi(withinRe.FindStringSubmatch(m)[1])
		return fmt.Sprintf("within %ds", n*slowdown)
	})
	sc, err := scenario.Parse(name, strings.NewReader(text))
	if err != nil {
		return err
	}
	run := scenario.Runner{Target: vmTarget{s.r}, Timeout: 20 * time.Second, Log: s.steps}
	return run.Run(ctx, sc)
}

// bootToIdle boots and waits for the idle screen: the boot has reversed
// what was in doubt by then.
func (s *sales) bootToIdle(ctx context.Context) error {
	if err := s.r.boot(); err != nil {
		return err
	}
	s.res.boots++
	return vmTarget{s.r}.waitScreen(ctx, "idle", 3*time.Minute)
}

// cutAndCheck cuts the power and opens the journal the cut left; it
// returns the transactions in doubt.
func (s *sales) cutAndCheck(why string) (map[uint32]journal.State, []journal.Txn, error) {
	s.r.cut()
	s.res.cuts++
	txns, err := readJournal(s.r.disk, filepath.Join(s.dir, "journal"))
	if err != nil {
		s.res.problem("cut %d (%s): the journal does not open: %v", s.res.cuts, why, err)
		return nil, nil, nil
	}
	for _, t := range txns {
		was, ok := s.resolve[t.Trace]
		switch {
		case !ok:
		case t.State.InDoubt():
			s.res.problem("trace %06d: %s at a cut, still %s after a boot that reached idle", t.Trace, was, t.State)
		default:
			// reversed, completed, or its reversal queued when the boot
			// could not reach the bank: the queue goes out before the next
			// online transaction, and the final check allows none left
			s.res.resolved++
		}
	}
	s.resolve = nil
	doubt := map[uint32]journal.State{}
	for _, t := range txns {
		if t.State.InDoubt() || t.State == journal.ReversalPending {
			doubt[t.Trace] = t.State
		}
	}
	if len(doubt) > 0 {
		s.res.inDoubt++
	}
	s.logf("cut %d (%s): journal opened, %d transactions, %d in doubt", s.res.cuts, why, len(txns), len(doubt))
	return doubt, txns, nil
}

func qrSale(amount int64, code string) string {
	return fmt.Sprintf("keys MENU\nexpect screen menu\nkeys 2\nexpect screen amount\nkeys %s ENTER\n"+
		"expect screen qr-scan\nscan %s\nexpect screen qr-confirm\nkeys ENTER\nexpect screen approved within 30s\n",
		digits(amount), code)
}

func chipSale(amount int64) string {
	return fmt.Sprintf("keys %s ENTER ENTER\nexpect screen present-card\ninsert unionpay-debit\n"+
		"expect screen enter-pin within 30s\npin 123456\nexpect screen remove-card within 30s\nremove\nexpect screen approved within 10s\n",
		digits(amount))
}

func digits(amount int64) string { return strings.Join(strings.Split(fmt.Sprint(amount), ""), " ") }

const settleScript = `keys MENU 9 1
expect screen password
keys 1 2 3 4 5 6 ENTER
expect screen settle-confirm
keys ENTER
expect screen settled "Balanced" within 60s
keys ENTER
expect screen idle within 30s
`

func (s *sales) run(ctx context.Context, cuts int) error {
	f, err := os.Create(filepath.Join(s.dir, "steps.log"))
	if err != nil {
		return err
	}
	defer f.Close()
	s.steps = f
	// The first boot: a factory-fresh terminal bound with its K code, a QR
	// sale and a chip sale (testdata/hil/bind-then-sell.txt).
	pw, err := merchantPasswordFile("123456")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, "console.pw")
	// 20 000 iterations: the store records its count; the firmware's default
	// costs seconds per login under emulation
	if err := console.SetPassword(tmp, techPassword, 20_000); err != nil {
		return err
	}
	cpw, err := os.ReadFile(tmp)
	if err != nil {
		return err
	}
	os.Remove(tmp)
	if err := provision(s.r.disk, filepath.Join(s.dir, "provision"), map[string][]byte{"merchant-password": pw, "console.pw": cpw}); err != nil {
		return err
	}
	t0 := time.Now()
	if err := s.r.boot(); err != nil {
		return err
	}
	s.res.boots++
	raw, err := os.ReadFile(filepath.Join(s.r.root, "testdata", "hil", "bind-then-sell.txt"))
	if err != nil {
		return err
	}
	if err := s.script(ctx, "bind-then-sell.txt", string(raw)); err != nil {
		s.keepLog()
		return fmt.Errorf("the first boot: %w (see %s)", err, s.dir)
	}
	s.logf("bound, QR sale and chip sale approved in %v", time.Since(t0).Round(time.Second))
	// the chip sale of that script, from the amount typed to the approval
	s.chipWindow = s.r.span("confirm-amount", "approved")
	s.chipExchange = s.r.span("processing", "approved")
	doubt, _, err := s.cutAndCheck("after the first sales")
	if err != nil {
		return err
	}
	// How long a QR sale takes without a cut, measured once: cuts during a
	// sale fall within it.
	t1 := time.Now()
	if err := s.bootToIdle(ctx); err != nil {
		return err
	}
	s.checkResolved(doubt)
	bootTime := time.Since(t1)
	t2 := time.Now()
	if err := s.script(ctx, "qr", qrSale(100+s.rng.Int64N(9000), s.code())); err != nil {
		return fmt.Errorf("a QR sale without a cut: %w", err)
	}
	s.window = time.Since(t2)
	// the exchange: from "processing" to the approval, the longer of the two kinds
	s.exchange = max(s.r.span("processing", "approved"), s.chipExchange)
	s.logf("boot to idle %v, QR sale %v", bootTime.Round(100*time.Millisecond), s.window.Round(100*time.Millisecond))
	if doubt, _, err = s.cutAndCheck("idle"); err != nil {
		return err
	}

	// Rounds: boot, sell, cut at a random moment: one round in four during
	// the boot (which may be reversing what the cut before left), the others
	// during the sale, a chip sale one time in four.
	for s.res.cuts < cuts-1 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.r.boot(); err != nil {
			return err
		}
		s.res.boots++
		if s.rng.IntN(4) == 0 {
			kill := time.Duration(s.rng.Int64N(int64(bootTime)))
			reached := s.sleepOrIdle(ctx, kill)
			if reached {
				s.checkResolved(doubt)
			}
			if doubt, _, err = s.cutAndCheck(fmt.Sprintf("during boot, at %.1fs", kill.Seconds())); err != nil {
				return err
			}
			continue
		}
		if err := (vmTarget{s.r}).waitScreen(ctx, "idle", 3*time.Minute); err != nil {
			return err
		}
		s.checkResolved(doubt)
		amount := 100 + s.rng.Int64N(9000)
		if amount%100 == 51 {
			amount++ // the host declines amounts ending in 51
		}
		what, text := "QR sale", qrSale(amount, s.code())
		window := s.window
		if s.rng.IntN(4) == 0 {
			what, text = "chip sale", chipSale(amount)
			window = s.chipWindow
		}
		if s.rng.IntN(2) == 0 {
			// anywhere in the sale
			kill := time.Duration(s.rng.Int64N(int64(window) * 5 / 4))
			rctx, stop := context.WithTimeout(ctx, kill)
			if err := s.script(rctx, what, text); err == nil {
				what += " (approved)"
				<-rctx.Done()
			}
			stop()
			what = fmt.Sprintf("%s, at %.2fs", what, kill.Seconds())
		} else {
			// within the exchange with the bank, where money is in doubt:
			// the bank answers late this once (a slow network), and the cut
			// falls while the terminal waits, or just after
			s.r.host.InjectFault(hostsim.Fault{Kind: hostsim.FaultDelay, Delay: hostDelay, MTI: "0200"})
			kill := time.Duration(s.rng.Int64N(int64(hostDelay + s.exchange)))
			from := s.r.screenCount()
			sctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- s.script(sctx, what, text) }()
			wctx, wstop := context.WithTimeout(ctx, 2*time.Minute)
			seen := make(chan error, 1)
			go func() { seen <- s.r.waitSeen(wctx, "processing", from) }()
			var ended error
			finished := false
			select {
			case err := <-seen:
				if err != nil {
					s.res.problem("%s: the exchange with the bank did not start: %v", what, err)
				}
				select {
				case <-time.After(kill):
				case ended = <-done:
					finished = true
				case <-ctx.Done():
				}
			case ended = <-done:
				finished = true
				s.res.problem("%s: ended before the exchange with the bank: %v", what, ended)
			}
			wstop()
			stop()
			if !finished {
				ended = <-done
			}
			if ended == nil {
				what += " (approved)"
			}
			s.r.host.ClearFaults()
			what = fmt.Sprintf("%s, %.2fs into the exchange", what, kill.Seconds())
		}
		if doubt, _, err = s.cutAndCheck(what); err != nil {
			return err
		}
	}
	// The last boot: settles the batch and is cut once idle.
	if err := s.bootToIdle(ctx); err != nil {
		return err
	}
	s.checkResolved(doubt)
	if err := s.script(ctx, "settlement", settleScript); err != nil {
		s.res.problem("settlement: %v", err)
	}
	s.logf("settled")
	_, txns, err := s.cutAndCheck("after the settlement")
	if err != nil {
		return err
	}
	s.final(txns)
	return nil
}

// sleepOrIdle waits d and reports whether the boot reached idle by then.
func (s *sales) sleepOrIdle(ctx context.Context, d time.Duration) bool {
	dctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	reached := (vmTarget{s.r}).waitScreen(dctx, "idle", d) == nil
	<-dctx.Done()
	return reached
}

// keepLog leaves the firmware's log beside the run after a failure: the
// guest's kernel writes dirty pages back within 30 s, then the power is cut
// and kpos.log copied off the data partition.
func (s *sales) keepLog() {
	time.Sleep(35 * time.Second)
	s.r.cut()
	if err := dataFiles(s.r.disk, filepath.Join(s.dir, "data"), "kpos.log"); err != nil {
		s.logf("kpos.log: %v", err)
	}
}

// code is a fresh customer payment code.
func (s *sales) code() string { return fmt.Sprintf("25%022d", s.rng.Uint64()%1e18) }

// checkResolved: a boot that reached idle has reversed or completed every
// transaction the cut before it left in doubt. The journal is read at the
// next cut, so what this boot resolved is checked there.
func (s *sales) checkResolved(doubt map[uint32]journal.State) {
	s.resolve = doubt
}

func (s *sales) final(txns []journal.Txn) {
	recs := s.r.host.Records()
	lost, doubled, other := reconcile(recs, txns)
	s.res.lost, s.res.doubled = len(lost), len(doubled)
	for _, p := range append(append(lost, doubled...), other...) {
		s.res.problem("%s", p)
	}
	for _, t := range txns {
		if t.Kind == journal.Sale && t.State == journal.Completed {
			s.res.approved++
		}
	}
}
