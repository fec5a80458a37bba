package terminal

import (
	"strings"
	"testing"

	"kpos/firmware/journal"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/txkind"
	"kpos/firmware/txrules"
)

// The daily limit fails closed: when the journal cannot say what was sold
// today, the sale is refused with a clear message and never reaches the
// host.
func TestDailyLimitFailsClosedOnJournalError(t *testing.T) {
	q := newQRRig(t, approve)
	q.j.Close() // every read of the journal now fails
	q.chipSaleInput("100")
	res := q.sale(t)
	if res.State != StateRefused || !strings.Contains(q.display.Current().String(), "Daily limit cannot be checked") {
		t.Fatalf("sale with an unreadable journal: %s %v", res.State, q.display.Current())
	}
	if len(q.host.requests) != 0 {
		t.Fatalf("the sale reached the host: %d requests", len(q.host.requests))
	}
}

// The journal keeps the day's spending by its own predicate, so that a
// sale reads one figure; it must be the rule book's daily-limit rule for
// every kind and state the terminal journals.
func TestJournalDayRuleIsTheRuleBooks(t *testing.T) {
	states := []journal.State{journal.Pending, journal.Approved, journal.Completed, journal.Declined,
		journal.ReversalPending, journal.Reversed, journal.Voided}
	for _, k := range txkind.All() {
		kind, rk := journal.Kind(k.Name), k.Rule
		if kind == "" {
			continue
		}
		for _, s := range states {
			got := journal.CountsToday(journal.Txn{Kind: kind, State: s})
			if want := txrules.CountsToday(rk, checks.RuleState(s)); got != want {
				t.Errorf("%s %s: journal counts it %v, the rule book %v", kind, s, got, want)
			}
		}
	}
}
