package hostsim

import (
	"fmt"
	"time"

	"kpos/firmware/acquirer"
)

// Record is one thing the host did, as a test or the control interface
// sees it. PANs are masked.
type Record struct {
	Seq      int       `json:"seq"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"`           // sign-on, sign-off, authorization, reversal, settlement, batch-upload, batch-upload-end, activation, otp, binding-status, params, ca-keys, qr-paid, fault
	Kind     string    `json:"kind,omitempty"` // sale, void, refund, balance, pre-authorization...
	MTI      string    `json:"mti,omitempty"`
	TID      string    `json:"tid,omitempty"`
	Batch    uint32    `json:"batch,omitempty"`
	Trace    uint32    `json:"trace,omitempty"`
	PAN      string    `json:"pan,omitempty"` // masked
	Amount   int64     `json:"amount,omitempty"`
	Code     string    `json:"code,omitempty"`
	AuthCode string    `json:"auth_code,omitempty"`
	RRN      string    `json:"rrn,omitempty"`
	// Reversed is set on an authorization once a reversal undid it.
	Reversed bool `json:"reversed,omitempty"`
	// Voided is set on a sale once a void cancelled it.
	Voided bool `json:"voided,omitempty"`
	// Applied says whether the message changed a balance (false for a
	// repeated reversal, a duplicate, a decline).
	Applied bool `json:"applied,omitempty"`
	// Balanced is a settlement's outcome.
	Balanced bool   `json:"balanced,omitempty"`
	Note     string `json:"note,omitempty"`
	// Entry is how the card was read (field 22): chip, contactless,
	// stripe, fallback, manual, qr.
	Entry string `json:"entry,omitempty"`
	// OrigTrace is the original a void, refund, completion or query names
	// (field 61).
	OrigTrace uint32 `json:"orig_trace,omitempty"`
	// Reason is a reversal's reason code (field 39 of the 0400).
	Reason string `json:"reason,omitempty"`
	// Unanswered: the host processed the request but sent no usable
	// answer (amount trigger 99, or a fault that drops or garbles it).
	Unanswered bool `json:"unanswered,omitempty"`
}

// entryNames name field 22's entry modes in records.
var entryNames = map[acquirer.EntryMode]string{acquirer.EntryChip: "chip", acquirer.EntryContactless: "contactless",
	acquirer.EntryStripe: "stripe", acquirer.EntryFallback: "fallback", acquirer.EntryManual: "manual", acquirer.EntryQR: "qr"}

// markUnanswered marks the latest record of the request with trace from
// terminal tid as unanswered.
func (s *Server) markUnanswered(tid string, trace uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.records) - 1; i >= 0; i-- {
		r := s.records[i]
		if r.TID == tid && r.Trace == trace && (r.Type == "authorization" || r.Type == "reversal") {
			r.Unanswered = true
			return
		}
	}
}

// txn is an authorization the host holds, with what it takes to undo it.
type txn struct {
	rec       *Record
	mti       string
	pan       string
	amount    int64
	refunded  int64
	hold      int64 // pre-authorization: amount still held
	undo      func()
	response  []byte // the answer body, for a repeated identical request
	reqSum    string // what identifies a repeat: MTI, amount, PAN, kind
	voided    bool
	reversed  bool
	paid      bool // QR merchant-presented order
	qrPayload string
	foreign   bool
	credit    bool // counts as a credit at settlement (refund)
	kind      acquirer.Kind
	batch     uint32
	// A pre-authorization: released by its void, or closed by a completion
	// that stands; a completion: its pre-authorization and the hold it
	// released.
	released   bool
	completion *txn
	preauth    *txn
	held       int64
	counts     bool // counts in the settlement totals at all
	note       string
}

// record appends r (under s.mu) and returns a pointer for later updates.
func (s *Server) recordLocked(r Record) *Record {
	s.seq++
	r.Seq = int(s.seq)
	if r.Time.IsZero() {
		r.Time = s.cfg.Now()
	}
	rp := &r
	s.records = append(s.records, rp)
	return rp
}

func (s *Server) record(r Record) {
	s.mu.Lock()
	s.recordLocked(r)
	s.mu.Unlock()
}

// Records returns every record the host holds, oldest first, as the host
// holds them now (an authorization reversed later shows Reversed).
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Record, len(s.records))
	for i, r := range s.records {
		out[i] = *r
	}
	return out
}

// Balance returns the available balance (or open credit) of a card account
// in fen, and whether the account exists.
func (s *Server) Balance(pan string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[pan]
	if !ok {
		return 0, false
	}
	return a.available, true
}

// PayQR marks the merchant-presented order whose code the customer scanned
// as paid, as the customer's wallet would. It reports whether an open order
// had that payload.
func (s *Server) PayQR(payload string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.qrOrders {
		if t.qrPayload == payload && !t.paid && !t.reversed {
			t.paid, t.counts = true, true
			t.rec.Code = "00"
			if t.rec.AuthCode == "" {
				if ac, err := s.randomDigits(6); err == nil {
					t.rec.AuthCode = ac
				}
			}
			s.seq++
			t.rec.RRN = fmt.Sprintf("%s%08d", s.cfg.Now().Format("0102"), s.seq%100000000)
			t.rec.Applied = true
			t.rec.Note = "merchant-presented order paid by the customer"
			s.recordLocked(Record{Type: "qr-paid", TID: t.rec.TID, Batch: t.rec.Batch, Trace: t.rec.Trace, Amount: t.amount, Code: "00", RRN: t.rec.RRN})
			return true
		}
	}
	return false
}
