package terminal

import (
	"strings"
	"testing"
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
