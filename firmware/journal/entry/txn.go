package entry

import (
	"fmt"
	"time"
)

// State is where a transaction stands.
type State string

// The states. Pending and Approved are "in doubt": a power cut leaves them to
// be reversed at the next boot.
const (
	Pending         State = "pending"          // written before the request went out; answer unknown
	Approved        State = "approved"         // host approved; the card has not finished
	Completed       State = "completed"        // approved end to end; counts in the batch
	Declined        State = "declined"         // host or card declined; nothing to undo
	ReversalPending State = "reversal-pending" // must be reversed before the next online transaction
	Reversed        State = "reversed"         // the host acknowledged the reversal
	Voided          State = "voided"           // cancelled by a void in the same batch
)

// InDoubt reports whether money may have moved without the terminal knowing
// the outcome.
func (s State) InDoubt() bool { return s == Pending || s == Approved }

// allowed lists the state changes a transaction may make.
var allowed = map[State][]State{
	Pending:         {Approved, Completed, Declined, ReversalPending},
	Approved:        {Completed, ReversalPending, Declined},
	Completed:       {ReversalPending, Voided},
	ReversalPending: {Reversed, ReversalPending},
	Declined:        {},
	Reversed:        {},
	Voided:          {},
}

// CanBecome reports whether a transaction in state s may change to to.
func (s State) CanBecome(to State) bool {
	for _, a := range allowed[s] {
		if a == to {
			return true
		}
	}
	return false
}

// Kind is the transaction type.
type Kind string

// The kinds.
const (
	Sale    Kind = "sale"
	Void    Kind = "void"
	Refund  Kind = "refund"
	Balance Kind = "balance"
	PreAuth Kind = "preauth"
	Cash    Kind = "cash"
)

// Method is how the customer paid.
type Method string

// The methods.
const (
	Chip        Method = "chip"
	Contactless Method = "contactless"
	Stripe      Method = "stripe"
	QR          Method = "qr"
	CashMethod  Method = "cash"
)

// Sensitive is card data that is sealed at rest and never listed.
type Sensitive struct {
	PAN     string `json:"pan,omitempty"`
	Track2  []byte `json:"t2,omitempty"`
	ICCData []byte `json:"icc,omitempty"`
	Expiry  string `json:"exp,omitempty"`
	PANSeq  string `json:"psn,omitempty"`
}

// Txn is one journaled transaction.
type Txn struct {
	Trace        uint32    `json:"trace"`
	Batch        uint32    `json:"batch"`
	Kind         Kind      `json:"kind"`
	Method       Method    `json:"method"`
	State        State     `json:"state"`
	Amount       int64     `json:"amount"` // minor units
	Currency     uint16    `json:"currency"`
	MaskedPAN    string    `json:"masked_pan,omitempty"`
	Entry        int       `json:"entry,omitempty"` // acquirer.EntryMode
	AID          string    `json:"aid,omitempty"`
	AppLabel     string    `json:"app_label,omitempty"`
	ResponseCode string    `json:"rc,omitempty"`
	AuthCode     string    `json:"auth,omitempty"`
	RRN          string    `json:"rrn,omitempty"`
	TC           string    `json:"tc,omitempty"` // hex of the final cryptogram
	Signature    bool      `json:"signature,omitempty"`
	PINVerified  bool      `json:"pin,omitempty"` // the cardholder entered a PIN (for the receipt)
	OrigTrace    uint32    `json:"orig_trace,omitempty"`
	Reason       string    `json:"reason,omitempty"` // why a reversal was queued
	Attempts     int       `json:"attempts,omitempty"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	HostTime     time.Time `json:"host_time,omitzero"`
	Printed      bool      `json:"printed,omitempty"`
	Slip         Slip      `json:"slip,omitzero"` // what only the slip prints

	// Cause is why the reversal was queued, as the acquirer's reversal
	// cause (acquirer.ReversalCause, opaque here); zero is a terminal
	// failure.
	Cause uint8 `json:"cause,omitempty"`
	// Advised says the host acknowledged the advice of this offline
	// approval (0220), which settlement needs first.
	Advised bool `json:"advised,omitempty"`

	// Secret is decrypted on read and sealed on write; it is never marshalled
	// in the clear.
	Secret Sensitive `json:"-"`
	Sealed []byte    `json:"sealed,omitempty"`
}

// String is a one-line summary with the masked PAN only.
func (t Txn) String() string {
	return fmt.Sprintf("trace %06d batch %06d %s/%s %s %d.%02d %s", t.Trace, t.Batch, t.Kind, t.Method,
		t.State, t.Amount/100, t.Amount%100, t.MaskedPAN)
}
