package terminal

import (
	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/slip"
)

// facts are what the slip of s prints (terminal/slip assembles it).
func (s *sale) facts() *slip.Facts {
	f := &slip.Facts{Kind: s.kind(), Method: s.method, Masked: s.maskedPAN(), Amount: s.amount, Started: s.started,
		Trace: s.trace, Batch: s.batch, Wallet: s.code.Kind, MerchantQR: s.merchantQR, First: s.first, Final: s.final,
		PINOnline: s.request.PIN != nil, OrigRRN: s.origRRN, Resp: s.resp, Orig: s.orig}
	if s.t.binding != nil {
		f.AcquirerIIN = s.t.binding.Record().AcquirerIIN
	}
	return f
}

// slipRecord is what the slip prints that only the slip needs, as the
// journal keeps it for a reprint.
func (s *sale) slipRecord() journal.Slip { return s.facts().Record() }

// receipt is the receipt of s.
func (s *sale) receipt() receipt.Receipt {
	name, mid, tid := s.t.identity()
	return s.facts().Receipt(name, mid, tid)
}

// maskedPAN is the card number masked, or the original's when no card was
// read (void, completion).
func (s *sale) maskedPAN() string {
	if c := s.first.Card; !c.PAN.IsZero() {
		return c.PAN.Masked()
	}
	return s.masked
}
