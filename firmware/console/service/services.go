// Package service is the technician console's commands that act on the
// terminal: status, device tests, the modem, parameters, keys, binding,
// the journal, reprint, settlement, logs, response times, backup and
// restore, firmware update and reboot, each one command.Command record.
//
// It declares one small interface per command group (Services) and value
// types of its own; the firmware's main package wires real implementations
// behind them. It must not import the journal, the key store, the acquirer,
// the binding logic or any driver: it only sees masked, display-ready
// values.
package service

import (
	"context"
	"errors"
	"io"
	"time"

	"kpos/firmware/update"
)

// Sentinel errors the services return and the console turns into clear
// messages.
var (
	// ErrNotFound: no such trace number, parameter or record.
	ErrNotFound = errors.New("console: not found")
	// ErrInvalid: a parameter value or argument the service refuses.
	ErrInvalid = errors.New("console: invalid value")
	// ErrWouldLoseUnsettled: a restore would drop transactions that are
	// not yet settled. BackupTarget.Import returns it (wrapped).
	ErrWouldLoseUnsettled = errors.New("console: restore would lose unsettled transactions")
	// ErrBusy: the terminal is in a transaction; try again when idle.
	ErrBusy = errors.New("console: terminal busy")
)

// errNotFoundAs replaces ErrNotFound from a service with msg.
func errNotFoundAs(err error, msg string) error {
	if errors.Is(err, ErrNotFound) {
		return errors.New(msg)
	}
	return err
}

// Services are what the console's commands act on. Any field may be nil: the
// commands that need it then answer "not available on this board"
// (command.ErrNotAvailable, which a service may also return).
type Services struct {
	Status  StatusSource
	Devices DeviceTests
	Params  ParamStore
	Keys    KeyStatus
	Binding BindingStatus
	Journal JournalView
	Logs    LogSource
	Perf    PerfSource
	Backup  BackupTarget
	Update  *update.Updater
	Reboot  func(ctx context.Context) error
}

// StatusSource reports the terminal's overall state.
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
}

// Status is the answer of the status command.
type Status struct {
	Version    string        `json:"version"`
	Board      string        `json:"board"`
	Serial     string        `json:"serial,omitempty"`
	Uptime     time.Duration `json:"-"`       // shown as uptime_s in -json output
	Binding    string        `json:"binding"` // e.g. "bound", "unbound", "expiring", "revoked"
	Batch      BatchSummary  `json:"batch"`
	Link       LinkInfo      `json:"link"`
	LastErrors []ErrorEntry  `json:"last_errors,omitempty"`
}

// BatchSummary is the open batch.
type BatchSummary struct {
	Number    uint32        `json:"number"`
	Count     int           `json:"count"`
	Unsettled int           `json:"unsettled"`
	Totals    []MethodTotal `json:"totals,omitempty"`
}

// MethodTotal sums one payment method in the batch (amounts in minor units).
type MethodTotal struct {
	Method       string `json:"method"` // "card", "qr", "cash"
	SaleCount    int    `json:"sale_count"`
	SaleAmount   int64  `json:"sale_amount"`
	RefundCount  int    `json:"refund_count"`
	RefundAmount int64  `json:"refund_amount"`
	VoidCount    int    `json:"void_count"`
}

