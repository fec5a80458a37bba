package journal

// The journal's values and the rules over them live in firmware/journal/entry;
// these names keep them the journal's own for its callers.

import "kpos/firmware/journal/entry"

// The values a caller reads and writes.
type (
	State        = entry.State
	Kind         = entry.Kind
	Method       = entry.Method
	Sensitive    = entry.Sensitive
	Txn          = entry.Txn
	Slip         = entry.Slip
	Sum          = entry.Sum
	MethodTotals = entry.MethodTotals
	Family       = entry.Family
	Totals       = entry.Totals
	SettleStep   = entry.SettleStep
	HostAnswer   = entry.HostAnswer
	Settlement   = entry.Settlement
	ClosedBatch  = entry.ClosedBatch
	Stats        = entry.Stats
)

// The states, kinds, methods and settlement steps (entry documents each).
const (
	Pending         = entry.Pending
	Approved        = entry.Approved
	Completed       = entry.Completed
	Declined        = entry.Declined
	ReversalPending = entry.ReversalPending
	Reversed        = entry.Reversed
	Voided          = entry.Voided

	Sale    = entry.Sale
	Void    = entry.Void
	Refund  = entry.Refund
	Balance = entry.Balance
	PreAuth = entry.PreAuth
	Cash    = entry.Cash

	Chip        = entry.Chip
	Contactless = entry.Contactless
	Stripe      = entry.Stripe
	QR          = entry.QR
	CashMethod  = entry.CashMethod

	StepStarted    = entry.StepStarted
	StepTotalsSent = entry.StepTotalsSent
	StepUploading  = entry.StepUploading
	StepUploadEnd  = entry.StepUploadEnd
)

// CountsToday reports whether x counts in its day's spending (entry.CountsToday).
func CountsToday(x Txn) bool { return entry.CountsToday(x) }
