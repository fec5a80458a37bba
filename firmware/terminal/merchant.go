package terminal

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/original"
	"kpos/firmware/terminal/outcome"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/txkind"
	"kpos/hal"
)

// kind is the sale's kind of transaction (a card sale unless set).
func (s *sale) kind() *txkind.Kind {
	if s.op == nil {
		return txkind.Sale
	}
	return s.op
}

// hostKind is the request kind k is sent as (a card sale's when it is never
// sent).
func hostKind(k *txkind.Kind) acquirer.Kind {
	if hk, ok := acquirer.KindOf(k); ok {
		return hk
	}
	return acquirer.KindSale
}

// journaledKind is the kind of a journaled transaction.
func journaledKind(t journal.Txn) *txkind.Kind {
	return txkind.Journaled(string(t.Kind), string(t.Method))
}

// More screen IDs, for the merchant's day.
const (
	ScreenOrigTrace   = original.ScreenTrace      // type the original's trace number
	ScreenOrigConfirm = original.ScreenConfirm    // the original shown: confirm
	ScreenRefundRRN   = original.ScreenRefundRRN  // type the original's reference number
	ScreenRefundDate  = original.ScreenRefundDate // type the original's date (MMDD)
	ScreenBalance     = outcome.ScreenBalance     // the balance, printed only if asked
)

// originalSteps is each state's work of the transactions on an earlier one;
// originalTransitions in transitions.go says where its event leads.
var originalSteps = map[State]step{
	StateOrigTrace:   (*sale).findOriginal,
	StateOrigAmount:  (*sale).completionAmount,
	StateOrigConfirm: (*sale).confirmOriginal,
	StateOrigSend:    (*sale).sendOnOriginal,
	StateReverse:     (*sale).reverseNow,
	StatePrint:       (*sale).printReceipt,
}

// findOriginal reads the original's trace number and checks it may be
// acted on (terminal/original).
func (s *sale) findOriginal(ctx context.Context) (Event, error) {
	ictx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	orig, msg, out, err := s.entry().Trace(ictx)
	cancel()
	if out != original.Found {
		s.message = msg
		return outcomeEvents[out], err
	}
	s.orig, s.amount, s.method, s.masked = orig, orig.Amount, orig.Method, orig.MaskedPAN
	if orig.Secret.PAN != "" {
		pan, err := hal.ParsePAN(orig.Secret.PAN)
		if err != nil {
			s.message = "存储故障 Journal error: call support"
			return EvFail, fmt.Errorf("terminal: trace %06d: %w", orig.Trace, err)
		}
		s.first.Card = emv.CardData{PAN: pan, Expiry: orig.Secret.Expiry, AID: nil, Label: orig.AppLabel}
	}
	if s.kind() == txkind.Completion {
		return EvNeedAmount, nil
	}
	return EvFound, nil
}

// completionAmount reads a completion's amount.
func (s *sale) completionAmount(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	amount, err := s.t.ui.EnterAmount(ctx, s.kind().Title, s.t.cfg.MaxAmount)
	if err != nil {
		return EvCancel, panel.IgnoreCancel(err)
	}
	// Up to 115 % of the pre-authorization, within the per-sale and daily
	// limits: refused here, before anything is sent.
	if msg, _ := s.t.checks().CanActOn(s.kind(), true, s.orig, amount); msg != "" {
		s.message = msg
		return EvRefused, nil
	}
	s.amount = amount
	return EvAmount, nil
}

// confirmOriginal shows the original and what will be done.
func (s *sale) confirmOriginal(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ok, err := original.Confirm(ctx, s.t.panel, s.kind().Title, s.orig, s.amount)
	if err != nil || !ok {
		return EvCancel, panel.IgnoreCancel(err)
	}
	return EvConfirmed, nil
}

// sendOnOriginal journals and sends the void, completion or pre-auth void;
// a cash sale's void is recorded without the host.
func (s *sale) sendOnOriginal(ctx context.Context) (Event, error) {
	o := s.orig
	if o.Method == journal.CashMethod {
		if err := s.begin(); err != nil {
			s.message = "存储故障 Journal error: call support"
			return EvNotSent, err
		}
		if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) { x.State = journal.Completed }); err != nil {
			return EvNotSent, err
		}
		if err := s.markOriginalVoided(); err != nil {
			return EvNotSent, err
		}
		return EvRecorded, nil
	}
	s.request = original.Request(o, hostKind(s.kind()), s.amount, s.t.cfg.Currency, s.first.Card.PAN)
	ev, err := s.exchange(ctx, journal.Completed)
	if ev == EvHostApproved && s.kind().Cancels {
		if merr := s.markOriginalVoided(); merr != nil {
			return ev, errors.Join(err, merr)
		}
	}
	return ev, err
}

func (s *sale) markOriginalVoided() error {
	_, err := s.t.journal.Update(s.orig.Trace, func(x *journal.Txn) { x.State = journal.Voided })
	return err
}

// outcomeEvents are what the entries of an original conclude.
var outcomeEvents = map[original.Outcome]Event{original.Cancelled: EvCancel, original.Failed: EvFail, original.Refused: EvRefused}

// entry is the merchant's entry of the original of s.
func (s *sale) entry() *original.Entry {
	return &original.Entry{Panel: s.t.panel, Journal: s.t.journal, Checks: s.t.checks(), Kind: s.kind()}
}

// enterReference reads a refund's reference (terminal/original): the
// original's RRN and date, or the trace number of a sale of this terminal.
func (s *sale) enterReference(ctx context.Context) (Event, error) {
	ictx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ref, msg, out, err := s.entry().Reference(ictx)
	if out != original.Found {
		s.message = msg
		return outcomeEvents[out], err
	}
	s.orig, s.origRRN, s.origDate = ref.Orig, ref.RRN, ref.Date
	return EvEntered, nil
}

// showBalance shows a balance inquiry's answer; F1 prints it.
func (s *sale) showBalance(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	doc := func() hal.Document {
		r := s.receipt()
		r.Amount = s.balance
		return receipt.Build(r, receipt.CustomerCopy)
	}
	outcome.Balance(ctx, s.t.panel, s.balance, s.first.Card.PAN.Masked(), doc, s.t.log)
	return EvPrinted, nil
}
