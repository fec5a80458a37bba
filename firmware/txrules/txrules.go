// Package txrules is the rule book of what may follow what: whether a
// transaction of one kind may act on an earlier one (void a sale, refund it,
// complete or release a pre-authorization, void a completion), given what
// was already done to that original, and whether its amount is within the
// terminal's per-transaction and daily limits.
//
// The terminal asks it before it reads a card; the host simulator asks it
// before it moves money. Both feed it plain values (the original's kind,
// state and amount, what was refunded of it, what was spent today), so the
// package knows nothing of journals, messages, stores or clocks, and must
// not: where the figures come from is each caller's business.
//
// The rules follow the UnionPay terminal transaction set (消费, 消费撤销,
// 退货, 预授权, 预授权撤销, 预授权完成, 预授权完成撤销):
//   - a void (消费撤销) cancels a whole standing sale of the open batch that
//     nothing was refunded of, for its full amount;
//   - a refund (退货) gives back part or all of a standing sale or
//     completion, as often as asked, never more in all than its amount; a
//     voided or reversed original has nothing left to refund;
//   - a completion (预授权完成) takes a standing pre-authorization that no
//     standing completion or void closed, for up to 115 % of it;
//   - a completion void (预授权完成撤销) cancels a whole standing completion
//     of the open batch that nothing was refunded of; the pre-authorization
//     is open again;
//   - a pre-authorization void (预授权撤销) releases a standing
//     pre-authorization that no standing completion closed.
//
// The daily limit, one rule on both sides: today's spending is the sum of
// the sales (card, QR and cash) and completions made today that still
// stand: approved or in doubt, neither declined, voided nor reversed.
// Refunds do not lower it, pre-authorizations do not raise it (their
// completion does). A void or reversal gives the room back at once. "Today"
// is the calendar day of the transaction's own time on the clock of whoever
// counts; the host never sees cash sales, so it counts the rest.
package txrules

import (
	"errors"
	"fmt"
)

// Kind is a transaction kind as the rule book knows it.
type Kind string

// The kinds.
const (
	Sale           Kind = "sale"            // 消费: card, QR or cash
	Void           Kind = "void"            // 消费撤销
	Refund         Kind = "refund"          // 退货
	PreAuth        Kind = "preauth"         // 预授权
	Completion     Kind = "completion"      // 预授权完成
	CompletionVoid Kind = "completion-void" // 预授权完成撤销
	PreAuthVoid    Kind = "preauth-void"    // 预授权撤销
	Balance        Kind = "balance"         // 余额查询: moves nothing
)

// Kinds lists every kind, for tables.
var Kinds = []Kind{Sale, Void, Refund, PreAuth, Completion, CompletionVoid, PreAuthVoid, Balance}

// State is where an original stands.
type State string

// The states an original may be in.
const (
	Standing State = "standing" // approved (or taken, for cash) and not undone
	InDoubt  State = "in-doubt" // sent, answer not final, or queued for reversal
	Declined State = "declined" // refused, or never sent
	Voided   State = "voided"   // cancelled by a void, completion void or pre-auth void
	Reversed State = "reversed" // undone by a reversal
)

// States lists every state, for tables.
var States = []State{Standing, InDoubt, Declined, Voided, Reversed}

// Original is what the caller knows of the transaction acted on.
type Original struct {
	Kind   Kind
	State  State
	Amount int64
	// Settled: its batch is closed (a void must then be a refund).
	Settled bool
	// Refunded is the sum of the refunds of it that stand or are in doubt.
	Refunded int64
	// Completed: a pre-authorization that a standing (or in-doubt)
	// completion closed.
	Completed bool
}

// Limits are the terminal's limits and what was spent today by the rule in
// the package comment. A limit of zero allows nothing (limits fail closed):
// a caller without limits passes no Limits at all.
type Limits struct {
	PerTxn     int64
	Daily      int64
	SpentToday int64
}

// Action is what a caller wants to do.
type Action struct {
	Kind   Kind
	Amount int64
	// Original is what the action acts on; nil for a sale, pre-authorization
	// or balance inquiry, and for a refund whose original this side does not
	// hold (a refund by reference number of another terminal's sale).
	Original *Original
	// Limits apply to the kinds that take money (sale, pre-authorization,
	// completion); nil when the caller has none.
	Limits *Limits
}

// Reason is why an action is refused. Each maps to the host's response
// code and to what the merchant reads.
type Reason int

// The reasons.
const (
	ReasonNone           Reason = iota
	ReasonNoOriginal            // the kind needs an original and none was named
	ReasonWrongKind             // the original is not of a kind this one acts on
	ReasonNotApproved           // the original was declined or is still in doubt
	ReasonVoided                // the original was already voided
	ReasonReversed              // the original was reversed
	ReasonSettled               // a void after the batch closed
	ReasonRefunded              // a void of something partly refunded
	ReasonClosed                // a pre-authorization already completed or released
	ReasonAmountDiffers         // a void's amount is not the original's
	ReasonRefundTooMuch         // more than what is left of the original
	ReasonOverAuthorized        // a completion above 115 % of its pre-authorization
	ReasonBadAmount             // not positive
	ReasonTxnLimit              // over the per-transaction limit
	ReasonDailyLimit            // over the daily limit
)

// Refusal is a refused action. It wraps ErrRefused and, for the limits,
// ErrTxnLimit or ErrDailyLimit.
type Refusal struct {
	Reason Reason
	Kind   Kind
	Detail string
}

// Errors callers branch on (with errors.Is).
var (
	ErrRefused    = errors.New("txrules: refused")
	ErrTxnLimit   = errors.New("txrules: over the per-transaction limit")
	ErrDailyLimit = errors.New("txrules: over the daily limit")
)

