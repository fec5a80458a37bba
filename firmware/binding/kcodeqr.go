package binding

import (
	"fmt"
	"strings"
	"time"

	"kpos/firmware/qr"
)

// The K-code QR form, as printed on the bank's letter:
//
//	KPOS1:<bank>:<K code, 16 characters>:<expiry YYYYMMDD>:<CRC>
//
// where <bank> is the three-digit bank code, the expiry is the last day the
// code may be used (in the terminal's local time) and <CRC> is
// CRC-16/CCITT-FALSE, four upper-case hex digits, over everything before it
// including the last ':'. docs/kcode.md describes it in full.

const expiryLayout = "20060102"

// EncodeKCodeQR returns the QR text for k, usable until the end of the day
// expiry falls on.
func EncodeKCodeQR(k KCode, expiry time.Time) string {
	s := fmt.Sprintf("%s%s:%s:%s:", qr.KCodePrefix, k.Bank, k.text, expiry.Format(expiryLayout))
	return s + qr.CRC16Hex(s)
}

// ParseKCodeQR parses and checks a scanned K-code QR: envelope and CRC, the
// bank (known, and the one the code itself names), the K code with its check
// character, and the expiry against now (the code is usable to the end of its
// expiry day in now's location). Errors wrap ErrKCodeQR, ErrKCode,
// ErrUnknownBank, ErrForeignBank or ErrExpired; nothing has been sent.
func ParseKCodeQR(text string, now time.Time) (KCode, error) {
	t := strings.TrimSpace(text)
	if err := qr.CheckKCodeEnvelope(t); err != nil {
		return KCode{}, fmt.Errorf("%w: %w", ErrKCodeQR, err)
	}
	f := strings.Split(t, ":")
	if len(f) != 5 {
		return KCode{}, fmt.Errorf("%w: %d fields, want 5", ErrKCodeQR, len(f))
	}
	bank, codeText, exp := f[1], f[2], f[3]
	if len(bank) != 3 || strings.Trim(bank, "0123456789") != "" {
		return KCode{}, fmt.Errorf("%w: bank field is not three digits", ErrKCodeQR)
	}
	if _, ok := LookupBank(bank); !ok {
		return KCode{}, fmt.Errorf("%w: bank %s", ErrUnknownBank, bank)
	}
	if len(codeText) != KCodeLen || normalize(codeText) != codeText {
		return KCode{}, fmt.Errorf("%w: code field is not %d upper-case characters", ErrKCodeQR, KCodeLen)
	}
	k, err := ParseKCode(codeText)
	if err != nil {
		return KCode{}, fmt.Errorf("%w: %w", ErrKCodeQR, err)
	}
	if k.Bank != bank {
		return KCode{}, fmt.Errorf("%w: the QR names %s but the code belongs to %s", ErrForeignBank, bankName(bank), bankName(k.Bank))
	}
	day, err := time.ParseInLocation(expiryLayout, exp, now.Location())
	if err != nil || len(exp) != 8 {
		return KCode{}, fmt.Errorf("%w: expiry %q is not a date YYYYMMDD", ErrKCodeQR, exp)
	}
	if !now.Before(day.AddDate(0, 0, 1)) {
		return KCode{}, fmt.Errorf("%w: this K code could be used until %s; ask the bank for a new one", ErrExpired, day.Format("2006-01-02"))
	}
	k.Expiry = day
	return k, nil
}
