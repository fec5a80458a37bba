package settlement

import (
	"time"

	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/checks"
)

// Binding is what settlement reads of the bank's binding (firmware/binding's
// *Binder satisfies it).
type Binding interface {
	Record() binding.Record
	Params() (binding.Params, error)
}

// Bound is m with what the binding b says of it: the settlement account,
// the fees and the settlement time.
func Bound(m Merchant, b Binding) Merchant {
	if r := b.Record(); r.Account != nil {
		m.Account = r.Account.PANMasked
	}
	if p, err := b.Params(); err == nil {
		m.Fees = func(method string, amount int64) int64 {
			return p.Fee(checks.MethodOf(journal.Method(method), false), amount)
		}
	}
	m.NextSettlement = func(now time.Time) (time.Time, error) {
		p, err := b.Params()
		if err != nil {
			return time.Time{}, err
		}
		return p.NextSettlement(now)
	}
	return m
}
