package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"kpos/boards"
	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/bindlink"
	"kpos/firmware/emv"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/journal"
	"kpos/firmware/keys"
	"kpos/firmware/merchantpw"
	"kpos/firmware/settle"
	"kpos/firmware/terminal"
	"kpos/firmware/ui"
	"kpos/firmware/update"
	"kpos/hal"
)

// app is the firmware running on a board. A power cut stops an instance
// without any clean-up and starts a new one from what is on disk.
type app struct {
	board   *boards.Board
	log     *slog.Logger
	crashAt string
	out     io.Writer
	// waitScale multiplies the waits of a scenario file (-wait-scale).
	waitScale float64

	// firmware is the A/B image updater, nil when the board has no
	// signing key to verify images with.
	firmware *update.Updater

	mu      sync.Mutex
	inst    *instance
	started bool // an instance was started in this process (power cuts restart it)
}

type instance struct {
	journal *journal.Journal
	keys    *keys.Store
	binder  *binding.Binder // nil when the binding could not be set up
	term    *terminal.Terminal
	cancel  context.CancelFunc
	done    chan struct{}
	bootErr error
}

// start opens the journal and keys, sets up the binding (a board with a
// test TMK is the provisioned test terminal, bound already; a blank board
// waits for its K code), boots the terminal (reversals first, then sign-on)
// and serves the counter in the background.
func (a *app) start(ctx context.Context) (*instance, error) {
	b := a.board
	a.mu.Lock()
	first := !a.started
	a.started = true
	a.mu.Unlock()
	if first && b.Sim != nil {
		if err := a.freshSimState(); err != nil {
			return nil, err
		}
	}
	j, err := journal.Open(filepath.Join(b.DataDir, "journal.db"), b.SubKey("journal"),
		journal.Options{Now: b.Now, RetentionDays: b.JournalRetentionDays})
	if err != nil {
		return nil, err
	}
	linkAlg := keys.AlgTDES
	if b.Crypto.Link == "SM4" {
		linkAlg = keys.AlgSM4 // the link in the dialect's SM mode
	}
	ks, err := keys.OpenConfig(filepath.Join(b.DataDir, "keys.db"), b.SubKey("keys"), keys.Config{Algorithm: linkAlg})
	if err != nil {
		j.Close()
		return nil, err
	}
	fail := func(err error) (*instance, error) {
		j.Close()
		return nil, err
	}
	if b.InitialTMK != nil && len(ks.Status()) == 0 {
		kcv, err := keys.CheckValue(linkAlg, b.InitialTMK)
		if err != nil {
			return fail(err)
		}
		if err := ks.InstallTMK(b.InitialTMK, kcv); err != nil {
			return fail(fmt.Errorf("load the test TMK: %w", err))
		}
	}
	emvCfg, err := emvconfig.LoadConfig(filepath.Join(b.ParamsDir, "emv"))
	if err != nil {
		return fail(err)
	}
	emvCfg.Terminal.ODAAlgorithms = emvconfig.ODAAlgorithms(b.Crypto.Mode)
	params := &emvParams{base: emvCfg, path: filepath.Join(b.DataDir, "emv-downloaded.json"), log: a.log}
	kernel, err := emv.NewKernel(params.startConfig(), emv.WithLogger(a.log))
	if err != nil {
		return fail(err)
	}
	params.kernel = kernel
	// The routing TPDU and header of the UnionPay POS dialect; an acquirer
	// that routes otherwise sends its own in the binding parameters.
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	header, _ := acquirer.ParseHeader("603100310100")
	link := newHostLink(acquirer.Config{Addr: b.HostAddr, TPDU: tpdu, Header: header, TID: b.Identity.TerminalID,
		MID: b.Identity.MerchantID, ReadTimeout: b.HostTimeout, Logger: a.log, Now: b.Now}, b.Link, ks)
	link.flagged = params.onFlag(link, j)
	// Every sign-on, with or without a binding, runs the status uploads
	// and downloads of the CA public keys and IC card parameters
	// (whatever the answer's processing requirement says: both are
	// refreshed anyway).
	link.signedOn = func(ctx context.Context) { params.atSignOn(ctx, link.client(), j) }
	binder, err := a.binder(ctx, j, ks, link)
	if err != nil {
		// Without a binding the terminal still sells as the board's
		// provisioned identity; a blank board cannot.
		a.log.Error("binding", "err", err)
		if b.InitialTMK == nil {
			return fail(err)
		}
	}
	cfg := terminal.Config{MerchantName: b.Identity.MerchantName, MerchantID: b.Identity.MerchantID,
		TerminalID: b.Identity.TerminalID, Logger: a.log, Now: b.Now,
		Display: ui.Size{Columns: b.DisplaySize.Columns, Rows: b.DisplaySize.Rows}}
	var opts []terminal.Option
	if binder != nil {
		opts = append(opts, terminal.WithBinding(binder), terminal.WithMerchantPassword(a.merchantPassword()))
	}
	// Settlement goes over the same link: on demand, at the binding's
	// settlement time, and resumed at boot after a power cut.
	opts = append(opts, terminal.WithSettlement(link))
	if b.HostTimeout > 0 {
		// The terminal's own bound on one exchange leaves room for dialling.
		cfg.HostTimeout = 2 * b.HostTimeout
	}
	if a.crashAt != "" {
		point := a.crashAt
		cfg.Crash = func(at string) {
			if at == point {
				a.log.Warn("power cut injected", "point", at)
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way
			}
		}
	}
	term := terminal.New(cfg, terminal.Devices{Reader: b.Reader, PINPad: b.PINPad, Printer: b.Printer,
		Display: b.Display, Keypad: b.Keypad, Indicator: b.Indicator, Scanner: b.Scanner}, kernel, link, ks, j, opts...)
	ictx, cancel := context.WithCancel(ctx)
	inst := &instance{journal: j, keys: ks, binder: binder, term: term, cancel: cancel, done: make(chan struct{})}
	bootCtx, bootCancel := context.WithTimeout(ictx, 60*time.Second)
	inst.bootErr = term.Boot(bootCtx)
	bootCancel()
	if inst.bootErr != nil {
		a.log.Error("boot", "err", inst.bootErr)
	}
	go func() {
		defer close(inst.done)
		if err := term.Run(ictx); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("terminal stopped", "err", err)
		}
	}()
	a.mu.Lock()
	a.inst = inst
	a.mu.Unlock()
	return inst, nil
}

