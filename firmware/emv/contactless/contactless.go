// Package contactless is the decisions of the quick contactless paths
// (qPBOC, and Visa's qVSDC-style kernel) as pure functions over values,
// EMV Contactless Book A 3.1 and the qPBOC/qVSDC specifications: the
// limits and the TTQ (9F66) before GPO, the cryptogram type a card
// reports, what a failed fDDA becomes, and the CVM from the TTQ and the
// card's CTQ (9F6C). It knows nothing of the card or the kernel's
// session: the kernel applies what these functions return.
package contactless

import (
	"errors"

	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/genac"
)

// ErrOverLimit reports an amount at or over the contactless transaction
// limit: the card must be inserted.
var ErrOverLimit = errors.New("contactless: amount at or over the contactless limit")

// Card Transaction Qualifiers (9F6C) bits.
const (
	ctqOnlinePIN      = 0x80 // byte 1: online PIN required
	ctqSignature      = 0x40 // byte 1: signature required
	ctqOnlineIfODA    = 0x20 // byte 1: go online if ODA fails and reader is online capable
	ctqSwitchIfODA    = 0x10 // byte 1: switch interface if ODA fails
	ctqCDCVMPerformed = 0x80 // byte 2: consumer device CVM performed
)

// TTQ (9F66) bits used here.
const (
	ttqOnlinePIN   = 0x04 // byte 1: online PIN supported
	ttqSignature   = 0x02 // byte 1: signature supported
	ttqOnlineReq   = 0x80 // byte 2: online cryptogram required
	ttqCVMRequired = 0x40 // byte 2: CVM required
)

// TTQ applies the contactless limits before GPO and returns the TTQ for
// this transaction (Book A 3.1): online required over the floor limit, for
// a zero amount or when forced; CVM required at or over the CVM limit.
func TTQ(cl emvconfig.Contactless, amount int64, forceOnline bool) ([4]byte, error) {
	if cl.TxnLimit > 0 && amount >= cl.TxnLimit {
		return [4]byte{}, ErrOverLimit
	}
	ttq := cl.TTQ
	ttq[1] &^= ttqOnlineReq | ttqCVMRequired
	if amount > cl.FloorLimit || amount == 0 || forceOnline {
		ttq[1] |= ttqOnlineReq
	}
	if amount >= cl.CVMLimit {
		ttq[1] |= ttqCVMRequired
	}
	return ttq, nil
}

// CID returns the cryptogram type of a quick path's GPO: 9F27 when the
// card sent it, otherwise from the Issuer Application Data (byte 5 bits
// 6-5, the Visa and UnionPay CVR layout).
func CID(cid, iad []byte) byte {
	if len(cid) == 1 {
		return cid[0]
	}
	if len(iad) < 5 {
		return genac.AAC
	}
	switch (iad[4] >> 4) & 0x03 {
	case 1:
		return genac.TC
	case 2:
		return genac.ARQC
	}
	return genac.AAC
}

// Outcome is what a quick path's offline approval becomes when its offline
// data authentication fails.
type Outcome int

// The outcomes.
const (
	Decline        Outcome = iota // decline offline
	Online                        // go online: the card allows it and the terminal can
	OtherInterface                // the card asks for the contact interface
)

// ODAFailed is the outcome of a failed fDDA, from the card's CTQ.
func ODAFailed(ctq []byte, onlineCapable bool) Outcome {
	switch {
	case len(ctq) == 2 && ctq[0]&ctqOnlineIfODA != 0 && onlineCapable:
		return Online
	case len(ctq) == 2 && ctq[0]&ctqSwitchIfODA != 0:
		return OtherInterface
	}
	return Decline
}

// CVM is the cardholder verification a quick path decided.
type CVM int

// The CVMs.
const (
	NoCVM     CVM = iota // none required (or none to do)
	CDCVM                // done on the phone
	OnlinePIN            // collect an online PIN
	Signature            // signature on the receipt
	Failed               // none the card and the terminal share
)

// ChooseCVM decides the CVM from the TTQ and the card's CTQ; online says
// the transaction goes to the host. It returns the CVM Results (9F34) as
// they stand before any PIN is collected.
func ChooseCVM(ttq, ctq []byte, online bool) (CVM, [3]byte) {
	if len(ttq) != 4 || ttq[1]&ttqCVMRequired == 0 {
		return NoCVM, [3]byte{0x1F, 0x00, 0x02}
	}
	none, sig := [3]byte{0x3F, 0x00, 0x00}, [3]byte{0x1E, 0x03, 0x00}
	card := len(ctq) == 2
	switch {
	case card && ctq[1]&ctqCDCVMPerformed != 0:
		return CDCVM, none
	case card && ctq[0]&ctqOnlinePIN != 0 && online && ttq[0]&ttqOnlinePIN != 0:
		return OnlinePIN, none
	case card && ctq[0]&ctqSignature != 0 && ttq[0]&ttqSignature != 0:
		return Signature, sig
	case online && ttq[0]&ttqOnlinePIN != 0:
		return OnlinePIN, none
	case ttq[0]&ttqSignature != 0:
		return Signature, sig
	}
	return Failed, none
}
