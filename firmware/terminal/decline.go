package terminal

import (
	"context"

	"kpos/firmware/receipt"
)

// printDeclineSlip prints the customer's slip of a sale the card declined
// offline, with the reason. Nothing was sent or journaled, so it carries no
// trace number; a printer fault only loses the slip.
func (s *sale) printDeclineSlip(ctx context.Context, reason string) {
	r := s.receipt()
	r.Approved, r.Declined, r.TC, r.ARQC, r.CVM = false, reason, "", "", receipt.CVMUnstated
	if err := s.t.panel.PrintWhole(ctx, receipt.Build(r, receipt.CustomerCopy)); err != nil {
		s.t.log.Warn("decline slip not printed", "err", err)
	}
}