// stop halts an instance. With clean false it is a power cut: nothing more
// is written; the journal file is simply let go.
func (a *app) stop(inst *instance) {
	inst.cancel()
	select {
	case <-inst.done:
	case <-time.After(5 * time.Second):
		a.log.Error("terminal did not stop in time")
	}
	inst.journal.Close()
}

// now is the board's clock.
func (a *app) now() time.Time {
	if a.board.Now != nil {
		return a.board.Now()
	}
	return time.Now()
}

func (a *app) current() *instance {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inst
}

// binder sets up the K-code binding. A board provisioned with a test TMK
// and identity is the test terminal of docs/test-cards.md: at its first
// boot it is recorded as bound, with the parameters the host downloads to
// it. The acquirer link follows the binding's identity from then on.
func (a *app) binder(ctx context.Context, j *journal.Journal, ks *keys.Store, link *hostLink) (*binding.Binder, error) {
	b := a.board
	if b.Serial == "" {
		return nil, errors.New("the board has no device serial to bind with")
	}
	store := binding.NewFileStore(filepath.Join(b.DataDir, "binding.json"))
	rec, err := store.Load()
	if err != nil {
		return nil, err
	}
	if rec.State == binding.StateBlank && b.InitialTMK != nil {
		if rec, err = a.provision(ctx, j, store, link); err != nil {
			return nil, err
		}
	}
	if rec.TID != "" {
		link.setIdentity(rec.TID, rec.MID)
	}
	signOn := binding.SignOnFunc(func(ctx context.Context) error {
		trace, err := j.NextTrace()
		if err != nil {
			return err
		}
		batch, err := j.Batch()
		if err != nil {
			return err
		}
		return link.SignOn(ctx, trace, batch)
	})
	link.signOn = signOn
	host := bindlink.New(func() bindlink.Client { return link.client() }, j.NextTrace, b.Serial)
	return binding.New(binding.Config{Serial: b.Serial, Banks: []string{binding.TestBank}}, binding.Deps{
		Host: host, Keys: ks, Derive: keys.DeriveTransportKey, SignOn: signOn,
		Store: followingStore{Store: store, follow: func(r binding.Record) { link.setIdentity(r.TID, r.MID) }},
		Log:   a.log.With("component", "binding"), Now: b.Now,
	})
}

