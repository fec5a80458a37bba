package qr

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors callers branch on. Every error this package returns wraps
// one of them.
var (
	// ErrMalformed reports a payload whose structure is broken: a bad
	// ID-length-value sequence, a missing or invalid mandatory data object, a
	// truncated code.
	ErrMalformed = errors.New("qr: malformed payload")
	// ErrCRC reports a merchant-presented payload (or a K-code QR) whose
	// checksum does not match its contents: a damaged or altered code.
	ErrCRC = errors.New("qr: checksum mismatch")
	// ErrNotPaymentCode reports a scanned code that is not a consumer's
	// payment code: a web address, a merchant code, a foreign or truncated
	// code. The terminal asks for a rescan and never treats it as a payment.
	ErrNotPaymentCode = errors.New("qr: not a payment code")
)

// FieldError names the data object (EMVCo ID, or BER-TLV tag in hex for a
// consumer-presented payload) where parsing or validation failed.
type FieldError struct {
	ID  string
	Err error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("qr: data object %s: %s", e.ID, strings.TrimPrefix(e.Err.Error(), "qr: "))
}

func (e *FieldError) Unwrap() error { return e.Err }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

func fieldErr(id string, err error) error { return &FieldError{ID: id, Err: err} }
