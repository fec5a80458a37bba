package journal

import (
	"testing"

	"kpos/firmware/journal/entry"
	"kpos/firmware/txkind"
)

// kindCompletion is the kind a pre-authorization completion is journaled
// under (firmware/txkind).
var kindCompletion = Kind(txkind.Completion.Name)

// The journal counts what the table of kinds says: every sale (card, QR,
// cash, the journal's own cash kind) and completion is a debit, a refund a
// credit, and nothing else counts.
func TestBooksFollowTheTableOfKinds(t *testing.T) {
	for _, c := range []struct {
		kind Kind
		want txkind.Books
	}{
		{Sale, txkind.Debit}, {Cash, txkind.Debit}, {kindCompletion, txkind.Debit}, {Refund, txkind.Credit},
		{Void, txkind.Nothing}, {Balance, txkind.Nothing}, {PreAuth, txkind.Nothing},
		{Kind(txkind.PreAuthVoid.Name), txkind.Nothing}, {Kind(txkind.CompletionVoid.Name), txkind.Nothing},
		{"unknown", txkind.Nothing},
	} {
		if got := entry.Books(c.kind); got != c.want {
			t.Errorf("%s counts as %d, want %d", c.kind, got, c.want)
		}
	}
}

// The journal's names of the kinds are the table's.
func TestKindNamesAreTheTables(t *testing.T) {
	for k, want := range map[Kind]*txkind.Kind{Sale: txkind.Sale, Void: txkind.Void, Refund: txkind.Refund,
		Balance: txkind.Balance, PreAuth: txkind.PreAuth, Cash: txkind.CashRecord} {
		if string(k) != want.Name {
			t.Errorf("journal kind %q, table says %q", k, want.Name)
		}
	}
}
