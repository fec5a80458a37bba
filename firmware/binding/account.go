package binding

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"kpos/hal"
)

// ErrAccountNumber reports a typed account number that is not a card number:
// wrong length, not digits, or a failed Luhn check (a typo).
var ErrAccountNumber = errors.New("binding: not a valid card number")

// AccountRef is the host's answer to an account verification: the account
// holder's name, masked by the host (e.g. "*小明"), and the host's reference
// for the account, which settlement uses instead of the number.
type AccountRef struct {
	HolderMasked string
	Reference    string
}

// SettlementAccount is the merchant's own bank card as the terminal keeps it:
// masked number, masked holder and the host's reference, never the number.
type SettlementAccount struct {
	PANMasked    string    `json:"pan_masked"`
	HolderMasked string    `json:"holder_masked"`
	Reference    string    `json:"reference"`
	Verified     time.Time `json:"verified"`
}

// String is the line settings and settlement reports show.
func (a SettlementAccount) String() string {
	return fmt.Sprintf("%s %s", a.PANMasked, a.HolderMasked)
}

// ParseAccountNumber checks a card number the merchant typed: spaces and
// dashes allowed, 12 to 19 digits, Luhn check digit right. The error never
// contains the digits.
func ParseAccountNumber(typed string) (hal.PAN, error) {
	s := strings.NewReplacer(" ", "", "-", "").Replace(typed)
	p, err := hal.ParsePAN(s)
	if err != nil {
		return hal.PAN{}, fmt.Errorf("%w: a card number has 12 to 19 digits", ErrAccountNumber)
	}
	if !hal.LuhnValid(s) {
		return hal.PAN{}, fmt.Errorf("%w: check digit does not match (typo?)", ErrAccountNumber)
	}
	return p, nil
}