// LinkInfo is the upstream link's state.
type LinkInfo struct {
	Kind       string `json:"kind"` // "cellular", "ethernet", "wifi", "sim"
	Up         bool   `json:"up"`
	Registered bool   `json:"registered"`
	Signal     int    `json:"signal"` // 0..31, -1 unknown
	Operator   string `json:"operator,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// ErrorEntry is a recent error worth a technician's attention.
type ErrorEntry struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
	Message string    `json:"message"`
}

// DeviceTests runs the peripherals' self-tests. Each call waits at most
// until ctx is done.
type DeviceTests interface {
	// DetectCard waits for a card at the reader and reports what it saw.
	DetectCard(ctx context.Context) (CardDetect, error)
	// PrinterTestPage prints a test page; PrinterStatus reads the status.
	PrinterTestPage(ctx context.Context) error
	PrinterStatus(ctx context.Context) (PrinterState, error)
	// ScanOne reads one code with the scanner.
	ScanOne(ctx context.Context) (ScanResult, error)
	// Modem reports SIM, signal and registration; ModemAT passes one AT
	// command through and returns the modem's reply lines.
	Modem(ctx context.Context) (ModemInfo, error)
	ModemAT(ctx context.Context, cmd string) ([]string, error)
	// KeypadTest collects key presses until ENTER or ctx is done.
	KeypadTest(ctx context.Context) ([]string, error)
	// DisplayTest shows a test pattern; IndicatorTest cycles LEDs and buzzer.
	DisplayTest(ctx context.Context) error
	IndicatorTest(ctx context.Context) error
}

// CardDetect is what the reader saw. No card data: only its kind.
type CardDetect struct {
	Event     string `json:"event"`     // "inserted", "tapped", "swiped"
	Interface string `json:"interface"` // "contact", "contactless", "stripe"
	ATRLen    int    `json:"atr_len,omitempty"`
	Reader    string `json:"reader,omitempty"`
}

// PrinterState is the printer's status.
type PrinterState struct {
	Ready        bool   `json:"ready"`
	PaperOut     bool   `json:"paper_out"`
	PaperNearEnd bool   `json:"paper_near_end"`
	CoverOpen    bool   `json:"cover_open"`
	Error        string `json:"error,omitempty"`
}

// ScanResult is one code read by the scanner, classified. Text is shown
// truncated and redacted.
type ScanResult struct {
	Kind string `json:"kind"` // e.g. "unionpay", "wechat", "emvco-cpm", "text"
	Text string `json:"text"`
}

// ModemInfo is the modem's state. ICCID and IMSI arrive masked.
type ModemInfo struct {
	Model        string `json:"model,omitempty"`
	SIM          string `json:"sim"` // "ready", "absent", "pin-required"
	ICCIDMasked  string `json:"iccid_masked,omitempty"`
	Signal       int    `json:"signal"` // 0..31, -1 unknown
	Registration string `json:"registration"`
	Operator     string `json:"operator,omitempty"`
}

// ParamStore holds the terminal parameters.
type ParamStore interface {
	List(ctx context.Context) ([]Param, error)
	Get(ctx context.Context, name string) (Param, error)
	// Set validates and stores a value; an unacceptable value is an error
	// wrapping ErrInvalid with the reason.
	Set(ctx context.Context, name, value string) error
}

// Param is one parameter. Sensitive values are shown and audited masked.
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
	ReadOnly    bool   `json:"read_only,omitempty"`
	Sensitive   bool   `json:"sensitive,omitempty"`
}

// KeyStatus lists the terminal's keys without their material.
type KeyStatus interface {
	Keys(ctx context.Context) ([]KeyInfo, error)
}

// KeyInfo describes one key: check value and dates only, never the key.
type KeyInfo struct {
	Name      string    `json:"name"`      // "TMK", "PIN", "MAC", "DATA"
	Algorithm string    `json:"algorithm"` // "3DES-2K", "SM4", "AES-128"
	KCV       string    `json:"kcv"`       // check value, at most 6 hex digits
	Loaded    bool      `json:"loaded"`
	LoadedAt  time.Time `json:"loaded_at,omitzero"`
}

// BindingStatus reports the K-code binding.
type BindingStatus interface {
	Binding(ctx context.Context) (BindingInfo, error)
}

// BindingInfo is the terminal's binding.
type BindingInfo struct {
	State             string    `json:"state"` // "unbound", "bound", "expiring", "expired", "revoked"
	TID               string    `json:"tid,omitempty"`
	MID               string    `json:"mid,omitempty"`
	Merchant          string    `json:"merchant,omitempty"`
	Bank              string    `json:"bank,omitempty"`
	BoundAt           time.Time `json:"bound_at,omitzero"`
	ExpiresAt         time.Time `json:"expires_at,omitzero"`
	LastCheck         time.Time `json:"last_check,omitzero"`
	SettlementAccount string    `json:"settlement_account,omitempty"` // masked
}

// JournalView reads the journal and acts on it.
type JournalView interface {
	// List returns the newest n entries of the open batch, newest first.
	List(ctx context.Context, n int) ([]JournalEntry, error)
	// Show returns one entry by trace number (ErrNotFound if none).
	Show(ctx context.Context, trace uint32) (JournalEntry, error)
	// Reprint prints the receipt of a trace number; ReprintLast the newest.
	Reprint(ctx context.Context, trace uint32) error
	ReprintLast(ctx context.Context) (uint32, error)
	// Settle runs settlement now.
	Settle(ctx context.Context) (SettleResult, error)
}

// JournalEntry is one transaction as the console shows it: masked PAN only.
type JournalEntry struct {
	Trace     uint32    `json:"trace"`
	Batch     uint32    `json:"batch"`
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`   // "sale", "void", "refund", ...
	Method    string    `json:"method"` // "chip", "contactless", "stripe", "qr", "cash"
	Amount    int64     `json:"amount"` // minor units
	Currency  string    `json:"currency"`
	MaskedPAN string    `json:"masked_pan,omitempty"`
	State     string    `json:"state"` // "approved", "declined", "reversal-pending", ...
	Response  string    `json:"response,omitempty"`
	AuthCode  string    `json:"auth_code,omitempty"`
	RRN       string    `json:"rrn,omitempty"`
	AID       string    `json:"aid,omitempty"`
	AppLabel  string    `json:"app_label,omitempty"`
	Settled   bool      `json:"settled"`
}

// SettleResult is what a settlement did.
type SettleResult struct {
	Batch    uint32 `json:"batch"`
	Balanced bool   `json:"balanced"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"`
	Uploaded int    `json:"uploaded"` // transactions uploaded one by one when not balanced
	NewBatch uint32 `json:"new_batch"`
}

// LogSource reads and tunes the firmware's log.
type LogSource interface {
	Tail(ctx context.Context, n int) ([]LogLine, error)
	SetLevel(ctx context.Context, level string) error
	Level(ctx context.Context) (string, error)
}

// LogLine is one log record.
type LogLine struct {
	Time    time.Time `json:"time"`
	Level   string    `json:"level"`
	Message string    `json:"message"`
}

// PerfSource reports response-time statistics.
type PerfSource interface {
	Perf(ctx context.Context) ([]PerfStat, error)
}

// PerfStat is the response-time statistics of one host or device.
type PerfStat struct {
	Target string        `json:"target"` // "host:acquirer", "device:printer"
	Count  int           `json:"count"`
	Errors int           `json:"errors"`
	P50    time.Duration `json:"p50_ns"`
	P95    time.Duration `json:"p95_ns"`
	Max    time.Duration `json:"max_ns"`
}

// BackupTarget exports and imports the journal and the parameters. The
// console wraps the bytes in an integrity envelope; the target only sees
// verified bytes on Import.
type BackupTarget interface {
	Export(ctx context.Context, w io.Writer) error
	// Import restores a backup. It must refuse (with ErrWouldLoseUnsettled)
	// a backup that lacks transactions the terminal has not yet settled.
	Import(ctx context.Context, r io.Reader) error
}
