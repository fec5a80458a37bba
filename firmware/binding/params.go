package binding

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"kpos/firmware/txrules"
)

// Method is a payment method as the binding's parameters name it.
type Method string

// The payment methods.
const (
	MethodCard       Method = "card"        // chip, contactless or stripe
	MethodQR         Method = "qr"          // the customer's payment code, scanned by the terminal
	MethodMerchantQR Method = "merchant-qr" // the terminal's code, scanned by the customer
	MethodCash       Method = "cash"        // recorded only; no limits, no fee
)

// Errors of Params.Allow, for the terminal to branch on.
var (
	ErrMethodNotAccepted = errors.New("binding: payment method not accepted")
	ErrTxnLimit          = errors.New("binding: over the per-transaction limit")
	ErrDailyLimit        = errors.New("binding: over the daily limit")
	ErrBadParams         = errors.New("binding: bad parameters")
)

// Params are what the host delivers with the binding and the terminal
// enforces. Amounts are in fen; fees in basis points (1/100 of a percent).
type Params struct {
	TxnLimit       int64          `json:"txn_limit_fen"`   // largest single sale
	DailyLimit     int64          `json:"daily_limit_fen"` // largest total of sales per day
	FeeBP          map[Method]int `json:"fee_bp"`          // merchant fee per method
	SettlementTime string         `json:"settlement_time"` // "HH:MM", local time
	HostAddr       string         `json:"host_addr"`       // host:port
	APN            string         `json:"apn"`             // cellular access point name
	Methods        []Method       `json:"methods"`         // accepted payment methods
}

// Validate checks that the parameters make sense before they are stored.
func (p Params) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadParams, fmt.Sprintf(format, args...))
	}
	if p.TxnLimit <= 0 || p.DailyLimit <= 0 {
		return bad("limits must be positive")
	}
	if p.TxnLimit > p.DailyLimit {
		return bad("per-transaction limit %s is over the daily limit %s", Yuan(p.TxnLimit), Yuan(p.DailyLimit))
	}
	if _, err := p.settleClock(); err != nil {
		return err
	}
	if _, port, err := net.SplitHostPort(p.HostAddr); err != nil || port == "" {
		return bad("host address %q is not host:port", p.HostAddr)
	}
	if len(p.Methods) == 0 {
		return bad("no payment method accepted")
	}
	for _, m := range p.Methods {
		if !m.known() {
			return bad("unknown payment method %q", m)
		}
	}
	for m, bp := range p.FeeBP {
		if !m.known() {
			return bad("fee for unknown payment method %q", m)
		}
		if bp < 0 || bp > 10000 {
			return bad("fee of %d basis points for %s", bp, m)
		}
	}
	return nil
}

func (m Method) known() bool {
	switch m {
	case MethodCard, MethodQR, MethodMerchantQR, MethodCash:
		return true
	}
	return false
}

// Accepts reports whether the binding allows method m.
func (p Params) Accepts(m Method) bool {
	for _, a := range p.Methods {
		if a == m {
			return true
		}
	}
	return false
}

// Allow decides whether a sale of amount fen by method m may go ahead, given
// what has already been sold today by every method. The limits cover every
// method, cash included, so that the day's takings stay within what the
// acquirer agreed to.
// It runs before the card is read or the code sent. Errors wrap
// ErrMethodNotAccepted, ErrTxnLimit or ErrDailyLimit and give the figures.
func (p Params) Allow(m Method, amount, spentToday int64) error {
	if !p.Accepts(m) {
		return fmt.Errorf("%w: this terminal is not bound for %s payments", ErrMethodNotAccepted, m)
	}
	// The limits are the rule book's (firmware/txrules), which the host
	// applies too.
	err := txrules.Check(txrules.Action{Kind: txrules.Sale, Amount: amount,
		Limits: &txrules.Limits{PerTxn: p.TxnLimit, Daily: p.DailyLimit, SpentToday: spentToday}})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, txrules.ErrTxnLimit):
		return fmt.Errorf("%w: %s is over the per-transaction limit of %s", ErrTxnLimit, Yuan(amount), Yuan(p.TxnLimit))
	case errors.Is(err, txrules.ErrDailyLimit):
		left := max(p.DailyLimit-spentToday, 0)
		return fmt.Errorf("%w: %s would bring today's total to %s, over the daily limit of %s (%s left)",
			ErrDailyLimit, Yuan(amount), Yuan(spentToday+amount), Yuan(p.DailyLimit), Yuan(left))
	}
	return fmt.Errorf("binding: amount %s: %w", Yuan(amount), err)
}

// Fee returns the merchant's fee in fen for a payment of amount fen by m,
// rounded half up. Cash has no fee.
func (p Params) Fee(m Method, amount int64) int64 {
	bp := int64(p.FeeBP[m])
	if m == MethodCash || bp == 0 || amount <= 0 {
		return 0
	}
	return (amount*bp + 5000) / 10000
}

// settleClock parses SettlementTime into hours and minutes.
func (p Params) settleClock() (time.Duration, error) {
	t, err := time.Parse("15:04", p.SettlementTime)
	if err != nil || len(p.SettlementTime) != 5 {
		return 0, fmt.Errorf("%w: settlement time %q is not HH:MM", ErrBadParams, p.SettlementTime)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// NextSettlement returns the first settlement time after now, in now's
// location.
func (p Params) NextSettlement(now time.Time) (time.Time, error) {
	d, err := p.settleClock()
	if err != nil {
		return time.Time{}, err
	}
	y, mo, day := now.Date()
	at := time.Date(y, mo, day, 0, 0, 0, 0, now.Location()).Add(d)
	if !at.After(now) {
		at = time.Date(y, mo, day+1, 0, 0, 0, 0, now.Location()).Add(d)
	}
	return at, nil
}

// Yuan formats fen as "¥1,234.56".
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	whole := strconv.FormatInt(fen/100, 10)
	for i := len(whole) - 3; i > 0; i -= 3 {
		whole = whole[:i] + "," + whole[i:]
	}
	return fmt.Sprintf("%s¥%s.%02d", sign, whole, fen%100)
}
