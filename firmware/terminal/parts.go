package terminal

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/menu"
	"kpos/firmware/terminal/original"
	"kpos/firmware/terminal/settlement"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/txkind"
	"kpos/hal"
)

// This file wires the terminal's parts that live in packages of their own
// (the merchant menus, settlement, the binding screens) and the handlers of
// the kinds of transaction (firmware/txkind).

// flow is how a kind of transaction is run: the transition table it walks,
// each state's work, and the state it starts in.
type flow struct {
	table      map[State]map[Event]State
	work       map[State]step
	start      State
	merchantQR bool // the customer scans the terminal's code
}

// flows are the handlers of the kinds the merchant can start: a kind
// declared in firmware/txkind is run by its flow here.
var flows = map[*txkind.Kind]flow{
	txkind.Sale:           {table: transitions, work: steps, start: StateAmount},
	txkind.Refund:         {table: transitions, work: steps, start: StateRefundRef},
	txkind.Balance:        {table: transitions, work: steps, start: StateWaitCard},
	txkind.PreAuth:        {table: transitions, work: steps, start: StateAmount},
	txkind.Void:           {table: originalTransitions, work: originalSteps, start: StateOrigTrace},
	txkind.Completion:     {table: originalTransitions, work: originalSteps, start: StateOrigTrace},
	txkind.CompletionVoid: {table: originalTransitions, work: originalSteps, start: StateOrigTrace},
	txkind.PreAuthVoid:    {table: originalTransitions, work: originalSteps, start: StateOrigTrace},
	txkind.QRSale:         {table: cardlessTransitions, work: cardlessSteps, start: StateQRAmount},
	txkind.QRCollect:      {table: cardlessTransitions, work: cardlessSteps, start: StateCollectAmount, merchantQR: true},
	txkind.Cash:           {table: cardlessTransitions, work: cardlessSteps, start: StateCashAmount},
}

// ErrNoHandler reports a kind the terminal cannot start.
var ErrNoHandler = errors.New("terminal: no handler for this kind of transaction")

// run runs one transaction of kind k through its flow; typed are keys
// already pressed on the idle screen.
func (t *Terminal) run(ctx context.Context, k *txkind.Kind, typed ...hal.Key) (Result, error) {
	f, ok := flows[k]
	if !ok {
		return Result{}, fmt.Errorf("%w: %s", ErrNoHandler, k.Title)
	}
	s := &sale{t: t, op: k, typed: typed, method: journal.Method(k.Method), merchantQR: f.merchantQR}
	return t.walk(ctx, s, f.table, f.work, f.start)
}

// Start runs one transaction of kind k (the menus' way in).
func (t *Terminal) Start(ctx context.Context, k *txkind.Kind) error {
	_, err := t.run(ctx, k)
	return err
}

// Menu is the merchant menu, opened with MENU from the idle screen
// (firmware/terminal/menu).
func (t *Terminal) Menu(ctx context.Context) error { return t.menus().Menu(ctx) }

// menus are the terminal's merchant menus.
func (t *Terminal) menus() *menu.Menus {
	m := &menu.Menus{Panel: t.panel, Counter: t, Settlement: t.settlement(), Reader: t.dev.Reader,
		InputTimeout: t.cfg.InputTimeout, HostTimeout: t.cfg.HostTimeout, Log: t.log}
	if t.binding != nil {
		m.Binding = t.binding
	}
	if t.password != nil {
		m.Password = t.password
	}
	return m
}

// checks are what the terminal checks before a card is read or anything
// sent (firmware/terminal/checks).
func (t *Terminal) checks() *checks.Checks {
	c := &checks.Checks{Journal: t.journal, Now: t.cfg.Now, Log: t.log}
	if t.binding != nil {
		c.Binding = t.binding
	}
	return c
}

// Reprintable is the slip of trace to print again, marked as a reprint
// (trace 0: the last transaction that has one), or why there is none.
func (t *Terminal) Reprintable(trace uint32) (receipt.Receipt, string, error) {
	window := func(err error, trace uint64) string {
		return original.OutsideWindow(err, trace, t.journal.RetentionDays())
	}
	x, none, err := slip.Reprintable(t.journal, trace, window)
	if none != "" || err != nil {
		return receipt.Receipt{}, none, err
	}
	name, mid, tid := t.identity()
	return slip.Reprint(x, name, mid, tid), "", nil
}

// settlement is the terminal's settlement part (firmware/terminal/settlement),
// made once the options are set.
func (t *Terminal) settlement() *settlement.Settlement {
	t.partsMu.Lock()
	defer t.partsMu.Unlock()
	if t.settle == nil {
		t.settle = settlement.New(settlement.Config{HostTimeout: t.cfg.HostTimeout, InputTimeout: t.cfg.InputTimeout,
			Now: t.cfg.Now, Logger: t.log, ReversalsPending: ErrReversalsPending}, t, t.settleHost, t.journal, t.panel)
	}
	return t.settle
}

// Merchant is who the terminal is to settlement: its identity, the
// binding's settlement account, fees and settlement time.
func (t *Terminal) Merchant() settlement.Merchant {
	name, mid, tid := t.identity()
	m := settlement.Merchant{Name: name, MID: mid, TID: tid}
	if t.binding == nil {
		return m
	}
	return settlement.Bound(m, t.binding)
}

// RenewKeys signs on again when err says the host no longer knows the
// working keys, and reports whether it did.
func (t *Terminal) RenewKeys(ctx context.Context, err error) bool {
	return t.keysRejected(err) && t.signOnAgain(ctx) == nil
}

// ResumeSettlement continues a settlement a power cut interrupted (and
// prints a closed batch's report that never came out). Boot calls it after
// the reversals and before anything else.
func (t *Terminal) ResumeSettlement(ctx context.Context) error { return t.settlement().Resume(ctx) }

// Settle settles the open batch on the merchant's demand.
func (t *Terminal) Settle(ctx context.Context) error { return t.settlement().Settle(ctx) }

// SettleNow settles the open batch without asking anyone, for the
// technician console.
func (t *Terminal) SettleNow(ctx context.Context) (settle.Report, error) {
	return t.settlement().Now(ctx)
}

// settleIfDue settles at the binding's settlement time.
func (t *Terminal) settleIfDue(ctx context.Context) { t.settlement().IfDue(ctx) }
