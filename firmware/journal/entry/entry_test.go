package entry

import "testing"

// The state changes and settlement steps the journal enforces.
func TestChanges(t *testing.T) {
	for _, c := range []struct {
		from, to State
		ok       bool
	}{
		{Pending, Approved, true}, {Pending, ReversalPending, true}, {Approved, Completed, true},
		{Completed, Voided, true}, {ReversalPending, Reversed, true}, {ReversalPending, ReversalPending, true},
		{Completed, Pending, false}, {Declined, Completed, false}, {Reversed, ReversalPending, false},
		{Voided, Completed, false}, {"", Pending, false},
	} {
		if got := c.from.CanBecome(c.to); got != c.ok {
			t.Errorf("%s → %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
	for _, c := range []struct {
		from, to SettleStep
		ok       bool
	}{
		{StepStarted, StepTotalsSent, true}, {StepTotalsSent, StepTotalsSent, true}, {StepUploading, StepUploadEnd, true},
		{StepUploadEnd, StepUploading, false}, {StepTotalsSent, StepStarted, false}, {StepStarted, "bogus", false},
	} {
		if got := c.from.CanBecome(c.to); got != c.ok {
			t.Errorf("settlement %s → %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
	if StepStarted.Reached(StepTotalsSent) || !StepUploading.Reached(StepTotalsSent) {
		t.Error("Reached does not follow the order of the steps")
	}
}

// Totals.Count adds and removes a transaction symmetrically.
func TestCountIsSymmetric(t *testing.T) {
	x := Txn{Kind: Sale, Method: Chip, State: Completed, Amount: 1234, MaskedPAN: "622588******1234"}
	tot := NewTotals(1)
	tot.Count(&x, Classify(&x), +1)
	if tot.Sales != (Sum{Count: 1, Amount: 1234}) || tot.Domestic.Debit != tot.Sales || tot.Method(Chip).Sales != tot.Sales {
		t.Fatalf("after adding: %+v", tot)
	}
	tot.Count(&x, Classify(&x), -1)
	if tot.Sales != (Sum{}) || tot.Domestic.Debit != (Sum{}) || len(tot.Methods) != len(StandardMethods) {
		t.Fatalf("after removing: %+v", tot)
	}
}
