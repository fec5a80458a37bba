package cupmsg

import (
	"fmt"
	"strconv"
	"strings"
)

// Field60 is the dialect's field 60, "reserved private", whose sub-fields
// say what a message is for.
type Field60 struct {
	MsgType   string // 60.1 n2: transaction message type code ("22" sale, "00" management...)
	Batch     uint32 // 60.2 n6: batch number
	NetCode   string // 60.3 n3: network management information code ("003" sign-on, "201" settlement...)
	TermCap   string // 60.4 n1: terminal read capability ("6" chip and contactless); financial only
	ICCond    string // 60.5 n1: IC condition code ("0" normal, "2" fallback); financial only
	Partial   string // 60.6 n1: partial approval supported ("0"/"1"); optional
	AcctType  string // 60.7 n3: account type; optional
	Remainder string // digits beyond 60.7, kept for byte-exact re-packing
}

// String packs the sub-fields into field 60's digits, stopping after the
// last sub-field that is set.
func (f Field60) String() string {
	var b strings.Builder
	b.WriteString(pad(f.MsgType, 2))
	fmt.Fprintf(&b, "%06d", f.Batch%1000000)
	b.WriteString(pad(f.NetCode, 3))
	tail := []struct {
		v string
		n int
	}{{f.TermCap, 1}, {f.ICCond, 1}, {f.Partial, 1}, {f.AcctType, 3}}
	last := -1
	for i, t := range tail {
		if t.v != "" {
			last = i
		}
	}
	for i := 0; i <= last; i++ {
		b.WriteString(pad(tail[i].v, tail[i].n))
	}
	if last == len(tail)-1 {
		b.WriteString(f.Remainder)
	}
	return b.String()
}

// ParseField60 splits field 60's digits into sub-fields. A field shorter
// than 60.1 and 60.2 (8 digits) is an error; everything after is optional.
func ParseField60(s string) (Field60, error) {
	var f Field60
	if len(s) < 8 {
		return f, fmt.Errorf("%w: field 60 has %d digits, want at least 8", ErrMessage, len(s))
	}
	f.MsgType = s[:2]
	batch, err := strconv.ParseUint(s[2:8], 10, 32)
	if err != nil {
		return f, fmt.Errorf("%w: field 60.2 not numeric", ErrMessage)
	}
	f.Batch = uint32(batch)
	rest := s[8:]
	take := func(n int) string {
		if len(rest) < n {
			v := rest
			rest = ""
			return v
		}
		v := rest[:n]
		rest = rest[n:]
		return v
	}
	f.NetCode = take(3)
	f.TermCap = take(1)
	f.ICCond = take(1)
	f.Partial = take(1)
	f.AcctType = take(3)
	f.Remainder = rest
	return f, nil
}

// pad right-fills s with '0' to n characters, or cuts it to n.
func pad(s string, n int) string {
	if len(s) >= n {
		return s[:n]
	}
	return s + strings.Repeat("0", n-len(s))
}

// Field61 is the original message a void, refund, completion or query
// points to.
type Field61 struct {
	Batch uint32 // 61.1 n6
	Trace uint32 // 61.2 n6
	Date  string // 61.3 n4 MMDD, optional
}

// String packs field 61.
func (f Field61) String() string {
	s := fmt.Sprintf("%06d%06d", f.Batch%1000000, f.Trace%1000000)
	if f.Date != "" {
		s += pad(f.Date, 4)
	}
	return s
}

// ParseField61 reads field 61's first sub-fields.
func ParseField61(s string) (Field61, error) {
	var f Field61
	if len(s) < 12 {
		return f, fmt.Errorf("%w: field 61 has %d digits, want at least 12", ErrMessage, len(s))
	}
	b, err1 := strconv.ParseUint(s[:6], 10, 32)
	t, err2 := strconv.ParseUint(s[6:12], 10, 32)
	if err1 != nil || err2 != nil {
		return f, fmt.Errorf("%w: field 61 not numeric", ErrMessage)
	}
	f.Batch, f.Trace = uint32(b), uint32(t)
	if len(s) >= 16 {
		f.Date = s[12:16]
	}
	return f, nil
}

