// Package original finds the earlier transaction that a void, a
// pre-authorization completion or void, or a refund acts on: the trace
// number typed and looked up in the journal (inside its retention window),
// a refund's reference (the original's RRN and date, or the trace of a sale
// of this terminal), each checked against the rule book (terminal/checks)
// before anything is read or sent; and, after a power cut, the voids whose
// original was not yet marked. It shows only the entry screens; it knows
// nothing of the terminal's states and sends nothing.
package original

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of the entries.
const (
	ScreenTrace      = "orig-trace"   // type the original's trace number
	ScreenConfirm    = "orig-confirm" // the original shown: confirm
	ScreenRefundRRN  = "refund-rrn"   // type the original's reference number
	ScreenRefundDate = "refund-date"  // type the original's date (MMDD)
)

// Outcome is how an entry ended.
type Outcome int

// The outcomes.
const (
	Found     Outcome = iota // the original (or the reference) is known and may be acted on
	Cancelled                // the merchant gave up, or a refund's reference was not usable
	Failed                   // no such original, or it may not be acted on now
	Refused                  // the rule book refuses it
)

// Entry is one merchant's entry of an original.
type Entry struct {
	Panel   *panel.Panel
	Journal *journal.Journal
	Checks  *checks.Checks
	Kind    *txkind.Kind
}

// OutsideWindow is what the merchant reads when trace was in a settled
// batch the journal's retention has archived and removed ("" when err is
// not that): reprints, voids and completions work only inside the window.
func OutsideWindow(err error, trace uint64, days int) string {
	if !errors.Is(err, journal.ErrOutsideWindow) {
		return ""
	}
	return fmt.Sprintf("交易已归档 Trace %06d is older than the journal keeps (%d days): archived, not available here",
		trace, days)
}

// Trace reads the original's trace number and checks it may be acted on;
// the message says why not.
func (e *Entry) Trace(ctx context.Context) (journal.Txn, string, Outcome, error) {
	digits, err := e.Panel.ReadDigits(ctx, ScreenTrace, e.Kind.Title+" 原凭证号 Original trace", 6, panel.MaskNone)
	if err != nil {
		return journal.Txn{}, "", Cancelled, panel.IgnoreCancel(panel.IgnoreTimeout(ctx, err))
	}
	n, _ := strconv.ParseUint(digits, 10, 32)
	orig, err := e.Journal.Get(uint32(n))
	if msg := OutsideWindow(err, n, e.Journal.RetentionDays()); msg != "" {
		return journal.Txn{}, msg, Failed, nil
	}
	if errors.Is(err, journal.ErrNotFound) {
		return journal.Txn{}, fmt.Sprintf("无此交易 No transaction with trace %06d", n), Failed, nil
	}
	if err != nil {
		return journal.Txn{}, "存储故障 Journal error: call support", Failed, err
	}
	// The original's own amount stands for a completion's until it is
	// typed; the completion's amount is asked of the rule book again.
	if msg, refused := e.Checks.CanActOn(e.Kind, false, orig, orig.Amount); msg != "" {
		if refused {
			return journal.Txn{}, msg, Refused, nil
		}
		return journal.Txn{}, msg, Failed, nil
	}
	return orig, "", Found, nil
}

// Reference is a refund's reference: the original's RRN and date (MMDD),
// and the original itself when it is a sale of this terminal.
type Reference struct {
	Orig journal.Txn
	RRN  string
	Date string
}