// provision records the board's provisioned identity as bound, with the
// parameters the host holds for it.
func (a *app) provision(ctx context.Context, j *journal.Journal, store binding.Store, link *hostLink) (binding.Record, error) {
	b := a.board
	trace, err := j.NextTrace()
	if err != nil {
		return binding.Record{}, err
	}
	batch, err := j.Batch()
	if err != nil {
		return binding.Record{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := link.client().DownloadParams(pctx, trace, batch)
	if err != nil {
		return binding.Record{}, fmt.Errorf("provisioned terminal: parameter download: %w", err)
	}
	rec := bindlink.Provisioned(b.Identity.TerminalID, b.Identity.MerchantID, b.Identity.MerchantName, p, a.now())
	if err := rec.Params.Validate(); err != nil {
		return binding.Record{}, fmt.Errorf("provisioned terminal: %w", err)
	}
	if err := store.Save(rec); err != nil {
		return binding.Record{}, err
	}
	a.log.Info("provisioned test terminal recorded as bound", "tid", rec.TID)
	return rec, nil
}

// merchantPassword is the merchant's password, which void, refund,
// settlement and unbinding ask for, with its attempt limit; its PBKDF2 cost
// is the board's. A simulated board gets the TEST ONLY password of
// docs/test-cards.md when none is set.
func (a *app) merchantPassword() *merchantpw.Guard {
	g := merchantpw.New(merchantpw.Config{Dir: a.board.DataDir, Iterations: a.board.PasswordIterations,
		Log: a.log.With("component", "merchant-password")})
	if a.board.Sim != nil && !g.IsSet() {
		_, merchant := a.board.Sim.TestPasswords()
		if err := g.Set(merchant); err != nil {
			a.log.Error("merchant password", "err", err)
		}
	}
	return g
}

// followingStore is the binding's store that also tells the acquirer link
// the terminal's identity whenever the binding changes it.
type followingStore struct {
	binding.Store
	follow func(binding.Record)
}

func (s followingStore) Save(r binding.Record) error {
	if err := s.Store.Save(r); err != nil {
		return err
	}
	s.follow(r)
	return nil
}

// hostLink is the acquirer client under the terminal's current identity:
// a blank terminal has none, binding gives it one, unbinding takes it away.
type hostLink struct {
	mu   sync.Mutex
	cfg  acquirer.Config
	link hal.Link
	ks   *keys.Store
	c    *acquirer.Client

	// flagged hears the processing requirement of every answer.
	flagged func(requirement int)
	// signedOn runs after every sign-on that installed working keys (the
	// CUP download sequence).
	signedOn func(ctx context.Context)
	// signOn signs on again (working keys, and any download the answer
	// asks for) before the first exchange after a sign-off.
	signOn    func(ctx context.Context) error
	signedOff atomic.Bool
}

// EndDay signs off: the terminal's business day with the host ends (after
// the settlement, settle.DayEnder); it signs on again before its next
// transaction or exchange.
func (h *hostLink) EndDay(ctx context.Context, trace, batch uint32) error {
	if err := h.client().SignOff(ctx, trace, batch); err != nil {
		return err
	}
	h.signedOff.Store(true)
	return nil
}

// SignedOff reports whether the terminal signed off and has not signed on
// since: the terminal signs on before its next transaction.
func (h *hostLink) SignedOff() bool { return h.signedOff.Load() }

// awake signs on again after a sign-off.
func (h *hostLink) awake(ctx context.Context) error {
	if !h.signedOff.Load() || h.signOn == nil {
		return nil
	}
	if err := h.signOn(ctx); err != nil {
		return fmt.Errorf("sign-on after the sign-off: %w", err)
	}
	h.signedOff.Store(false)
	return nil
}

var _ terminal.Host = (*hostLink)(nil)

func newHostLink(cfg acquirer.Config, link hal.Link, ks *keys.Store) *hostLink {
	return &hostLink{cfg: cfg, link: link, ks: ks, c: acquirer.NewClient(cfg, link, ks)}
}

func (h *hostLink) client() *acquirer.Client {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c
}

// setIdentity switches to a client for tid and mid.
func (h *hostLink) setIdentity(tid, mid string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cfg.TID == tid && h.cfg.MID == mid {
		return
	}
	h.cfg.TID, h.cfg.MID = tid, mid
	h.c = acquirer.NewClient(h.cfg, h.link, h.ks)
}

func (h *hostLink) SignOn(ctx context.Context, trace, batch uint32) error {
	if err := h.client().SignOn(ctx, trace, batch); err != nil {
		return err
	}
	h.signedOff.Store(false)
	if h.signedOn != nil {
		h.signedOn(ctx)
	}
	return nil
}

func (h *hostLink) Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error) {
	if err := h.awake(ctx); err != nil {
		return acquirer.Response{}, fmt.Errorf("%w: %w", acquirer.ErrNotSent, err)
	}
	resp, err := h.client().Do(ctx, req)
	if err == nil && resp.Requirement != acquirer.RequireNone && h.flagged != nil {
		h.flagged(resp.Requirement)
	}
	return resp, err
}

func (h *hostLink) Reverse(ctx context.Context, orig acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error) {
	if err := h.awake(ctx); err != nil {
		return acquirer.Response{}, fmt.Errorf("%w: %w", acquirer.ErrNotSent, err)
	}
	return h.client().Reverse(ctx, orig, cause)
}

var _ settle.Host = (*hostLink)(nil)

func (h *hostLink) Settle(ctx context.Context, s acquirer.Settlement) (acquirer.SettleResult, error) {
	if err := h.awake(ctx); err != nil {
		return acquirer.SettleResult{}, fmt.Errorf("%w: %w", acquirer.ErrNotSent, err)
	}
	return h.client().Settle(ctx, s)
}

func (h *hostLink) UploadBatch(ctx context.Context, items []acquirer.Request) error {
	return h.client().UploadBatch(ctx, items)
}

// freshSimState makes a simulated board's state agree with its host
// simulator, which starts afresh in every process: a board started blank
// is factory fresh (what earlier runs left is discarded), and the test
// terminal, when an earlier run bound it by K code (keys the in-process host
// has forgotten), is the provisioned test terminal again.
func (a *app) freshSimState() error {
	b := a.board
	var stale []string
	switch {
	case b.InitialTMK == nil:
		stale = []string{"binding.json", "keys.db", "journal.db"}
	case b.Sim.HostInProcess():
		rec, err := binding.NewFileStore(filepath.Join(b.DataDir, "binding.json")).Load()
		if err == nil && rec.CodeMasked != "" {
			stale = []string{"binding.json", "keys.db"}
		}
	}
	for _, f := range stale {
		if err := os.Remove(filepath.Join(b.DataDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("fresh simulated board: %w", err)
		}
	}
	return nil
}
