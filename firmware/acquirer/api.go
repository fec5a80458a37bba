package acquirer

import (
	"errors"
	"time"

	"kpos/hal"
)

// This file is the acquirer link's contract with the transaction state
// machine: requests and answers in the terminal's terms, free of field
// numbers. The message spec maps them to the wire.

// Kind is a transaction kind as the host knows it.
type Kind int

// The kinds.
const (
	KindSale Kind = iota + 1
	KindVoid
	KindRefund
	KindBalance
	KindPreAuth
	KindPreAuthComplete
	KindPreAuthVoid
	KindQRSale
	KindQRQuery
	// KindOfflineAdvice tells the host of a sale the card approved offline
	// (TC): an advice (0220) the host must accept; sent again until answered.
	KindOfflineAdvice
	// KindCompletionVoid (预授权完成撤销) cancels a completion of the open
	// batch; the pre-authorization is open again.
	KindCompletionVoid
)

// EntryMode says how the card was read (field 22).
type EntryMode int

// The entry modes.
const (
	EntryChip        EntryMode = iota + 1 // 05x
	EntryContactless                      // 07x
	EntryStripe                           // 02x
	EntryFallback                         // 80x: stripe after a chip failure
	EntryManual                           // 01x
	EntryQR                               // 03x
)

// Request is one financial request.
type Request struct {
	Kind      Kind
	Trace     uint32 // STAN, field 11, 1..999999
	Batch     uint32 // field 60.2
	Amount    int64  // minor units
	Currency  uint16
	PAN       hal.PAN
	Expiry    string // YYMM
	PANSeq    string // field 23
	Track2    []byte // field 35 as read
	Entry     EntryMode
	PIN       *hal.PINBlock // field 52 (and 53 security info)
	ICCData   []byte        // field 55
	QRCode    string        // consumer-presented payment code
	OrigTrace uint32        // void, refund, completion: the original
	OrigRRN   string        // field 37 of the original
	OrigAuth  string        // field 38 of the original
	OrigDate  string        // MMDD of the original
	Time      time.Time
	OrigBatch uint32 // field 61.1 of void, refund, completion, QR query (Batch when zero)

	// PINEntered says the original carried a PIN (field 22 digit 3 = 1)
	// when PIN is nil: a reversal, which never carries the PIN block.
	PINEntered bool
}

// Response is the host's answer.
type Response struct {
	Code     string // field 39
	AuthCode string // field 38
	RRN      string // field 37
	HostTime time.Time
	ICCData  []byte // field 55 from the issuer: 91, 71, 72
	Balance  int64  // balance inquiry, minor units
	Message  string // the host's text, when it sends one
	// IssuerID and AcquirerID are field 44's institution codes, for the
	// slip's 发卡行 and 收单行 lines.
	IssuerID, AcquirerID string
	// QRPayload is the code the host issued for a merchant-presented QR
	// order (field 59), to show to the customer.
	QRPayload string
	// Requirement is the header's processing requirement: the host asks for
	// a new sign-on (RequireSignOn), a parameter or CA-key download.
	Requirement int
}

// Approved reports whether the host approved.
func (r Response) Approved() bool { return r.Code == "00" || r.Code == "10" || r.Code == "11" }

// Errors the state machine branches on. Whether money can be in doubt decides
// between "try again" and "reverse".
var (
	// ErrNotSent: the request never left the terminal (dial failed, nothing
	// written). No money moved; no reversal is needed.
	ErrNotSent = errors.New("acquirer: request not sent")
	// ErrNoAnswer: the request was written but no valid answer came back
	// (timeout, dropped connection, bad MAC, garbage, wrong STAN). Money may
	// have moved; the caller reverses.
	ErrNoAnswer = errors.New("acquirer: no valid answer")
)
