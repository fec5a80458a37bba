package terminal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
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
	ScreenOrigTrace   = "orig-trace"   // type the original's trace number
	ScreenOrigConfirm = "orig-confirm" // the original shown: confirm
	ScreenRefundRRN   = "refund-rrn"   // type the original's reference number
	ScreenRefundDate  = "refund-date"  // type the original's date (MMDD)
	ScreenBalance     = "balance"      // the balance, printed only if asked
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
// acted on.
func (s *sale) findOriginal(ctx context.Context) (Event, error) {
	ictx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	digits, err := s.t.panel.ReadDigits(ictx, ScreenOrigTrace, s.kind().Title+" 原凭证号 Original trace", 6, panel.MaskNone)
	cancel()
	if err != nil {
		return EvCancel, panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	n, _ := strconv.ParseUint(digits, 10, 32)
	orig, err := s.t.journal.Get(uint32(n))
	if msg := s.t.outsideWindow(err, n); msg != "" {
		s.message = msg
		return EvFail, nil
	}
	if errors.Is(err, journal.ErrNotFound) {
		s.message = fmt.Sprintf("无此交易 No transaction with trace %06d", n)
		return EvFail, nil
	}
	if err != nil {
		s.message = "存储故障 Journal error: call support"
		return EvFail, err
	}
	// The original's own amount stands for a completion's until it is
	// typed; completionAmount asks the rule book again with it.
	if msg, refused := s.t.checks().CanActOn(s.kind(), false, orig, orig.Amount); msg != "" {
		s.message = msg
		if refused {
			return EvRefused, nil
		}
		return EvFail, nil
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
	o := s.orig
	lines := []string{fmt.Sprintf("原凭证号 Original trace %06d", o.Trace), strings.TrimSpace(slip.MethodNames[o.Method] + " " + o.MaskedPAN),
		"原金额 Original " + ui.Money(o.Amount)}
	if s.amount != o.Amount {
		lines = append(lines, "金额 Amount "+ui.Money(s.amount))
	}
	ok, err := s.t.ui.Confirm(ctx, ScreenOrigConfirm, s.kind().Title, lines...)
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
	date := o.HostTime
	if date.IsZero() {
		date = o.Created
	}
	entry := acquirer.EntryManual
	if o.Method == journal.QR {
		entry = acquirer.EntryQR
	}
	s.request = acquirer.Request{Kind: hostKind(s.kind()), Amount: s.amount, Currency: s.t.cfg.Currency,
		PAN: s.first.Card.PAN, Expiry: o.Secret.Expiry, Entry: entry, OrigTrace: o.Trace, OrigBatch: o.Batch,
		OrigRRN: o.RRN, OrigAuth: o.AuthCode, OrigDate: date.Format("0102")}
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

// enterReference reads a refund's reference: the original's RRN and date
// (MMDD). A sale made on this terminal may be named by its trace number
// instead (up to six digits): its RRN and date come from the journal.
func (s *sale) enterReference(ctx context.Context) (Event, error) {
	ictx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ref, err := s.t.panel.ReadDigits(ictx, ScreenRefundRRN, "退货 REFUND 原参考号或凭证号 Original RRN or trace", 12, panel.MaskNone)
	if err != nil {
		return EvCancel, panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if len(ref) <= 6 {
		n, _ := strconv.ParseUint(ref, 10, 32)
		orig, err := s.t.journal.Get(uint32(n))
		if err != nil || orig.RRN == "" {
			s.message = fmt.Sprintf("无此消费 No approved sale with trace %06d: type its RRN", n)
			return EvCancel, nil
		}
		// Something must be left of it to refund (the rule book): the
		// amount is checked again once typed.
		if msg, _ := s.t.checks().CanActOn(s.kind(), true, orig, 1); msg != "" {
			s.message = msg
			return EvRefused, nil
		}
		date := orig.HostTime
		if date.IsZero() {
			date = orig.Created
		}
		s.orig, s.origRRN, s.origDate = orig, orig.RRN, date.Format("0102")
		return EvEntered, nil
	}
	date, err := s.t.panel.ReadDigits(ictx, ScreenRefundDate, "退货 REFUND 原交易日期 Original date (MMDD)", 4, panel.MaskNone)
	if err != nil {
		return EvCancel, panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if _, perr := time.Parse("0102", date); perr != nil || len(date) != 4 {
		s.message = "日期无效 Not a date: type MMDD"
		return EvCancel, nil
	}
	s.origRRN, s.origDate = rrn(ref), date
	if orig, ok := s.t.checks().SaleByRRN(s.origRRN); ok {
		s.orig = orig // a sale of this terminal: what is left of it is checked here
	}
	return EvEntered, nil
}

// rrn is a typed reference number, as the host wrote it (12 digits).
func rrn(typed string) string {
	for len(typed) < 12 {
		typed = "0" + typed
	}
	return typed
}

// showBalance shows a balance inquiry's answer; F1 prints it.
func (s *sale) showBalance(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	_ = s.t.dev.Indicator.Signal(ctx, hal.SignalApproved)
	_ = s.t.ui.Show(ctx, ScreenBalance, "余额 Balance", ui.Money(s.balance), "卡号 Card "+s.first.Card.PAN.Masked(),
		"打印[F1] 返回[ENTER]")
	k, err := s.t.ui.Key(ctx)
	if err != nil || k != hal.KeyF1 {
		return EvPrinted, nil
	}
	r := s.receipt()
	r.Amount = s.balance
	if err := s.t.panel.PrintWhole(ctx, receipt.Build(r, receipt.CustomerCopy)); err != nil {
		s.t.log.Warn("balance not printed", "err", err)
	}
	return EvPrinted, nil
}

// repairVoids finishes voids (and completion voids) a power cut interrupted between the host's
// approval and the original's mark: a completed void whose original is
// still completed voids it now, so the batch totals agree with the host's.
func (t *Terminal) repairVoids() error {
	batch, err := t.journal.Batch()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	txns, err := t.journal.List(batch)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	state := make(map[uint32]journal.State, len(txns))
	for _, x := range txns {
		state[x.Trace] = x.State
	}
	for _, x := range txns {
		if k := txkind.Named(string(x.Kind)); k == nil || !k.Cancels || x.State != journal.Completed || state[x.OrigTrace] != journal.Completed {
			continue
		}
		if _, err := t.journal.Update(x.OrigTrace, func(o *journal.Txn) { o.State = journal.Voided }); err != nil {
			return fmt.Errorf("terminal: void %06d: %w", x.Trace, err)
		}
		t.log.Warn("void finished after a power cut", "void", x.Trace, "original", x.OrigTrace)
	}
	return nil
}
