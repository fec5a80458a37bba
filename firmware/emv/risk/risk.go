// Package risk is the terminal's decisions of EMV 4.x Book 3 10.6 and
// 10.7 as pure functions over values: random transaction selection and
// velocity checking (terminal risk management), and terminal action
// analysis, which compares the TVR with the terminal's and the issuer's
// action codes to choose the cryptogram of the first GENERATE AC. It knows
// nothing of the card or the kernel's session: the kernel reads the data,
// sets the bits these functions return and sends the command.
package risk

import (
	"encoding/binary"

	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/genac"
	"kpos/firmware/emv/status"
)

// SelectionPercent is the probability, in percent, that a transaction of
// amount under the floor limit is selected for online processing (Book 3
// 10.6.2): the target percentage, rising linearly from the threshold to
// the maximum percentage at the floor limit.
func SelectionPercent(aid *emvconfig.AIDConfig, amount, floor int64) int {
	p := aid.RandomTarget
	if th := aid.RandomThreshold; amount >= th && floor > th {
		p += int(int64(aid.RandomMax-aid.RandomTarget) * (amount - th) / (floor - th))
	}
	return p
}

// Velocity returns the TVR bits velocity checking sets (Book 3 10.6.3)
// from the ATC (9F36) and the last online ATC register (9F13) as GET DATA
// returned them (nil when refused), against the card's lower and upper
// consecutive offline limits.
func Velocity(atc, lastOnline []byte, lcol, ucol byte) []status.Bit {
	if len(atc) != 2 || len(lastOnline) != 2 {
		return []status.Bit{status.TVRLowerConsecutiveOfflineLimitExceeded, status.TVRUpperConsecutiveOfflineLimitExceeded}
	}
	a, l := int(binary.BigEndian.Uint16(atc)), int(binary.BigEndian.Uint16(lastOnline))
	diff := a - l
	if diff < 0 {
		diff = 0xFFFF
	}
	var out []status.Bit
	if diff > int(lcol) {
		out = append(out, status.TVRLowerConsecutiveOfflineLimitExceeded)
	}
	if diff > int(ucol) {
		out = append(out, status.TVRUpperConsecutiveOfflineLimitExceeded)
	}
	if l == 0 {
		out = append(out, status.TVRNewCard)
	}
	return out
}

// IACs are the card's issuer action codes as read, nil when absent.
type IACs struct {
	Denial, Online, Default []byte // tags 9F0E, 9F0F, 9F0D
}

// Action is terminal action analysis (Book 3 10.7): the cryptogram type
// to ask for in the first GENERATE AC. goOnline says the transaction must
// see the host whatever the TVR (forced online, or a kind only the host
// can answer).
func Action(tvr [5]byte, aid *emvconfig.AIDConfig, iac IACs, onlineCapable, goOnline bool) byte {
	if matches(tvr, aid.TACDenial, actionCode(iac.Denial, 0x00)) {
		return genac.AAC
	}
	if !onlineCapable {
		return DefaultAction(tvr, aid, iac)
	}
	if goOnline || matches(tvr, aid.TACOnline, actionCode(iac.Online, 0xFF)) {
		return genac.ARQC
	}
	return genac.TC
}

// DefaultAction is the cryptogram type when the terminal cannot go online
// (Book 3 10.7, and 10.9 when the host does not answer).
func DefaultAction(tvr [5]byte, aid *emvconfig.AIDConfig, iac IACs) byte {
	if matches(tvr, aid.TACDefault, actionCode(iac.Default, 0xFF)) {
		return genac.AAC
	}
	return genac.TC
}

// actionCode returns an issuer action code, or every bit at absent when
// the card sent none (or one not five bytes long).
func actionCode(v []byte, absent byte) [5]byte {
	var out [5]byte
	if len(v) != 5 {
		for i := range out {
			out[i] = absent
		}
		return out
	}
	copy(out[:], v)
	return out
}

// matches reports whether any TVR bit is set in tac or iac.
func matches(tvr, tac, iac [5]byte) bool {
	for i := range tvr {
		if tvr[i]&(tac[i]|iac[i]) != 0 {
			return true
		}
	}
	return false
}
