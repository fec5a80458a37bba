package hal

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// Scanner reads one QR or bar code.
type Scanner interface {
	// Scan returns the decoded text of the next code seen, or ctx's error.
	Scan(ctx context.Context) (string, error)
}

// ErrScanUnreadable reports a code that was seen but could not be decoded
// (blur, glare, damage). Callers prompt for a rescan.
var ErrScanUnreadable = errors.New("hal: code unreadable")

// Align is a line's horizontal alignment on paper or screen.
type Align int

// The alignments.
const (
	AlignLeft Align = iota
	AlignCenter
	AlignRight
)

// Line is one element of a printed document: text with its style, a QR code,
// blank feed, or a cut.
type Line struct {
	Text   string // UTF-8; the driver encodes it (GB18030 for Chinese)
	Align  Align
	Bold   bool
	Double bool   // double width and height
	QR     string // when set, print this payload as a QR code instead of text
	Feed   int    // blank lines after this line
	Cut    bool   // cut the paper after this line
}

// Document is what a printer prints: a receipt copy, a report, a test page.
type Document struct {
	Name  string // e.g. "receipt-merchant", for logs and emulators
	Lines []Line
}

// PrinterStatus is the printer's real-time state.
type PrinterStatus struct {
	PaperOut     bool
	PaperNearEnd bool
	CoverOpen    bool
	Error        bool   // cutter jam, overheating, or another fault
	Detail       string // the driver's words for Error
}

// Ready reports whether the printer can print now.
func (s PrinterStatus) Ready() bool { return !s.PaperOut && !s.CoverOpen && !s.Error }

// Errors a printer returns; callers branch on them to tell the merchant what to do.
var (
	ErrPaperOut  = errors.New("hal: printer out of paper")
	ErrCoverOpen = errors.New("hal: printer cover open")
	ErrPrinter   = errors.New("hal: printer fault")
)

// Printer prints documents and reports its status.
type Printer interface {
	Print(ctx context.Context, doc Document) error
	Status(ctx context.Context) (PrinterStatus, error)
}

// LinkStatus describes the upstream link.
type LinkStatus struct {
	Up         bool
	Registered bool   // cellular network registration
	Signal     int    // 0..31 as AT+CSQ reports; -1 when unknown
	Operator   string // network name when known
	Detail     string
}

// Link reaches the acquirer's host.
type Link interface {
	// Dial opens a connection; network is "tcp".
	Dial(ctx context.Context, network, addr string) (net.Conn, error)
	Status(ctx context.Context) (LinkStatus, error)
}

// Screen is what the display shows. ID names the screen for scenarios and
// tests ("amount", "insert-card", "approved"); Lines are what a person reads.
type Screen struct {
	ID    string
	Title string
	Lines []string
	QR    string // when set, the display draws this payload as a QR code
}

// String renders the screen as plain text lines.
func (s Screen) String() string {
	out := fmt.Sprintf("[%s] %s", s.ID, s.Title)
	for _, l := range s.Lines {
		out += "\n" + l
	}
	return out
}

// Display shows screens.
type Display interface {
	Show(ctx context.Context, s Screen) error
}

// Key is a keypad key.
type Key rune

// Keys beyond the digits '0'..'9'.
const (
	KeyEnter  Key = '\r'
	KeyCancel Key = 0x1b
	KeyClear  Key = 0x08
	KeyMenu   Key = 'M'
	KeyUp     Key = 'U'
	KeyDown   Key = 'D'
	KeyF1     Key = 'F'
	KeyDot    Key = '.'
)

// IsDigit reports whether k is '0'..'9'.
func (k Key) IsDigit() bool { return k >= '0' && k <= '9' }

func (k Key) String() string {
	switch k {
	case KeyEnter:
		return "ENTER"
	case KeyCancel:
		return "CANCEL"
	case KeyClear:
		return "CLEAR"
	case KeyMenu:
		return "MENU"
	case KeyUp:
		return "UP"
	case KeyDown:
		return "DOWN"
	case KeyF1:
		return "F1"
	case KeyDot:
		return "."
	}
	if k.IsDigit() {
		return string(rune(k))
	}
	return fmt.Sprintf("key(%#x)", rune(k))
}

// Keypad delivers key presses.
type Keypad interface {
	// Key blocks until the next key press or until ctx is done.
	Key(ctx context.Context) (Key, error)
}

// Signal is something the indicator shows or sounds.
type Signal int

// The signals.
const (
	SignalIdle      Signal = iota // status LED steady
	SignalBusy                    // processing, LED blinking
	SignalApproved                // green LED, short beep
	SignalDeclined                // red LED, long beep
	SignalAttention               // technician needed: paper out, link down
	SignalCardRead                // one short beep when a card has been read
)

func (s Signal) String() string {
	switch s {
	case SignalIdle:
		return "idle"
	case SignalBusy:
		return "busy"
	case SignalApproved:
		return "approved"
	case SignalDeclined:
		return "declined"
	case SignalAttention:
		return "attention"
	case SignalCardRead:
		return "card-read"
	}
	return fmt.Sprintf("signal(%d)", int(s))
}

// Indicator drives LEDs and the buzzer.
type Indicator interface {
	Signal(ctx context.Context, s Signal) error
	Beep(ctx context.Context, d time.Duration) error
}
