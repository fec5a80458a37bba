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
	"kpos/firmware/ui"
	"kpos/hal"
)

// operation is a kind of transaction: how the card, the host and the
// journal know it, and what the screens and the receipt call it.
type operation struct {
	title      string // the screens' title
	receipt    string // receipt.Receipt.Kind
	emv        emv.TxnType
	host       acquirer.Kind
	journal    journal.Kind
	limited    bool // the binding's limits apply (money taken from the customer)
	noAmount   bool // a balance inquiry has none
	reversible bool // an unanswered request is reversed
}

// The kinds of journaled transaction the firmware/journal package knows by
// name only (its batch totals count a completion as a sale).
const (
	kindCompletion  journal.Kind = "preauth-complete"
	kindPreAuthVoid journal.Kind = "preauth-void"
)

var (
	opSale = operation{title: "消费 SALE", receipt: "SALE", emv: emv.Purchase, host: acquirer.KindSale,
		journal: journal.Sale, limited: true, reversible: true}
	opRefund = operation{title: "退货 REFUND", receipt: "REFUND", emv: emv.Refund, host: acquirer.KindRefund,
		journal: journal.Refund, reversible: true}
	opBalance = operation{title: "余额查询 BALANCE", receipt: "BALANCE", emv: emv.Balance, host: acquirer.KindBalance,
		journal: journal.Balance, noAmount: true}
	opPreAuth = operation{title: "预授权 PRE-AUTH", receipt: "PREAUTH", emv: emv.PreAuth, host: acquirer.KindPreAuth,
		journal: journal.PreAuth, limited: true, reversible: true}
	opVoid = operation{title: "撤销 VOID", receipt: "VOID", host: acquirer.KindVoid,
		journal: journal.Void, reversible: true}
	opCompletion = operation{title: "预授权完成 COMPLETION", receipt: "PREAUTH COMPLETE", host: acquirer.KindPreAuthComplete,
		journal: kindCompletion, reversible: true}
	opPreAuthVoid = operation{title: "预授权撤销 PRE-AUTH VOID", receipt: "PREAUTH VOID", host: acquirer.KindPreAuthVoid,
		journal: kindPreAuthVoid, reversible: true}
)

// kind is the sale's operation (a sale unless set).
func (s *sale) kind() operation {
	if s.op.title == "" {
		return opSale
	}
	return s.op
}

// hostKinds maps a journaled transaction to the request kind it was sent as.
func hostKind(t journal.Txn) acquirer.Kind {
	switch t.Kind {
	case journal.Void:
		return acquirer.KindVoid
	case journal.Refund:
		return acquirer.KindRefund
	case journal.Balance:
		return acquirer.KindBalance
	case journal.PreAuth:
		return acquirer.KindPreAuth
	case kindCompletion:
		return acquirer.KindPreAuthComplete
	case kindPreAuthVoid:
		return acquirer.KindPreAuthVoid
	}
	if t.Method == journal.QR {
		return acquirer.KindQRSale
	}
	return acquirer.KindSale
}

// More screen IDs, for the merchant's day.
const (
	ScreenInsertCard    = "insert-card"    // contactless refused: insert the card
	ScreenSeePhone      = "see-phone"      // the phone wallet asks its holder to look, then tap again
	ScreenFallback      = "swipe-card"     // the chip cannot be read: swipe the card
	ScreenMenuMore      = "menu-preauth"   // balance and pre-authorization menu
	ScreenMenuSettle    = "menu-settle"    // settlement and reprint menu
	ScreenWrongPassword = "wrong-password" // the merchant's password was wrong
	ScreenOrigTrace     = "orig-trace"     // type the original's trace number
	ScreenOrigConfirm   = "orig-confirm"   // the original shown: confirm
	ScreenRefundRRN     = "refund-rrn"     // type the original's reference number
	ScreenRefundDate    = "refund-date"    // type the original's date (MMDD)
	ScreenBalance       = "balance"        // the balance, printed only if asked
	ScreenReprintTrace  = "reprint-trace"  // type the trace number of the receipt to reprint
	ScreenNothing       = "nothing"        // nothing to reprint, or no such transaction
	ScreenSettleConfirm = "settle-confirm" // the open batch's totals: settle?
	ScreenSettling      = "settling"       // the settlement runs
	ScreenSettled       = "settled"        // the batch is closed
	ScreenSettleError   = "settle-error"   // the settlement stopped; it continues later
)

