package txrules

import (
	"errors"
	"fmt"
	"testing"
)

// mayActOn is the rule book's pairs written out by hand: which kind may act
// on a standing original of which kind (absent: needs no original).
var mayActOn = map[Kind]map[Kind]bool{
	Void:           {Sale: true},
	Refund:         {Sale: true, Completion: true},
	Completion:     {PreAuth: true},
	CompletionVoid: {Completion: true},
	PreAuthVoid:    {PreAuth: true},
}

// stateReason is the refusal for a non-standing original of an allowed kind.
var stateReason = map[State]Reason{
	InDoubt:  ReasonNotApproved,
	Declined: ReasonNotApproved,
	Voided:   ReasonVoided,
	Reversed: ReasonReversed,
}

func reasonOf(t *testing.T, err error) Reason {
	t.Helper()
	if err == nil {
		return ReasonNone
	}
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("not a refusal: %v", err)
	}
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("%v does not wrap ErrRefused", err)
	}
	return r.Reason
}

// TestEveryKindOnEveryOriginal runs every kind against no original and
// against an original of every kind in every state, full amount, no limits.
func TestEveryKindOnEveryOriginal(t *testing.T) {
	type row struct {
		kind Kind
		orig *Original
		want Reason
	}
	var rows []row
	for _, k := range Kinds {
		allowed, needs := mayActOn[k]
		want := ReasonNone
		if needs && k != Refund {
			want = ReasonNoOriginal
		}
		rows = append(rows, row{k, nil, want})
		for _, ok := range Kinds {
			for _, s := range States {
				o := &Original{Kind: ok, State: s, Amount: 1000}
				want := ReasonNone
				switch {
				case !needs:
				case !allowed[ok]:
					want = ReasonWrongKind
				case s == Voided && ok == PreAuth:
					want = ReasonClosed
				case s != Standing:
					want = stateReason[s]
				}
				rows = append(rows, row{k, o, want})
			}
		}
	}
	t.Run(fmt.Sprintf("%d-rows", len(rows)), func(t *testing.T) {
		t.Logf("rule book table: %d (kind, original) rows", len(rows))
		for _, r := range rows {
			got := reasonOf(t, Check(Action{Kind: r.kind, Amount: 1000, Original: r.orig}))
			if got != r.want {
				t.Errorf("%s on %+v: reason %d, want %d", r.kind, r.orig, got, r.want)
			}
		}
	})
}

