package emv

import (
	"context"
	"time"

	"kpos/hal"
)

// This file is the kernel's contract with the transaction state machine.
// Everything the terminal needs from a card transaction crosses here.

// TxnType is the EMV transaction type (tag 9C).
type TxnType byte

// The transaction types the terminal runs.
const (
	Purchase TxnType = 0x00
	Cash     TxnType = 0x01
	PreAuth  TxnType = 0x03
	Refund   TxnType = 0x20
	Balance  TxnType = 0x31
)

// Transaction is what the terminal asks the kernel to carry out.
type Transaction struct {
	Type        TxnType
	Amount      int64  // authorised amount in minor units (fen), tag 9F02
	OtherAmount int64  // cashback, tag 9F03
	Currency    uint16 // ISO 4217 numeric, 156 for CNY, tag 5F2A
	Country     uint16 // ISO 3166 numeric, 156 for China, tag 9F1A
	Time        time.Time
	Sequence    uint32 // terminal transaction sequence counter, tag 9F41
	ForceOnline bool   // the merchant or the terminal's rules want the host
}

// Candidate is an application the cardholder may choose.
type Candidate struct {
	AID      []byte
	Label    string
	Priority int // 1 is highest, 0 none
}

// Notice is something the kernel wants the cardholder to see.
type Notice int

// The notices.
const (
	NoticeProcessing   Notice = iota + 1 // reading the card
	NoticeRemoveCard                     // contactless: the card can be removed
	NoticeSeePhone                       // CDCVM: follow the phone's instructions, tap again
	NoticeTryAgain                       // a card error worth one more try
	NoticeInsertCard                     // contactless refused: use the chip
	NoticePINTriesLow                    // last offline PIN try
	NoticeUseOtherCard                   // no supported application
)

// Cardholder is how the kernel asks the person at the terminal.
type Cardholder interface {
	// ChooseApplication returns the index of the chosen candidate.
	ChooseApplication(ctx context.Context, apps []Candidate) (int, error)
	// OnlinePIN collects an online PIN for pan through the PIN pad.
	OnlinePIN(ctx context.Context, pan hal.PAN) (hal.PINBlock, error)
	// Notify shows a notice; it must not block on the cardholder.
	Notify(ctx context.Context, n Notice)
}

// Decision is what a GENERATE AC (or the terminal) decided.
type Decision int

// The decisions.
const (
	Declined      Decision = iota + 1 // AAC
	Approved                          // TC
	GoOnline                          // ARQC: ask the host
	TryOtherMeans                     // fall back (chip to stripe, tap to insert)
)

func (d Decision) String() string {
	switch d {
	case Declined:
		return "declined"
	case Approved:
		return "approved"
	case GoOnline:
		return "online"
	case TryOtherMeans:
		return "fallback"
	}
	return "unknown"
}

// CVM is the cardholder verification the kernel performed.
type CVM int

// The CVMs.
const (
	CVMNone CVM = iota
	CVMOnlinePIN
	CVMOfflinePIN
	CVMSignature
	CVMCDCVM
	CVMFailed
)

// CardData is what the card told the terminal, for the host message and the receipt.
type CardData struct {
	PAN         hal.PAN
	PANSequence string // tag 5F34 as two digits, "" when absent
	Expiry      string // YYMM
	Track2      []byte // tag 57 as the card sent it; never logged
	AID         []byte
	Label       string
	Interface   hal.CardInterface
}

// FirstResult is the state after the first GENERATE AC.
type FirstResult struct {
	Decision   Decision
	Card       CardData
	ICCData    []byte // the field 55 tag set, BER-TLV
	CVM        CVM
	PINBlock   *hal.PINBlock // set when the CVM was online PIN
	Signature  bool          // a signature line is needed on the receipt
	Cryptogram []byte        // tag 9F26
	CID        byte          // tag 9F27
	ATC        []byte        // tag 9F36
	TVR        [5]byte
	TSI        [2]byte
}

// HostResponse is what the acquirer answered, as the kernel needs it.
type HostResponse struct {
	Answered       bool   // false: no answer, bad MAC or link failure (unable to go online)
	Approved       bool   // the host approved
	ResponseCode   string // field 39, e.g. "00"
	IssuerAuthData []byte // tag 91
	Scripts        []byte // tags 71 and 72 templates as received
}

// FinalResult is the outcome of the transaction after the host.
type FinalResult struct {
	Decision      Decision
	Cryptogram    []byte // TC or AAC from the second GENERATE AC
	CID           byte
	ICCData       []byte // tag set for the TC upload / advice
	ScriptResults []byte // tag DF31 content, issuer script results
	// Reverse is set when the host approved but the card declined: the
	// terminal must reverse the authorization.
	Reverse bool
	TVR     [5]byte
	TSI     [2]byte
}

// Online is what the kernel keeps open while the terminal asks the host.
type Online interface {
	// Complete runs issuer authentication, scripts and the second GENERATE AC.
	Complete(ctx context.Context, resp HostResponse) (FinalResult, error)
}