// Void cancels a sale of the open batch (card, QR or cash), found by its
// trace number; the card need not be present: the request carries the card
// number the journal keeps sealed.
func (t *Terminal) Void(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opVoid}, originalTransitions, originalSteps, StateOrigTrace)
}

// Completion completes a pre-authorization found by its trace number, for
// the amount typed (the host accepts up to 115 % of the pre-authorized).
func (t *Terminal) Completion(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opCompletion}, originalTransitions, originalSteps, StateOrigTrace)
}

// PreAuthVoid releases a pre-authorization found by its trace number.
func (t *Terminal) PreAuthVoid(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opPreAuthVoid}, originalTransitions, originalSteps, StateOrigTrace)
}

// Refund gives money back on an earlier sale, named by its reference
// number and date; the customer presents the same card.
func (t *Terminal) Refund(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opRefund}, transitions, steps, StateRefundRef)
}

// Balance asks the card's issuer for the balance; it is shown, and printed
// only when the customer asks.
func (t *Terminal) Balance(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opBalance}, transitions, steps, StateWaitCard)
}

// PreAuth holds an amount on the customer's card.
func (t *Terminal) PreAuth(ctx context.Context) (Result, error) {
	return t.walk(ctx, &sale{t: t, op: opPreAuth}, transitions, steps, StateAmount)
}

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
	digits, err := s.t.readDigits(ictx, ScreenOrigTrace, s.kind().title+" 原凭证号 Original trace", 6, maskNone)
	cancel()
	if err != nil {
		return EvCancel, ignoreCancel(ignoreTimeout(ictx, err))
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
	if msg := s.t.canActOn(s.kind(), orig); msg != "" {
		s.message = msg
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
	if s.kind().journal == kindCompletion {
		return EvNeedAmount, nil
	}
	return EvFound, nil
}

// canActOn says why op may not act on orig ("" when it may).
func (t *Terminal) canActOn(op operation, orig journal.Txn) string {
	if orig.State != journal.Completed {
		if orig.State == journal.Voided {
			return fmt.Sprintf("原交易已撤销 Trace %06d is already voided", orig.Trace)
		}
		return fmt.Sprintf("原交易未成功 Trace %06d was not approved", orig.Trace)
	}
	switch op.journal {
	case journal.Void:
		batch, err := t.journal.Batch()
		if err != nil {
			return "存储故障 Journal error: call support"
		}
		if orig.Kind != journal.Sale && orig.Kind != journal.Cash {
			return fmt.Sprintf("只能撤销消费 Trace %06d is not a sale: only sales can be voided", orig.Trace)
		}
		if orig.Batch != batch {
			return fmt.Sprintf("原交易已结算 Trace %06d is settled: refund it instead", orig.Trace)
		}
	case kindCompletion, kindPreAuthVoid:
		if orig.Kind != journal.PreAuth {
			return fmt.Sprintf("不是预授权 Trace %06d is not a pre-authorization", orig.Trace)
		}
		if closedBy, ok := t.closedPreAuth(orig.Trace); ok {
			return fmt.Sprintf("预授权已完成或撤销 Pre-authorization closed by trace %06d", closedBy)
		}
	}
	return ""
}

// closedPreAuth finds a completion or pre-authorization void of trace.
func (t *Terminal) closedPreAuth(trace uint32) (uint32, bool) {
	all, err := t.journal.Referring(trace)
	if err != nil {
		return 0, false
	}
	for _, x := range all {
		if x.OrigTrace == trace && (x.Kind == kindCompletion || x.Kind == kindPreAuthVoid) &&
			(x.State == journal.Completed || x.State == journal.Pending || x.State == journal.Approved) {
			return x.Trace, true
		}
	}
	return 0, false
}

// completionAmount reads a completion's amount.
func (s *sale) completionAmount(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	amount, err := s.t.ui.EnterAmount(ctx, s.kind().title, s.t.cfg.MaxAmount)
	if err != nil {
		return EvCancel, ignoreCancel(err)
	}
	s.amount = amount
	return EvAmount, nil
}

// confirmOriginal shows the original and what will be done.
func (s *sale) confirmOriginal(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	o := s.orig
	lines := []string{fmt.Sprintf("原凭证号 Original trace %06d", o.Trace), strings.TrimSpace(methodNames[o.Method] + " " + o.MaskedPAN),
		"原金额 Original " + ui.Money(o.Amount)}
	if s.amount != o.Amount {
		lines = append(lines, "金额 Amount "+ui.Money(s.amount))
	}
	ok, err := s.t.ui.Confirm(ctx, ScreenOrigConfirm, s.kind().title, lines...)
	if err != nil || !ok {
		return EvCancel, ignoreCancel(err)
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
	s.request = acquirer.Request{Kind: s.kind().host, Amount: s.amount, Currency: s.t.cfg.Currency,
		PAN: s.first.Card.PAN, Expiry: o.Secret.Expiry, Entry: entry, OrigTrace: o.Trace, OrigBatch: o.Batch,
		OrigRRN: o.RRN, OrigAuth: o.AuthCode, OrigDate: date.Format("0102")}
	ev, err := s.exchange(ctx, journal.Completed)
	if ev == EvHostApproved && s.kind().journal == journal.Void {
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
	ref, err := s.t.readDigits(ictx, ScreenRefundRRN, "退货 REFUND 原参考号或凭证号 Original RRN or trace", 12, maskNone)
	if err != nil {
		return EvCancel, ignoreCancel(ignoreTimeout(ictx, err))
	}
	if len(ref) <= 6 {
		n, _ := strconv.ParseUint(ref, 10, 32)
		orig, err := s.t.journal.Get(uint32(n))
		if err != nil || orig.Kind != journal.Sale || orig.State != journal.Completed || orig.RRN == "" {
			s.message = fmt.Sprintf("无此消费 No approved sale with trace %06d: type its RRN", n)
			return EvCancel, nil
		}
		date := orig.HostTime
		if date.IsZero() {
			date = orig.Created
		}
		s.orig, s.origRRN, s.origDate = orig, orig.RRN, date.Format("0102")
		return EvEntered, nil
	}
	date, err := s.t.readDigits(ictx, ScreenRefundDate, "退货 REFUND 原交易日期 Original date (MMDD)", 4, maskNone)
	if err != nil {
		return EvCancel, ignoreCancel(ignoreTimeout(ictx, err))
	}
	if _, perr := time.Parse("0102", date); perr != nil || len(date) != 4 {
		s.message = "日期无效 Not a date: type MMDD"
		return EvCancel, nil
	}
	s.origRRN, s.origDate = rrn(ref), date
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
	if err := s.t.printWhole(ctx, receipt.Build(r, receipt.CustomerCopy)); err != nil {
		s.t.log.Warn("balance not printed", "err", err)
	}
	return EvPrinted, nil
}

// repairVoids finishes voids a power cut interrupted between the host's
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
		if x.Kind != journal.Void || x.State != journal.Completed || state[x.OrigTrace] != journal.Completed {
			continue
		}
		if _, err := t.journal.Update(x.OrigTrace, func(o *journal.Txn) { o.State = journal.Voided }); err != nil {
			return fmt.Errorf("terminal: void %06d: %w", x.Trace, err)
		}
		t.log.Warn("void finished after a power cut", "void", x.Trace, "original", x.OrigTrace)
	}
	return nil
}
