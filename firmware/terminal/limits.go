package terminal

import (
	"fmt"

	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
)

// amountLimit is what the amount screen of s takes: for money taken from
// the customer, the smallest of the terminal's own maximum, the binding's
// per-sale limit and what is left of its daily limit; for a refund of a
// sale in the journal, what is left of that sale (refundLeft). The screen
// names that one limit as soon as a key would pass it, so the merchant
// never sees two figures for one amount. (The binding's other refusals, a
// method not accepted or a suspended binding, come after the amount from
// Terminal.allow, with their own reasons.)
func (s *sale) amountLimit(m binding.Method) ui.Limit {
	lim := ui.Limit{Max: s.t.cfg.MaxAmount}
	if s.kind() == txkind.Refund && s.orig.Trace != 0 {
		left := s.t.refundLeft(s.orig)
		if left < lim.Max {
			lim = ui.Limit{Max: left, Note: fmt.Sprintf("超过可退金额 Over what is left to refund of trace %06d: %s",
				s.orig.Trace, ui.Money(left))}
		}
		return lim
	}
	if !s.kind().Limited || s.t.binding == nil {
		return lim
	}
	p, err := s.t.binding.Params()
	if err != nil || !p.Accepts(m) {
		return lim
	}
	if p.TxnLimit < lim.Max {
		lim = ui.Limit{Max: p.TxnLimit, Note: "超过单笔限额 Over the limit per sale " + ui.Money(p.TxnLimit)}
	}
	spent, err := s.t.spentToday()
	if err != nil {
		// The day's total is unknown: Terminal.allow refuses the sale
		// after the amount, and says why.
		return lim
	}
	if left := max(p.DailyLimit-spent, 0); left < lim.Max {
		lim = ui.Limit{Max: left, Note: fmt.Sprintf("超过当日限额 Over the daily limit %s (%s left)",
			ui.Money(p.DailyLimit), ui.Money(left))}
	}
	return lim
}

// refundLeft is how much of the sale orig may still be refunded: its amount
// less every refund of it that may have moved money, as the rule book
// counts them (firmware/txrules). It is the terminal's own check, made
// before the card is read; the host checks again against its books, which
// also know refunds made elsewhere.
func (t *Terminal) refundLeft(orig journal.Txn) int64 {
	o, _, err := t.original(orig)
	if err != nil {
		return 0 // fails closed: the journal cannot say what was refunded
	}
	return max(o.Amount-o.Refunded, 0)
}

// saleByRRN finds the approved sale of this terminal with that reference
// number, so that a refund named by RRN is checked against it too.
func (t *Terminal) saleByRRN(rrn string) (journal.Txn, bool) {
	all, err := t.journal.ByRRN(rrn)
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