// Totals are the settlement totals of field 48 for one card family: debits
// (sales, completions) and credits (refunds, voids).
type Totals struct {
	DebitAmount  int64
	DebitCount   int
	CreditAmount int64
	CreditCount  int
}

// Reconciliation codes a host returns in field 48 of a 0510.
const (
	ReconBalanced   = "1" // totals agree
	ReconUnbalanced = "2" // totals differ: upload the batch
	ReconError      = "3" // the host could not reconcile
)

// Field48 is the settlement field: domestic totals and reconciliation
// code, then foreign-card totals and their code (62 digits in all).
type Field48 struct {
	Domestic      Totals
	DomesticRecon string
	Foreign       Totals
	ForeignRecon  string
}

func totalsString(t Totals, code string) string {
	return fmt.Sprintf("%012d%03d%012d%03d%s", t.DebitAmount%1e12, t.DebitCount%1000,
		t.CreditAmount%1e12, t.CreditCount%1000, pad(code, 1))
}

// String packs field 48.
func (f Field48) String() string {
	return totalsString(f.Domestic, f.DomesticRecon) + totalsString(f.Foreign, f.ForeignRecon)
}

// isDigits reports whether s is non-empty and all ASCII digits (no sign).
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseTotals(s string) (Totals, string, error) {
	if !isDigits(s[:30]) {
		return Totals{}, "", fmt.Errorf("%w: field 48 totals not numeric", ErrMessage)
	}
	da, err1 := strconv.ParseInt(s[0:12], 10, 64)
	dc, err2 := strconv.Atoi(s[12:15])
	ca, err3 := strconv.ParseInt(s[15:27], 10, 64)
	cc, err4 := strconv.Atoi(s[27:30])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return Totals{}, "", fmt.Errorf("%w: field 48 totals not numeric", ErrMessage)
	}
	return Totals{DebitAmount: da, DebitCount: dc, CreditAmount: ca, CreditCount: cc}, s[30:31], nil
}

// ParseField48 reads the settlement totals.
func ParseField48(s string) (Field48, error) {
	var f Field48
	if len(s) < 31 {
		return f, fmt.Errorf("%w: field 48 has %d digits, want 31 or 62", ErrMessage, len(s))
	}
	var err error
	if f.Domestic, f.DomesticRecon, err = parseTotals(s[:31]); err != nil {
		return f, err
	}
	if len(s) >= 62 {
		if f.Foreign, f.ForeignRecon, err = parseTotals(s[31:62]); err != nil {
			return f, err
		}
	}
	return f, nil
}

// Field54 is a balance as field 54 carries it: account type, amount type,
// currency, sign and amount (20 characters).
type Field54 struct {
	AccountType string // "10" savings/debit, "30" credit
	AmountType  string // "02" available balance
	Currency    string // "156"
	Amount      int64  // signed, minor units
}

// String packs field 54.
func (f Field54) String() string {
	sign, amt := "C", f.Amount
	if amt < 0 {
		sign, amt = "D", -amt
	}
	return pad(f.AccountType, 2) + pad(f.AmountType, 2) + pad(f.Currency, 3) + sign + fmt.Sprintf("%012d", amt%1e12)
}

// ParseField54 reads a balance.
func ParseField54(s string) (Field54, error) {
	var f Field54
	if len(s) < 20 {
		return f, fmt.Errorf("%w: field 54 has %d characters, want 20", ErrMessage, len(s))
	}
	amt, err := strconv.ParseInt(s[8:20], 10, 64)
	if err != nil || !isDigits(s[8:20]) {
		return f, fmt.Errorf("%w: field 54 amount not numeric", ErrMessage)
	}
	switch s[7] {
	case 'C':
	case 'D':
		amt = -amt
	default:
		return f, fmt.Errorf("%w: field 54 sign must be C or D", ErrMessage)
	}
	f.AccountType, f.AmountType, f.Currency, f.Amount = s[:2], s[2:4], s[4:7], amt
	return f, nil
}