func (r *Refusal) Error() string { return fmt.Sprintf("txrules: %s refused: %s", r.Kind, r.Detail) }

// Is makes errors.Is see ErrRefused, and the limit sentinels.
func (r *Refusal) Is(target error) bool {
	switch target {
	case ErrRefused:
		return true
	case ErrTxnLimit:
		return r.Reason == ReasonTxnLimit
	case ErrDailyLimit:
		return r.Reason == ReasonDailyLimit
	}
	return false
}

// HostCode is the ISO 8583 response code a host answers the refusal with
// (UnionPay dialect, docs/acquirer.md): 25 no such original, 12 invalid
// transaction on it, 64 amount differs, 13 invalid amount, 61 over a limit.
func (r *Refusal) HostCode() string {
	switch r.Reason {
	case ReasonNoOriginal, ReasonWrongKind, ReasonNotApproved, ReasonReversed, ReasonClosed:
		return "25"
	case ReasonVoided, ReasonSettled, ReasonRefunded:
		return "12"
	case ReasonAmountDiffers:
		return "64"
	case ReasonRefundTooMuch, ReasonOverAuthorized, ReasonBadAmount:
		return "13"
	case ReasonTxnLimit, ReasonDailyLimit:
		return "61"
	}
	return "96"
}

func refuse(k Kind, r Reason, format string, args ...any) error {
	return &Refusal{Reason: r, Kind: k, Detail: fmt.Sprintf(format, args...)}
}

// acts is what each kind may act on; a kind absent needs no original.
var acts = map[Kind][]Kind{
	Void:           {Sale},
	Refund:         {Sale, Completion},
	Completion:     {PreAuth},
	CompletionVoid: {Completion},
	PreAuthVoid:    {PreAuth},
}

// NeedsOriginal reports whether k acts on an earlier transaction.
func NeedsOriginal(k Kind) bool { _, ok := acts[k]; return ok }

// Limited reports whether the terminal's limits apply to k: the kinds that
// take money from the customer.
func Limited(k Kind) bool { return k == Sale || k == PreAuth || k == Completion }

// CountsToday reports whether a transaction of kind k in state s counts in
// today's spending (the daily-limit rule of the package comment).
func CountsToday(k Kind, s State) bool {
	return (k == Sale || k == Completion) && (s == Standing || s == InDoubt)
}

// MaxCompletion is the most a completion of a pre-authorization of amount
// may take: 115 % of it, rounded down to the fen.
func MaxCompletion(amount int64) int64 { return amount + amount*15/100 }

// Check says whether a may be done: nil, or a *Refusal saying why not.
func Check(a Action) error {
	k := a.Kind
	if k != Balance && a.Amount <= 0 {
		return refuse(k, ReasonBadAmount, "amount %d is not positive", a.Amount)
	}
	if err := checkOriginal(a); err != nil {
		return err
	}
	if a.Limits != nil && Limited(k) {
		l := a.Limits
		if a.Amount > l.PerTxn {
			return refuse(k, ReasonTxnLimit, "%d is over the per-transaction limit of %d", a.Amount, l.PerTxn)
		}
		if l.SpentToday+a.Amount > l.Daily {
			return refuse(k, ReasonDailyLimit, "%d would bring today's total to %d, over the daily limit of %d",
				a.Amount, l.SpentToday+a.Amount, l.Daily)
		}
	}
	return nil
}

func checkOriginal(a Action) error {
	k, o := a.Kind, a.Original
	want, needs := acts[k]
	if !needs {
		return nil
	}
	if o == nil {
		if k == Refund {
			// Another terminal's sale, named by its reference: only its
			// host can tell what is left of it.
			return nil
		}
		return refuse(k, ReasonNoOriginal, "no original")
	}
	ok := false
	for _, w := range want {
		ok = ok || o.Kind == w
	}
	if !ok {
		return refuse(k, ReasonWrongKind, "a %s cannot act on a %s", k, o.Kind)
	}
	switch o.State {
	case Standing:
	case Voided:
		if o.Kind == PreAuth {
			return refuse(k, ReasonClosed, "the pre-authorization was released")
		}
		return refuse(k, ReasonVoided, "the original is already voided")
	case Reversed:
		return refuse(k, ReasonReversed, "the original was reversed")
	default:
		return refuse(k, ReasonNotApproved, "the original is %s", o.State)
	}
	switch k {
	case Void, CompletionVoid:
		if o.Settled {
			return refuse(k, ReasonSettled, "the original's batch is settled")
		}
		if o.Refunded > 0 {
			return refuse(k, ReasonRefunded, "%d of the original was refunded", o.Refunded)
		}
		if a.Amount != o.Amount {
			return refuse(k, ReasonAmountDiffers, "amount %d is not the original's %d", a.Amount, o.Amount)
		}
	case Refund:
		if o.Refunded+a.Amount > o.Amount {
			return refuse(k, ReasonRefundTooMuch, "%d is more than the %d left of the original", a.Amount, o.Amount-o.Refunded)
		}
	case Completion, PreAuthVoid:
		if o.Completed {
			return refuse(k, ReasonClosed, "the pre-authorization is already completed")
		}
		if k == Completion && a.Amount > MaxCompletion(o.Amount) {
			return refuse(k, ReasonOverAuthorized, "%d is above 115 %% of the pre-authorized %d", a.Amount, o.Amount)
		}
		if k == PreAuthVoid && a.Amount != o.Amount {
			return refuse(k, ReasonAmountDiffers, "amount %d is not the pre-authorized %d", a.Amount, o.Amount)
		}
	}
	return nil
}
