package entry

import (
	"strings"
	"time"

	"kpos/firmware/txkind"
)

// Books is how a record of kind k counts in the batch totals and the day's
// spending, as the one table of transaction kinds (firmware/txkind) says:
// sales of every method and completions are debits, refunds credits.
func Books(k Kind) txkind.Books { return txkind.BooksOf(string(k)) }

// IsDebit reports whether a record of kind k is a sale in the books.
func IsDebit(k Kind) bool { return Books(k) == txkind.Debit }

// Sum is a count of transactions and their amount in minor units.
type Sum struct {
	Count  int   `json:"n"`
	Amount int64 `json:"amount"`
}

func (s *Sum) Add(amount int64) {
	s.Count++
	s.Amount += amount
}

// MethodTotals are one payment method's figures in a batch.
type MethodTotals struct {
	Method  Method `json:"method"`
	Sales   Sum    `json:"sales"`   // completed sales, completions and cash sales
	Refunds Sum    `json:"refunds"` // completed refunds
	Voids   Sum    `json:"voids"`   // transactions cancelled by a void in the batch
}

// Net is sales minus refunds.
func (m MethodTotals) Net() int64 { return m.Sales.Amount - m.Refunds.Amount }

// Family is what the host reconciles for one card family: debits (sales,
// completions, QR sales) and credits (refunds). Cash never reaches the host
// and is not in it.
type Family struct {
	Debit  Sum `json:"debit"`
	Credit Sum `json:"credit"`
}

// Totals are a batch's figures. Only final states count: a completed
// transaction counts; a voided one counts under Voids and nowhere else;
// declined, reversed and in-doubt transactions do not count at all.
type Totals struct {
	Batch uint32 `json:"batch"`
	// Methods holds one entry per method, in the order chip, contactless,
	// stripe, qr, cash, then any other method met, always including the
	// five.
	Methods []MethodTotals `json:"methods"`
	Sales   Sum            `json:"sales"`
	Refunds Sum            `json:"refunds"`
	Voids   Sum            `json:"voids"`
	// Domestic (UnionPay cards, BIN 62, and QR) and Foreign are the figures
	// the host reconciles.
	Domestic Family `json:"domestic"`
	Foreign  Family `json:"foreign"`
	// Excluded counts the transactions of the batch that count nowhere:
	// declined, reversed, balance inquiries, pre-authorizations, the void
	// messages themselves.
	Excluded int `json:"excluded"`
	// Unresolved counts transactions still in doubt or queued for reversal.
	Unresolved int       `json:"unresolved"`
	First      time.Time `json:"first,omitzero"` // the batch's first counted transaction
	Last       time.Time `json:"last,omitzero"`  // and its last
}

// Net is sales minus refunds over every method.
func (t Totals) Net() int64 { return t.Sales.Amount - t.Refunds.Amount }

// Method returns the figures of m (zero when m is not in the batch).
func (t Totals) Method(m Method) MethodTotals {
	for _, mt := range t.Methods {
		if mt.Method == m {
			return mt
		}
	}
	return MethodTotals{Method: m}
}

// StandardMethods is the order of methods on reports.
var StandardMethods = []Method{Chip, Contactless, Stripe, QR, CashMethod}

// Class says where a transaction counts.
type Class int

const (
	ClassNone   Class = iota // counts nowhere
	ClassDebit               // a sale
	ClassCredit              // a refund
	ClassVoided              // cancelled by a void
	ClassUnresolved
)

func Classify(x *Txn) Class {
	switch x.State {
	case Pending, Approved, ReversalPending:
		return ClassUnresolved
	case Voided:
		return ClassVoided
	case Completed:
	default:
		return ClassNone
	}
	switch Books(x.Kind) {
	case txkind.Debit:
		return ClassDebit
	case txkind.Credit:
		return ClassCredit
	}
	return ClassNone
}

// NewTotals is an empty Totals of batch, with the standard methods.
func NewTotals(batch uint32) Totals {
	t := Totals{Batch: batch}
	for _, m := range StandardMethods {
		t.Methods = append(t.Methods, MethodTotals{Method: m})
	}
	return t
}

// Count adds (sign +1) or removes (-1) x of class c to the totals. It reports
// whether a removal may have moved First or Last, which then need reading
// again from the batch.
func (t *Totals) Count(x *Txn, c Class, sign int) (respan bool) {
	add := func(s *Sum) {
		s.Count += sign
		s.Amount += int64(sign) * x.Amount
	}
	switch c {
	case ClassNone:
		t.Excluded += sign
		return false
	case ClassUnresolved:
		t.Unresolved += sign
		return false
	}
	i := -1
	for k := range t.Methods {
		if t.Methods[k].Method == x.Method {
			i = k
		}
	}
	if i < 0 {
		i = len(t.Methods)
		t.Methods = append(t.Methods, MethodTotals{Method: x.Method})
	}
	mt := &t.Methods[i]
	fam := &t.Domestic
	if Foreign(x) {
		fam = &t.Foreign
	}
	switch c {
	case ClassDebit:
		add(&mt.Sales)
		add(&t.Sales)
		if !CashOnly(x) {
			add(&fam.Debit)
		}
	case ClassCredit:
		add(&mt.Refunds)
		add(&t.Refunds)
		if !CashOnly(x) {
			add(&fam.Credit)
		}
	case ClassVoided:
		add(&mt.Voids)
		add(&t.Voids)
	}
	if sign < 0 {
		if i >= len(StandardMethods) && mt.Sales.Count == 0 && mt.Refunds.Count == 0 && mt.Voids.Count == 0 {
			t.Methods = append(t.Methods[:i], t.Methods[i+1:]...)
		}
		return x.Created.Equal(t.First) || x.Created.Equal(t.Last)
	}
	if t.First.IsZero() || x.Created.Before(t.First) {
		t.First = x.Created
	}
	if x.Created.After(t.Last) {
		t.Last = x.Created
	}
	return false
}

// DayTotals are the running figures of one calendar day, every batch.
type DayTotals struct {
	// Sales counts what the daily limit counts (CountsToday).
	Sales Sum `json:"sales"`
}

// CountsToday reports whether x counts in its day's spending, the figure
// SalesOn keeps: sales, cash sales and completions of pre-authorizations
// that stand (completed) or may have moved money (pending, approved,
// queued for reversal); not declined, reversed or voided ones. It is the
// rule book's daily-limit rule (firmware/txrules.CountsToday), which the
// terminal's tests hold it to.
func CountsToday(x Txn) bool {
	return IsDebit(x.Kind) &&
		(x.State == Completed || x.State.InDoubt() || x.State == ReversalPending)
}

// CashOnly reports whether x never went to the host.
func CashOnly(x *Txn) bool { return x.Method == CashMethod || x.Kind == Cash }

// Foreign reports whether x is a card outside the domestic (UnionPay) family.
func Foreign(x *Txn) bool {
	return x.Method != QR && x.MaskedPAN != "" && !strings.HasPrefix(x.MaskedPAN, "62")
}

// Uploads reports whether x goes to the host in a batch upload.
func Uploads(x *Txn, c Class) bool { return (c == ClassDebit || c == ClassCredit) && !CashOnly(x) }

// KeepSAD says which sensitive data x may still keep in its present state;
// open is the open batch.
func KeepSAD(x *Txn, open uint32) (track2, icc bool) {
	switch x.State {
	case Pending, Approved, ReversalPending:
		return true, true
	case Completed:
		return false, x.Batch == open && Uploads(x, Classify(x)) && (x.Method == Chip || x.Method == Contactless)
	}
	return false, false
}
