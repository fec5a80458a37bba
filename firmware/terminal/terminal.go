package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/cardholder"
	"kpos/firmware/terminal/original"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/settlement"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// Kernel runs the card side of a transaction (firmware/emv satisfies it).
type Kernel interface {
	Start(ctx context.Context, card hal.Card, txn emv.Transaction, ch emv.Cardholder) (emv.FirstResult, emv.Online, error)
}

// Host is the acquirer link (firmware/acquirer's client satisfies it).
// Errors wrap acquirer.ErrNotSent when nothing left the terminal; any other
// error means the money is in doubt.
type Host interface {
	SignOn(ctx context.Context, trace, batch uint32) error
	Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error)
	Reverse(ctx context.Context, orig acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error)
}

// PINKeys gives the PIN pad the cipher of the current PIN key.
type PINKeys = cardholder.PINKeys

// Devices are the terminal's hardware.
type Devices struct {
	Reader    hal.CardReader
	PINPad    hal.PINPad
	Printer   hal.Printer
	Display   hal.Display
	Keypad    hal.Keypad
	Indicator hal.Indicator
	Scanner   hal.Scanner // QR payments and K-code QRs; nil when the terminal has none
}

// Config is what a terminal is told about itself.
type Config struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	Currency     uint16 // ISO 4217 numeric
	Country      uint16 // ISO 3166 numeric
	MaxAmount    int64  // per transaction, minor units
	// Display is the display's text area (the board's); lists longer than
	// it are shown a page at a time. Zero: no paging.
	Display ui.Size

	CardTimeout   time.Duration // waiting for a card
	InputTimeout  time.Duration // amount, confirmation
	RemoveTimeout time.Duration // waiting for the card to leave
	HostTimeout   time.Duration // one exchange with the host
	// TearOffTimeout is the pause between a slip's merchant and cardholder
	// copies, for tearing off the first; a key ends it sooner.
	TearOffTimeout time.Duration
	// QRTimeout bounds the wait for a customer to pay a QR order or confirm
	// a payment code on the phone; QRPollInterval is how often the host is
	// asked meanwhile.
	QRTimeout      time.Duration
	QRPollInterval time.Duration

	Now    func() time.Time
	Logger *slog.Logger
	// Crash is called at named points where a power cut is most dangerous
	// ("after-pending", "after-host-answer", "after-approved"). Boards leave it
	// nil; power-cut tests kill the process there.
	Crash func(point string)
}

