package entry

import "time"

// SettleStep is how far a settlement got. Each step is recorded only once
// what it names has happened, so a settlement cut by a power loss resumes at
// the first thing not known to be done.
type SettleStep string

// The steps, in order. Closing the batch ends the settlement and removes the
// progress record in the same commit.
const (
	// StepStarted: totals frozen, the 0500's trace number allocated; the
	// host's answer is not known (the request may or may not have gone).
	StepStarted SettleStep = "started"
	// StepTotalsSent: the host answered the totals; Balanced says how.
	StepTotalsSent SettleStep = "totals-sent"
	// StepUploading: unbalanced; Uploaded of UploadTotal transactions are
	// acknowledged by the host.
	StepUploading SettleStep = "uploading"
	// StepUploadEnd: every transaction is uploaded and the host
	// acknowledged the end of the upload.
	StepUploadEnd SettleStep = "upload-end-sent"
)

var stepOrder = map[SettleStep]int{StepStarted: 1, StepTotalsSent: 2, StepUploading: 3, StepUploadEnd: 4}

// CanBecome reports whether a settlement at step s may record step next:
// a step only moves forward, or stays.
func (s SettleStep) CanBecome(next SettleStep) bool {
	return stepOrder[next] != 0 && stepOrder[next] >= stepOrder[s]
}

// Reached reports whether step s is step at or later.
func (s SettleStep) Reached(at SettleStep) bool { return stepOrder[s] >= stepOrder[at] }

// HostAnswer is what the host said about the totals, in the journal's terms.
type HostAnswer struct {
	Code string `json:"code,omitempty"` // the response code
	// DomesticCode and ForeignCode are the host's reconciliation codes
	// ("1" balanced, "2" unbalanced, "3" not reconciled).
	DomesticCode string `json:"domestic_code,omitempty"`
	ForeignCode  string `json:"foreign_code,omitempty"`
	SettleDate   string `json:"settle_date,omitempty"` // MMDD, as the host sent it
}

// Settlement is the durable progress of a settlement of the open batch.
type Settlement struct {
	Batch    uint32     `json:"batch"`
	Step     SettleStep `json:"step"`
	Started  time.Time  `json:"started"`
	Totals   Totals     `json:"totals"` // frozen when it started
	Trace    uint32     `json:"trace"`  // of the settlement request
	Attempts int        `json:"attempts,omitempty"`
	// Known once the host answered (StepTotalsSent and later).
	Balanced bool       `json:"balanced,omitempty"`
	Answer   HostAnswer `json:"answer"`
	// Batch upload (unbalanced only).
	UploadTotal int    `json:"upload_total,omitempty"`
	Uploaded    int    `json:"uploaded,omitempty"`
	EndTrace    uint32 `json:"end_trace,omitempty"` // of the end-of-upload message
}

// ClosedBatch is a settled batch as kept for reprint and audit.
type ClosedBatch struct {
	Batch     uint32     `json:"batch"`
	Totals    Totals     `json:"totals"`
	Started   time.Time  `json:"started"` // when the settlement started
	Closed    time.Time  `json:"closed"`
	Trace     uint32     `json:"trace"` // of the settlement request
	Balanced  bool       `json:"balanced"`
	Answer    HostAnswer `json:"answer"`
	Uploaded  int        `json:"uploaded,omitempty"` // transactions uploaded (unbalanced)
	Attempts  int        `json:"attempts,omitempty"`
	Printed   bool       `json:"printed,omitempty"` // the report came out of the printer
	Reprints  int        `json:"reprints,omitempty"`
	NextBatch uint32     `json:"next_batch"`
}