// Reference reads a refund's reference: the original's RRN and date
// (MMDD). A sale made on this terminal may be named by its trace number
// instead (up to six digits): its RRN and date come from the journal.
func (e *Entry) Reference(ctx context.Context) (Reference, string, Outcome, error) {
	ref, err := e.Panel.ReadDigits(ctx, ScreenRefundRRN, "退货 REFUND 原参考号或凭证号 Original RRN or trace", 12, panel.MaskNone)
	if err != nil {
		return Reference{}, "", Cancelled, panel.IgnoreCancel(panel.IgnoreTimeout(ctx, err))
	}
	if len(ref) <= 6 {
		n, _ := strconv.ParseUint(ref, 10, 32)
		orig, err := e.Journal.Get(uint32(n))
		if err != nil || orig.RRN == "" {
			return Reference{}, fmt.Sprintf("无此消费 No approved sale with trace %06d: type its RRN", n), Cancelled, nil
		}
		// Something must be left of it to refund (the rule book): the
		// amount is checked again once typed.
		if msg, _ := e.Checks.CanActOn(e.Kind, true, orig, 1); msg != "" {
			return Reference{}, msg, Refused, nil
		}
		date := orig.HostTime
		if date.IsZero() {
			date = orig.Created
		}
		return Reference{Orig: orig, RRN: orig.RRN, Date: date.Format("0102")}, "", Found, nil
	}
	date, err := e.Panel.ReadDigits(ctx, ScreenRefundDate, "退货 REFUND 原交易日期 Original date (MMDD)", 4, panel.MaskNone)
	if err != nil {
		return Reference{}, "", Cancelled, panel.IgnoreCancel(panel.IgnoreTimeout(ctx, err))
	}
	if _, perr := time.Parse("0102", date); perr != nil || len(date) != 4 {
		return Reference{}, "日期无效 Not a date: type MMDD", Cancelled, nil
	}
	r := Reference{RRN: RRN(ref), Date: date}
	if orig, ok := e.Checks.SaleByRRN(r.RRN); ok {
		r.Orig = orig // a sale of this terminal: what is left of it is checked here
	}
	return r, "", Found, nil
}

// RRN is a typed reference number, as the host wrote it (12 digits).
func RRN(typed string) string {
	for len(typed) < 12 {
		typed = "0" + typed
	}
	return typed
}

// RepairVoids finishes voids (and completion voids) a power cut interrupted
// between the host's approval and the original's mark: a completed void
// whose original is still completed voids it now, so the batch totals agree
// with the host's.
func RepairVoids(j *journal.Journal, log *slog.Logger) error {
	batch, err := j.Batch()
	if err != nil {
		return fmt.Errorf("original: %w", err)
	}
	txns, err := j.List(batch)
	if err != nil {
		return fmt.Errorf("original: %w", err)
	}
	state := make(map[uint32]journal.State, len(txns))
	for _, x := range txns {
		state[x.Trace] = x.State
	}
	for _, x := range txns {
		if k := txkind.Named(string(x.Kind)); k == nil || !k.Cancels || x.State != journal.Completed || state[x.OrigTrace] != journal.Completed {
			continue
		}
		if _, err := j.Update(x.OrigTrace, func(o *journal.Txn) { o.State = journal.Voided }); err != nil {
			return fmt.Errorf("original: void %06d: %w", x.Trace, err)
		}
		log.Warn("void finished after a power cut", "void", x.Trace, "original", x.OrigTrace)
	}
	return nil
}

// Confirm shows the original and the amount of what will be done (kind
// titled title), and asks the merchant to confirm.
func Confirm(ctx context.Context, p *panel.Panel, title string, o journal.Txn, amount int64) (bool, error) {
	lines := []string{fmt.Sprintf("原凭证号 Original trace %06d", o.Trace), strings.TrimSpace(slip.MethodNames[o.Method] + " " + o.MaskedPAN),
		"原金额 Original " + ui.Money(o.Amount)}
	if amount != o.Amount {
		lines = append(lines, "金额 Amount "+ui.Money(amount))
	}
	return p.UI.Confirm(ctx, ScreenConfirm, title, lines...)
}

// Request is the request (kind k, for amount) that acts on o: a void,
// completion or pre-authorization void, which names the original by its
// trace, batch, RRN, authorization code and date (MMDD), and the card by
// the number the original journaled (pan).
func Request(o journal.Txn, k acquirer.Kind, amount int64, currency uint16, pan hal.PAN) acquirer.Request {
	date := o.HostTime
	if date.IsZero() {
		date = o.Created
	}
	entry := acquirer.EntryManual
	if o.Method == journal.QR {
		entry = acquirer.EntryQR
	}
	return acquirer.Request{Kind: k, Amount: amount, Currency: currency,
		PAN: pan, Expiry: o.Secret.Expiry, Entry: entry, OrigTrace: o.Trace, OrigBatch: o.Batch,
		OrigRRN: o.RRN, OrigAuth: o.AuthCode, OrigDate: date.Format("0102")}
}