func (c *Config) defaults() {
	if c.Currency == 0 {
		c.Currency = 156
	}
	if c.Country == 0 {
		c.Country = 156
	}
	if c.MaxAmount == 0 {
		c.MaxAmount = 99999999
	}
	if c.CardTimeout == 0 {
		c.CardTimeout = 60 * time.Second
	}
	if c.InputTimeout == 0 {
		c.InputTimeout = 60 * time.Second
	}
	if c.RemoveTimeout == 0 {
		c.RemoveTimeout = 30 * time.Second
	}
	if c.TearOffTimeout == 0 {
		c.TearOffTimeout = 3 * time.Second
	}
	if c.HostTimeout == 0 {
		c.HostTimeout = 30 * time.Second
	}
	if c.QRTimeout == 0 {
		c.QRTimeout = 90 * time.Second
	}
	if c.QRPollInterval == 0 {
		c.QRPollInterval = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Terminal runs transactions.
type Terminal struct {
	cfg     Config
	dev     Devices
	ui      *ui.UI
	panel   *panel.Panel // display, keypad, scanner, printer and lights, shared with the menus
	kernel  Kernel
	host    Host
	pin     PINKeys
	journal *journal.Journal
	log     *slog.Logger
	seq     uint32

	binding  Binding          // nil: a terminal provisioned without K-code binding
	password MerchantPassword // void, refund, settlement and unbinding ask for it

	settleHost settle.Host // nil: the terminal does not settle
	partsMu    sync.Mutex
	settle     *settlement.Settlement // made at first use, once the options are set

	// advicesOwed: an offline approval's advice (0220) may not have been
	// acknowledged yet (adviseOffline).
	advicesOwed bool
}

// New returns a terminal wired to its dependencies.
func New(cfg Config, dev Devices, kernel Kernel, host Host, keys PINKeys, j *journal.Journal, opts ...Option) *Terminal {
	cfg.defaults()
	p := panel.New(dev.Display, dev.Keypad, dev.Scanner, dev.Printer, dev.Indicator, cfg.Display)
	dev.Keypad = p.Keypad
	if dev.Scanner != nil {
		dev.Scanner = p.Scanner
	}
	t := &Terminal{cfg: cfg, dev: dev, ui: p.UI, panel: p, kernel: kernel, host: host,
		pin: keys, journal: j, log: cfg.Logger, advicesOwed: true}
	for _, o := range opts {
		o(t)
	}
	return t
}

// ErrReversalsPending reports that queued reversals could not be sent, so no
// new online transaction may start.
var ErrReversalsPending = errors.New("terminal: reversals pending")

// Boot brings the terminal up: first the journal's transactions left in
// doubt are queued and reversed, before anything else; then it signs on
// (through the binding, which checks its status, when there is one). A
// blank terminal does not sign on: it waits for its K code. A host that
// cannot be reached is not fatal: the reversals stay queued and Boot
// reports it.
func (t *Terminal) Boot(ctx context.Context) error {
	n, err := t.journal.Recover()
	if err != nil {
		return fmt.Errorf("terminal: recover journal: %w", err)
	}
	if n > 0 {
		t.log.Warn("transactions left in doubt by a power cut", "count", n)
	}
	if err := original.RepairVoids(t.journal, t.log); err != nil {
		return err
	}
	if t.unbound() {
		t.log.Info("terminal not bound: waiting for a K code", "state", t.binding.State())
		return nil
	}
	revErr := t.FlushReversals(ctx)
	// A settlement a power cut interrupted continues before any sale.
	settleErr := error(nil)
	if revErr == nil {
		settleErr = t.ResumeSettlement(ctx)
	}
	if err := t.signOnNow(ctx); err != nil {
		t.log.Error("sign-on failed", "err", err)
		return errors.Join(fmt.Errorf("terminal: sign-on: %w", err), revErr)
	}
	t.log.Info("signed on")
	t.adviseOffline(ctx)
	if settleErr != nil {
		// Signed on afresh, the host may answer now.
		settleErr = t.ResumeSettlement(ctx)
	}
	return errors.Join(revErr, settleErr)
}

// FlushReversals sends every queued reversal; it stops at the first that
// fails and returns ErrReversalsPending, leaving it queued for later.
func (t *Terminal) FlushReversals(ctx context.Context) error {
	revs, err := t.journal.Reversals()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	signedOn := false
	for _, r := range revs {
		err := t.reverse(ctx, r)
		if err != nil && !signedOn && t.keysRejected(err) && t.signOnAgain(ctx) == nil {
			// The host no longer knows our working keys (a power cut during
			// a sign-on left the old ones here): sign on once, then retry.
			signedOn = true
			err = t.reverse(ctx, r)
		}
		if err != nil {
			return fmt.Errorf("%w: trace %06d: %w", ErrReversalsPending, r.Trace, err)
		}
	}
	return nil
}

func (t *Terminal) reverse(ctx context.Context, r journal.Txn) error {
	req, err := requestFromJournal(r)
	if err != nil {
		return err
	}
	_ = t.ui.Show(ctx, ui.Reversing, "冲正中 Reversing", fmt.Sprintf("凭证号 Trace %06d", r.Trace), ui.Money(r.Amount))
	ctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	defer cancel()
	resp, err := t.host.Reverse(ctx, req, acquirer.ReversalCause(r.Cause))
	if err == nil && resp.Code != "00" && resp.Code != "25" {
		// Only 00 (reversed) and 25 (no such original: nothing moved) end
		// the reversal; any other answer (A0 MAC error, 96 …) leaves it owed.
		err = &acquirer.CodeError{Op: "reversal", Code: resp.Code}
	}
	if err != nil {
		if _, uerr := t.journal.Update(r.Trace, func(x *journal.Txn) { x.Attempts++ }); uerr != nil {
			return errors.Join(err, uerr)
		}
		t.log.Warn("reversal not acknowledged", "trace", r.Trace, "err", err)
		return err
	}
	if _, err := t.journal.Update(r.Trace, func(x *journal.Txn) {
		x.State = journal.Reversed
		x.Attempts++
		if x.ResponseCode == "" {
			x.ResponseCode = resp.Code
		}
	}); err != nil {
		return err
	}
	t.log.Info("reversed", "trace", r.Trace, "reason", r.Reason)
	return nil
}

func requestFromJournal(r journal.Txn) (acquirer.Request, error) {
	req := acquirer.Request{Kind: hostKind(journaledKind(r)), OrigTrace: r.OrigTrace, Trace: r.Trace, Batch: r.Batch, Amount: r.Amount,
		Currency: r.Currency, Expiry: r.Secret.Expiry, PANSeq: r.Secret.PANSeq, Track2: r.Secret.Track2,
		Entry: acquirer.EntryMode(r.Entry), ICCData: r.Secret.ICCData, OrigRRN: r.RRN, OrigAuth: r.AuthCode, Time: r.Created,
		PINEntered: r.PINVerified}
	if r.Secret.PAN != "" {
		pan, err := hal.ParsePAN(r.Secret.PAN)
		if err != nil {
			return req, fmt.Errorf("terminal: trace %06d: %w", r.Trace, err)
		}
		req.PAN = pan
	}
	return req, nil
}

// Idle shows the idle screen.
func (t *Terminal) Idle(ctx context.Context) error {
	if t.binding != nil && t.binding.State() == binding.StateSuspended {
		return bindflow.Suspended(ctx, t.panel, t.binding.CanSell())
	}
	name, _, _ := t.identity()
	lines := []string{"按数字键开始消费 Type an amount to sell", "MENU 菜单"}
	if t.binding != nil {
		if w, ok := t.binding.Warning(); ok {
			lines = append(lines, w.ZH+" "+w.EN)
		}
	}
	return t.ui.Show(ctx, ui.Idle, name, lines...)
}

// Run serves the counter until ctx ends. A blank terminal asks for its K
// code first and does nothing else. From the idle screen a digit starts a
// card sale with that digit as the first of the amount, and MENU opens the
// merchant menu.
func (t *Terminal) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		if t.unbound() {
			if err := t.bindFlow(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("binding ended with an error", "err", err)
			}
			continue
		}
		t.keepBinding(ctx)
		t.settleIfDue(ctx)
		if err := t.Idle(ctx); err != nil {
			return err
		}
		k, err := t.ui.Key(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		switch {
		case k == hal.KeyMenu:
			if err := t.Menu(ctx); err != nil && ctx.Err() == nil {
				t.log.Error("menu ended with an error", "err", err)
			}
		case k.IsDigit() || k == hal.KeyEnter:
			first := []hal.Key{}
			if k.IsDigit() {
				first = append(first, k)
			}
			if _, err := t.Sale(ctx, first...); err != nil && ctx.Err() == nil {
				t.log.Error("sale ended with an error", "err", err)
			}
		}
	}
}

// keepBinding signs on a terminal bound but not signed on, and checks the
// binding's status when the daily check is due.
func (t *Terminal) keepBinding(ctx context.Context) {
	if t.binding == nil {
		return
	}
	switch {
	case t.binding.State() == binding.StateActivated:
		trace, err := t.journal.NextTrace()
		if err != nil {
			return
		}
		batch, err := t.journal.Batch()
		if err != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
		defer cancel()
		if err := t.signOn(sctx, trace, batch); err != nil {
			t.log.Warn("sign-on after binding failed", "err", err)
		}
	case t.binding.StatusDue():
		sctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
		defer cancel()
		if _, err := t.binding.CheckStatus(sctx); err != nil {
			t.log.Warn("daily binding status check failed", "err", err)
		}
	}
}

// Result is how a transaction ended.
type Result struct {
	State State
	Trace uint32
	Code  string // host response code when there was one
}

// Sale runs one card sale through the transition table. typed are keys
// already pressed on the idle screen.
func (t *Terminal) Sale(ctx context.Context, typed ...hal.Key) (Result, error) {
	return t.run(ctx, txkind.Sale, typed...)
}

// walk runs a transaction through a transition table from start. A binding
// that stops sales refuses it before the first step.
func (t *Terminal) walk(ctx context.Context, s *sale, table map[State]map[Event]State, work map[State]step, start State) (Result, error) {
	state := start
	var runErr error
	if h, ok := t.host.(interface{ SignedOff() bool }); ok && h.SignedOff() {
		// Signed off at the end of the day: sign on before the next
		// transaction, whose PIN block needs the new day's keys.
		_ = t.signOnNow(ctx)
	}
	if t.binding != nil && s.kind().Limited {
		if err := t.binding.CanSell(); err != nil {
			x := binding.Explain(err)
			s.message = x.ZH + " " + x.EN
			s.history = append(s.history, fmt.Sprintf("%s --%s--> %s", state, EvRefused, StateRefused))
			state = StateRefused
		}
	}
	if !final(state) && t.settling() {
		// The batch is frozen until the settlement in progress finishes.
		s.message = "结算未完成 A settlement is in progress: finish it from the menu (9, 1)"
		s.history = append(s.history, fmt.Sprintf("%s --%s--> %s", state, EvRefused, StateRefused))
		state = StateRefused
	}
	for !final(state) {
		step := work[state]
		t.log.Debug("state", "state", state)
		ev, err := step(s, ctx)
		if err != nil {
			runErr = err
			t.log.Warn("step failed", "state", state, "event", ev, "err", err)
		}
		next, ok := table[state][ev]
		if !ok {
			runErr = errors.Join(runErr, fmt.Errorf("terminal: no transition from %s on %s", state, ev))
			next = StateFailed
		}
		s.history = append(s.history, fmt.Sprintf("%s --%s--> %s", state, ev, next))
		state = next
	}
	s.finish(ctx, state, runErr)
	t.adviseOffline(ctx)
	return Result{State: state, Trace: s.trace, Code: s.resp.Code}, runErr
}

// adviseOffline sends the advice (0220) of every offline approval of the
// open batch that the host has not acknowledged: right after the sale the
// card approved offline, and at the terminal's next connection (boot, the
// end of its next transaction) when the host could not be reached then.
// The settlement sends whatever is still owed before it starts (UnionPay
// requires offline chip sales uploaded before settlement). A failure is
// logged; the advice stays owed.
func (t *Terminal) adviseOffline(ctx context.Context) {
	if !t.advicesOwed || ctx.Err() != nil {
		return
	}
	actx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	defer cancel()
	if err := settle.SendAdvices(actx, t.journal, t.host, t.log); err != nil {
		t.log.Warn("offline advice not acknowledged: sent again later", "err", err)
		return
	}
	t.advicesOwed = false
}
