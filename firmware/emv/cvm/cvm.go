// Package cvm is the card's cardholder verification method list (tag 8E)
// as EMV 4.x Book 3 10.5 and Annex C3 define it: parsing the list, which
// methods the terminal supports, whether a rule's condition holds, and the
// walk through the rules that yields the CVM Results (9F34). It knows
// nothing of the card, the PIN pad or the kernel's session: the kernel
// performs the method a rule names, through the function it passes to Run.
package cvm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Method codes (the low six bits of a rule's first byte).
const (
	Fail               = 0x00
	PlainPINICC        = 0x01
	EncPINOnline       = 0x02
	PlainPINSignature  = 0x03
	EncPINICC          = 0x04
	EncPINICCSignature = 0x05
	Signature          = 0x1E
	NoCVM              = 0x1F
	applyNext          = 0x40
)

// CVM Results (9F34) byte 3.
const (
	ResultUnknown    = 0x00
	ResultFailed     = 0x01
	ResultSuccessful = 0x02
)

// Terminal capabilities byte 2 (9F33): which methods the terminal supports.
const (
	CapPlainPIN  = 0x80
	CapOnlinePIN = 0x40
	CapSignature = 0x20
	CapEncPINICC = 0x10
	CapNoCVM     = 0x08
)

// maxRules bounds the rules of one list.
const maxRules = 64

// Errors of ParseList.
var (
	// ErrMissing reports a list that is absent or holds no rule: ICC data
	// missing, cardholder verification not successful.
	ErrMissing = errors.New("cvm: list missing")
	// ErrFormat reports a list of odd length or with too many rules.
	ErrFormat = errors.New("cvm: list malformed")
)

// Rule is one CV rule: the method code (with the "apply next" bit) and the
// condition code.
type Rule struct{ Code, Condition byte }

// Method is the rule's method code without the "apply next" bit.
func (r Rule) Method() byte { return r.Code & 0x3F }

// List is a parsed CVM list: the amounts X and Y and the rules in order.
type List struct {
	X, Y  int64
	Rules []Rule
}

// ParseList parses the value of tag 8E.
func ParseList(b []byte) (List, error) {
	if len(b) < 10 {
		return List{}, ErrMissing
	}
	if len(b)%2 != 0 || (len(b)-8)/2 > maxRules {
		return List{}, fmt.Errorf("%w: length %d", ErrFormat, len(b))
	}
	l := List{X: int64(binary.BigEndian.Uint32(b[0:4])), Y: int64(binary.BigEndian.Uint32(b[4:8]))}
	for i := 8; i+1 < len(b); i += 2 {
		l.Rules = append(l.Rules, Rule{Code: b[i], Condition: b[i+1]})
	}
	return l, nil
}

// Capability returns 9F33 byte 2 as it applies to a transaction: the
// terminal's own for contact; for contactless, below the CVM limit only
// "no CVM", at or above it the configured contactless methods (when set)
// or the terminal's without "no CVM".
func Capability(terminal byte, contactless, belowLimit bool, configured byte) byte {
	switch {
	case !contactless:
		return terminal
	case belowLimit:
		return CapNoCVM
	case configured != 0:
		return configured
	}
	return terminal &^ CapNoCVM
}

// Supported reports whether a terminal with capabilities caps supports
// method code.
func Supported(code, caps byte) bool {
	switch code {
	case PlainPINICC:
		return caps&CapPlainPIN != 0
	case EncPINOnline:
		return caps&CapOnlinePIN != 0
	case PlainPINSignature:
		return caps&CapPlainPIN != 0 && caps&CapSignature != 0
	case EncPINICC:
		return caps&CapEncPINICC != 0
	case EncPINICCSignature:
		return caps&CapEncPINICC != 0 && caps&CapSignature != 0
	case Signature:
		return caps&CapSignature != 0
	case NoCVM:
		return caps&CapNoCVM != 0
	case Fail:
		return true
	}
	return false
}

// Known reports whether code is a method this terminal knows at all.
func Known(code byte) bool {
	switch code {
	case Fail, PlainPINICC, PlainPINSignature, EncPINICC, EncPINICCSignature, EncPINOnline, Signature, NoCVM:
		return true
	}
	return false
}

// Context is what the conditions depend on.
type Context struct {
	Cash         bool  // a cash transaction
	Unattended   bool  // terminal type x4 to x6
	SameCurrency bool  // the application currency (9F42) is the transaction's
	Amount       int64 // the authorised amount
	OtherAmount  int64 // cashback
	Capabilities byte  // 9F33 byte 2 as it applies (see Capability)
}

// ConditionMet evaluates rule r's condition code (Book 3 Annex C3).
func (l List) ConditionMet(r Rule, c Context) bool {
	switch r.Condition {
	case 0x00:
		return true
	case 0x01:
		return c.Unattended && c.Cash
	case 0x02:
		return !c.Cash && c.OtherAmount == 0
	case 0x03:
		return Supported(r.Method(), c.Capabilities)
	case 0x04:
		return !c.Unattended && c.Cash
	case 0x05:
		return c.OtherAmount > 0
	case 0x06:
		return c.SameCurrency && c.Amount < l.X
	case 0x07:
		return c.SameCurrency && c.Amount > l.X
	case 0x08:
		return c.SameCurrency && c.Amount < l.Y
	case 0x09:
		return c.SameCurrency && c.Amount > l.Y
	}
	return false
}

// Run walks the rules in order (Book 3 10.5): perform is called for each
// rule whose condition holds, and the walk stops at its first success, or
// at a failure of a rule without "apply next". It returns the CVM Results
// and whether verification succeeded; an error of perform ends the walk.
func (l List) Run(c Context, perform func(Rule) (ok bool, result byte, err error)) ([3]byte, bool, error) {
	var last *Rule
	for i, r := range l.Rules {
		if !l.ConditionMet(r, c) {
			continue
		}
		last = &l.Rules[i]
		ok, result, err := perform(r)
		if err != nil {
			return [3]byte{}, false, err
		}
		if ok {
			return [3]byte{r.Code, r.Condition, result}, true, nil
		}
		if r.Code&applyNext == 0 {
			break
		}
	}
	if last == nil {
		return [3]byte{0x3F, 0x00, ResultFailed}, false, nil
	}
	return [3]byte{last.Code, last.Condition, ResultFailed}, false, nil
}