// TestWhatWasDone covers what was already done to a standing original, the
// amounts, and the limits of each kind.
func TestWhatWasDone(t *testing.T) {
	sale := func(refunded int64, settled bool) *Original {
		return &Original{Kind: Sale, State: Standing, Amount: 3000, Refunded: refunded, Settled: settled}
	}
	comp := func(refunded int64, settled bool) *Original {
		return &Original{Kind: Completion, State: Standing, Amount: 9000, Refunded: refunded, Settled: settled}
	}
	pre := func(completed bool) *Original {
		return &Original{Kind: PreAuth, State: Standing, Amount: 10000, Completed: completed}
	}
	lim := &Limits{PerTxn: 50000, Daily: 200000, SpentToday: 150000}
	rows := []struct {
		name string
		a    Action
		want Reason
	}{
		{"void of a sale", Action{Kind: Void, Amount: 3000, Original: sale(0, false)}, ReasonNone},
		{"void after a partial refund", Action{Kind: Void, Amount: 3000, Original: sale(1000, false)}, ReasonRefunded},
		{"void after the batch closed", Action{Kind: Void, Amount: 3000, Original: sale(0, true)}, ReasonSettled},
		{"void of another amount", Action{Kind: Void, Amount: 2000, Original: sale(0, false)}, ReasonAmountDiffers},
		{"void ignores the limits", Action{Kind: Void, Amount: 3000, Original: sale(0, false), Limits: &Limits{PerTxn: 1, Daily: 1, SpentToday: 1}}, ReasonNone},
		{"refund of part", Action{Kind: Refund, Amount: 1000, Original: sale(0, false)}, ReasonNone},
		{"refund of the rest", Action{Kind: Refund, Amount: 2000, Original: sale(1000, false)}, ReasonNone},
		{"refund of more than is left", Action{Kind: Refund, Amount: 2001, Original: sale(1000, false)}, ReasonRefundTooMuch},
		{"refund after settlement", Action{Kind: Refund, Amount: 3000, Original: sale(0, true)}, ReasonNone},
		{"refund of a completion", Action{Kind: Refund, Amount: 9000, Original: comp(0, true)}, ReasonNone},
		{"refund of nothing", Action{Kind: Refund, Amount: 0, Original: sale(0, false)}, ReasonBadAmount},
		{"refund of another terminal's sale", Action{Kind: Refund, Amount: 500}, ReasonNone},
		{"completion of 115 %", Action{Kind: Completion, Amount: 11500, Original: pre(false)}, ReasonNone},
		{"completion above 115 %", Action{Kind: Completion, Amount: 11501, Original: pre(false)}, ReasonOverAuthorized},
		{"second completion", Action{Kind: Completion, Amount: 100, Original: pre(true)}, ReasonClosed},
		{"completion over the per-sale limit", Action{Kind: Completion, Amount: 11500, Original: pre(false), Limits: &Limits{PerTxn: 11000, Daily: 1 << 40}}, ReasonTxnLimit},
		{"completion over the daily limit", Action{Kind: Completion, Amount: 11500, Original: pre(false), Limits: &Limits{PerTxn: 50000, Daily: 20000, SpentToday: 10000}}, ReasonDailyLimit},
		{"completion at the daily limit", Action{Kind: Completion, Amount: 10000, Original: pre(false), Limits: &Limits{PerTxn: 50000, Daily: 20000, SpentToday: 10000}}, ReasonNone},
		{"pre-auth void", Action{Kind: PreAuthVoid, Amount: 10000, Original: pre(false)}, ReasonNone},
		{"pre-auth void after a completion", Action{Kind: PreAuthVoid, Amount: 10000, Original: pre(true)}, ReasonClosed},
		{"completion void", Action{Kind: CompletionVoid, Amount: 9000, Original: comp(0, false)}, ReasonNone},
		{"completion void after a refund", Action{Kind: CompletionVoid, Amount: 9000, Original: comp(1, false)}, ReasonRefunded},
		{"completion void after settlement", Action{Kind: CompletionVoid, Amount: 9000, Original: comp(0, true)}, ReasonSettled},
		{"completion void of another amount", Action{Kind: CompletionVoid, Amount: 8000, Original: comp(0, false)}, ReasonAmountDiffers},
		{"sale within the limits", Action{Kind: Sale, Amount: 50000, Limits: lim}, ReasonNone},
		{"sale over the per-sale limit", Action{Kind: Sale, Amount: 50001, Limits: lim}, ReasonTxnLimit},
		{"sale over the daily limit", Action{Kind: Sale, Amount: 50000, Limits: &Limits{PerTxn: 50000, Daily: 200000, SpentToday: 150001}}, ReasonDailyLimit},
		{"sale without limits", Action{Kind: Sale, Amount: 99999999}, ReasonNone},
		{"zero limits allow nothing", Action{Kind: Sale, Amount: 1, Limits: &Limits{}}, ReasonTxnLimit},
		{"pre-auth over the daily limit", Action{Kind: PreAuth, Amount: 50001, Limits: &Limits{PerTxn: 60000, Daily: 200000, SpentToday: 150000}}, ReasonDailyLimit},
		{"refund ignores the limits", Action{Kind: Refund, Amount: 3000, Original: sale(0, false), Limits: &Limits{PerTxn: 1, Daily: 1, SpentToday: 1}}, ReasonNone},
		{"balance has no amount", Action{Kind: Balance}, ReasonNone},
	}
	t.Logf("what-was-done table: %d rows", len(rows))
	for _, r := range rows {
		if got := reasonOf(t, Check(r.a)); got != r.want {
			t.Errorf("%s: reason %d, want %d (%v)", r.name, got, r.want, Check(r.a))
		}
	}
}

func TestLimitSentinelsAndCodes(t *testing.T) {
	err := Check(Action{Kind: Sale, Amount: 2, Limits: &Limits{PerTxn: 1, Daily: 10}})
	if !errors.Is(err, ErrTxnLimit) || errors.Is(err, ErrDailyLimit) {
		t.Fatalf("%v", err)
	}
	var r *Refusal
	if !errors.As(err, &r) || r.HostCode() != "61" {
		t.Fatalf("%v", err)
	}
	codes := map[Reason]string{ReasonNoOriginal: "25", ReasonVoided: "12", ReasonRefunded: "12", ReasonAmountDiffers: "64",
		ReasonRefundTooMuch: "13", ReasonOverAuthorized: "13", ReasonDailyLimit: "61", ReasonClosed: "25"}
	for reason, code := range codes {
		if got := (&Refusal{Reason: reason}).HostCode(); got != code {
			t.Errorf("reason %d: code %s, want %s", reason, got, code)
		}
	}
}

func TestCountsToday(t *testing.T) {
	n := 0
	for _, k := range Kinds {
		for _, s := range States {
			want := (k == Sale || k == Completion) && (s == Standing || s == InDoubt)
			if CountsToday(k, s) != want {
				t.Errorf("%s %s: counts %v", k, s, !want)
			}
			n++
		}
	}
	t.Logf("daily-limit rule: %d (kind, state) pairs", n)
}
