// Package checks is what the terminal checks before a card is read or
// anything is sent, and what the merchant reads when it refuses: the rule
// book (firmware/txrules) on a transaction that acts on an original in the
// journal (void, refund, completion and their voids), and the binding's
// status, methods and limits (per sale and per day, across card, QR, cash
// and every batch of the day) on money taken from the customer. It reads
// the journal and the binding; it shows nothing and sends nothing.
package checks

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/txkind"
	"kpos/firmware/txrules"
	"kpos/firmware/ui"
)

// Binding is what the checks ask of the bank's binding (firmware/binding's
// *Binder satisfies it).
type Binding interface {
	CanSell() error
	Params() (binding.Params, error)
}

// Checks are one terminal's checks.
type Checks struct {
	Journal *journal.Journal
	Binding Binding // nil: a terminal without a binding has no limits
	Now     func() time.Time
	Log     *slog.Logger
}

// MethodOf maps a journal method to the binding's.
func MethodOf(m journal.Method, merchantQR bool) binding.Method {
	switch {
	case m == journal.CashMethod:
		return binding.MethodCash
	case m == journal.QR && merchantQR:
		return binding.MethodMerchantQR
	case m == journal.QR:
		return binding.MethodQR
	}
	return binding.MethodCard
}

// Allow asks the binding whether a sale may start: bound and selling, the
// method accepted, the amount within the limits. It returns what the
// merchant reads when it may not.
func (c *Checks) Allow(m binding.Method, amount int64) (string, error) {
	if c.Binding == nil {
		return "", nil
	}
	if err := c.Binding.CanSell(); err != nil {
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	p, err := c.Binding.Params()
	if err != nil {
		return "参数错误 No parameters: bind again", err
	}
	if amount < 0 {
		amount = 0
	}
	spent, err := c.SpentToday()
	if err != nil {
		// The daily limit cannot be checked: it holds (fails closed).
		c.Log.Error("daily limit not computable", "err", err)
		return "限额无法核对 Daily limit cannot be checked: journal error, call support", err
	}
	if err := p.Allow(m, amount, spent); err != nil {
		switch {
		case errors.Is(err, binding.ErrTxnLimit):
			return fmt.Sprintf("超过单笔限额 Over the limit per sale %s", ui.Money(p.TxnLimit)), err
		case errors.Is(err, binding.ErrDailyLimit):
			return fmt.Sprintf("超过当日限额 Over the daily limit %s", ui.Money(p.DailyLimit)), err
		case errors.Is(err, binding.ErrMethodNotAccepted):
			return "不支持此收款方式 This payment method is not accepted", err
		}
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	return "", nil
}

// SpentToday is what today's spending adds up to, in every batch (a
// settlement during the day does not reset the daily limit), by the rule
// book's rule (txrules.CountsToday): sales and completions that stand or
// are still in doubt; voided, reversed and declined ones do not count. The
// journal keeps the figure as transactions change (journal.CountsToday
// follows the same rule), so it costs the same on day 365 as on day 1.
func (c *Checks) SpentToday() (int64, error) {
	sum, err := c.Journal.SalesOn(c.Now())
	if err != nil {
		return 0, fmt.Errorf("terminal: daily limit: %w", err)
	}
	return sum.Amount, nil
}

// RuleState is where a journaled transaction stands for the rule book. A
// card transaction the host approved but the card has not finished is
// still in doubt.
func RuleState(s journal.State) txrules.State {
	switch s {
	case journal.Completed:
		return txrules.Standing
	case journal.Declined:
		return txrules.Declined
	case journal.Voided:
		return txrules.Voided
	case journal.Reversed:
		return txrules.Reversed
	}
	return txrules.InDoubt
}

// Original is what the rule book needs to know of orig: its own state, and
// what the journal holds that was done to it (refunds, a completion or a
// release of a pre-authorization). closedBy is the trace that completed
// or released a pre-authorization.
func (c *Checks) Original(orig journal.Txn) (o txrules.Original, closedBy uint32, err error) {
	batch, err := c.Journal.Batch()
	if err != nil {
		return o, 0, fmt.Errorf("terminal: %w", err)
	}
	all, err := c.Journal.Referring(orig.Trace)
	if err != nil {
		return o, 0, fmt.Errorf("terminal: %w", err)
	}
	o = txrules.Original{Kind: txkind.RuleOf(string(orig.Kind)), State: RuleState(orig.State), Amount: orig.Amount, Settled: orig.Batch != batch}
	for _, x := range all {
		if x.OrigTrace != orig.Trace || x.Trace == orig.Trace {
			continue
		}
		st := RuleState(x.State)
		if st != txrules.Standing && st != txrules.InDoubt {
			continue
		}
		switch txkind.RuleOf(string(x.Kind)) {
		case txrules.Refund:
			o.Refunded += x.Amount
		case txrules.Completion:
			if o.Kind == txrules.PreAuth {
				o.Completed, closedBy = true, x.Trace
			}
		case txrules.PreAuthVoid:
			if o.Kind == txrules.PreAuth && o.State == txrules.Standing {
				o.State, closedBy = txrules.Voided, x.Trace
			}
		}
	}
	return o, closedBy, nil
}

// limits are the binding's limits and what was spent today, for the rule
// book; nil when the terminal has no binding (and so no limits).
func (c *Checks) limits() (*txrules.Limits, error) {
	if c.Binding == nil {
		return nil, nil
	}
	p, err := c.Binding.Params()
	if err != nil {
		return nil, err
	}
	spent, err := c.SpentToday()
	if err != nil {
		return nil, err // fails closed: the daily limit cannot be checked
	}
	return &txrules.Limits{PerTxn: p.TxnLimit, Daily: p.DailyLimit, SpentToday: spent}, nil
}

// CanActOn asks the rule book whether a transaction of kind k may act on
// orig for amount, and says why not ("" when it may); limited: within the
// binding's limits too, when k has them. refused reports a limit, which
// ends the transaction as refused rather than failed.
func (c *Checks) CanActOn(k *txkind.Kind, limited bool, orig journal.Txn, amount int64) (msg string, refused bool) {
	o, closedBy, err := c.Original(orig)
	if err != nil {
		c.Log.Warn("rule book: original unreadable", "err", err)
		return "存储故障 Journal error: call support", false
	}
	a := txrules.Action{Kind: k.Rule, Amount: amount, Original: &o}
	if limited && k.Limited {
		if a.Limits, err = c.limits(); err != nil {
			return "参数错误 No parameters: bind again", true
		}
	}
	err = txrules.Check(a)
	var r *txrules.Refusal
	if err == nil || !errors.As(err, &r) {
		return "", false
	}
	c.Log.Info("refused by the rule book", "trace", orig.Trace, "kind", a.Kind, "reason", r.Detail)
	n := orig.Trace
	switch r.Reason {
	case txrules.ReasonWrongKind:
		switch {
		case a.Kind == txrules.Void && o.Kind == txrules.Completion:
			return fmt.Sprintf("预授权完成请用完成撤销 Trace %06d is a completion: use completion void (8, 5)", n), false
		case a.Kind == txrules.Void:
			return fmt.Sprintf("只能撤销消费 Trace %06d is not a sale: only sales can be voided", n), false
		case a.Kind == txrules.CompletionVoid:
			return fmt.Sprintf("不是预授权完成 Trace %06d is not a completion", n), false
		case a.Kind == txrules.Refund:
			return fmt.Sprintf("只能退货消费 Trace %06d is not a sale", n), false
		}
		return fmt.Sprintf("不是预授权 Trace %06d is not a pre-authorization", n), false
	case txrules.ReasonVoided:
		return fmt.Sprintf("原交易已撤销 Trace %06d is already voided", n), false
	case txrules.ReasonReversed:
		return fmt.Sprintf("原交易已冲正 Trace %06d was reversed", n), false
	case txrules.ReasonSettled:
		return fmt.Sprintf("原交易已结算 Trace %06d is settled: refund it instead", n), false
	case txrules.ReasonRefunded:
		return fmt.Sprintf("原交易已退货 Trace %06d was partly refunded (%s): it cannot be voided", n, ui.Money(o.Refunded)), false
	case txrules.ReasonClosed:
		return fmt.Sprintf("预授权已完成或撤销 Pre-authorization closed by trace %06d", closedBy), false
	case txrules.ReasonRefundTooMuch:
		return fmt.Sprintf("超过可退金额 Over what is left to refund of trace %06d: %s", n, ui.Money(o.Amount-o.Refunded)), true
	case txrules.ReasonOverAuthorized:
		return fmt.Sprintf("超过预授权金额115%% Above 115%% of the pre-authorized %s: at most %s", ui.Money(o.Amount),
			ui.Money(txrules.MaxCompletion(o.Amount))), true
	case txrules.ReasonTxnLimit:
		return fmt.Sprintf("超过单笔限额 Over the limit per sale %s", ui.Money(a.Limits.PerTxn)), true
	case txrules.ReasonDailyLimit:
		return fmt.Sprintf("超过当日限额 Over the daily limit %s", ui.Money(a.Limits.Daily)), true
	case txrules.ReasonAmountDiffers, txrules.ReasonBadAmount:
		return fmt.Sprintf("金额不符 Amount %s does not fit trace %06d", ui.Money(amount), n), true
	}
	return fmt.Sprintf("原交易未成功 Trace %06d was not approved", n), false
}

// RefundLeft is how much of the sale orig may still be refunded: its amount
// less every refund of it that may have moved money, as the rule book
// counts them (firmware/txrules). It is the terminal's own check, made
// before the card is read; the host checks again against its books, which
// also know refunds made elsewhere.
func (c *Checks) RefundLeft(orig journal.Txn) int64 {
	o, _, err := c.Original(orig)
	if err != nil {
		return 0 // fails closed: the journal cannot say what was refunded
	}
	return max(o.Amount-o.Refunded, 0)
}

// SaleByRRN finds the approved sale of this terminal with that reference
// number, so that a refund named by RRN is checked against it too.
func (c *Checks) SaleByRRN(rrn string) (journal.Txn, bool) {
	all, err := c.Journal.ByRRN(rrn)
	if err != nil {
		return journal.Txn{}, false
	}
	for _, x := range all {
		if x.Kind == journal.Sale && x.RRN == rrn && x.State == journal.Completed {
			return x, true
		}
	}
	return journal.Txn{}, false
}

// AmountLimit is what the amount screen of a transaction of kind k paid
// by method m takes (most: the terminal's own maximum; orig: the sale a
// refund gives back on): for money taken from the customer, the smallest of the terminal's own maximum, the binding's
// per-sale limit and what is left of its daily limit; for a refund of a
// sale in the journal, what is left of that sale (RefundLeft). The screen
// names that one limit as soon as a key would pass it, so the merchant
// never sees two figures for one amount. (The binding's other refusals, a
// method not accepted or a suspended binding, come after the amount from
// Allow, with their own reasons.)
func (c *Checks) AmountLimit(k *txkind.Kind, m binding.Method, orig journal.Txn, most int64) ui.Limit {
	lim := ui.Limit{Max: most}
	if k == txkind.Refund && orig.Trace != 0 {
		left := c.RefundLeft(orig)
		if left < lim.Max {
			lim = ui.Limit{Max: left, Note: fmt.Sprintf("超过可退金额 Over what is left to refund of trace %06d: %s",
				orig.Trace, ui.Money(left))}
		}
		return lim
	}
	if !k.Limited || c.Binding == nil {
		return lim
	}
	p, err := c.Binding.Params()
	if err != nil || !p.Accepts(m) {
		return lim
	}
	if p.TxnLimit < lim.Max {
		lim = ui.Limit{Max: p.TxnLimit, Note: "超过单笔限额 Over the limit per sale " + ui.Money(p.TxnLimit)}
	}
	spent, err := c.SpentToday()
	if err != nil {
		// The day's total is unknown: Allow refuses the sale
		// after the amount, and says why.
		return lim
	}
	if left := max(p.DailyLimit-spent, 0); left < lim.Max {
		lim = ui.Limit{Max: left, Note: fmt.Sprintf("超过当日限额 Over the daily limit %s (%s left)",
			ui.Money(p.DailyLimit), ui.Money(left))}
	}
	return lim
}
