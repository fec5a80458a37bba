package escpos

import (
	"errors"
	"fmt"
	"strings"

	"kpos/hal"
)

// ErrBadStatus reports a status byte that is not an ESC/POS real-time status
// reply (its fixed bits are wrong), such as line noise or a reply to another
// command.
var ErrBadStatus = errors.New("escpos: malformed status byte")

// Bits of the DLE EOT replies. Every reply has bits 1 and 4 set and bits 0
// and 7 clear.
const (
	statusFixedMask = 0x93
	statusFixed     = 0x12

	st1Offline = 0x08 // n=1: printer off line

	st2CoverOpen = 0x04 // n=2: cover open
	st2PaperStop = 0x20 // n=2: printing stopped by paper end
	st2Error     = 0x40 // n=2: an error occurred

	st3Cutter        = 0x08 // n=3: autocutter error
	st3Unrecoverable = 0x20 // n=3: unrecoverable error
	st3AutoRecover   = 0x40 // n=3: auto-recoverable error (head temperature, voltage)

	st4NearEnd = 0x0C // n=4: roll paper near-end sensor
	st4End     = 0x60 // n=4: roll paper end sensor
)

// StatusReplies is how many bytes ParseStatus takes: the replies to DLE EOT
// n = 1 (printer), 2 (off-line cause), 3 (error cause) and 4 (paper roll
// sensor), in that order.
const StatusReplies = 4

// ValidStatusByte reports whether b has the fixed bits of a DLE EOT reply.
func ValidStatusByte(b byte) bool { return b&statusFixedMask == statusFixed }

// ParseStatus turns the four replies to DLE EOT 1, 2, 3 and 4 into a
// hal.PrinterStatus. It fails with ErrBadStatus when there are not exactly four
// bytes or one lacks the fixed bits.
func ParseStatus(replies []byte) (hal.PrinterStatus, error) {
	var st hal.PrinterStatus
	if len(replies) != StatusReplies {
		return st, fmt.Errorf("%w: want %d replies, got %d", ErrBadStatus, StatusReplies, len(replies))
	}
	for i, b := range replies {
		if !ValidStatusByte(b) {
			return st, fmt.Errorf("%w: DLE EOT %d answered %#02x", ErrBadStatus, i+1, b)
		}
	}
	printer, offline, errs, paper := replies[0], replies[1], replies[2], replies[3]
	st.PaperOut = paper&st4End != 0 || offline&st2PaperStop != 0
	st.PaperNearEnd = paper&st4NearEnd != 0
	st.CoverOpen = offline&st2CoverOpen != 0
	var detail []string
	if errs&st3Cutter != 0 {
		detail = append(detail, "autocutter error")
	}
	if errs&st3Unrecoverable != 0 {
		detail = append(detail, "unrecoverable error")
	}
	if errs&st3AutoRecover != 0 {
		detail = append(detail, "auto-recoverable error (head temperature or voltage)")
	}
	if offline&st2Error != 0 && len(detail) == 0 {
		detail = append(detail, "error reported without a cause")
	}
	if printer&st1Offline != 0 && !st.PaperOut && !st.CoverOpen && len(detail) == 0 {
		detail = append(detail, "off line")
	}
	st.Error = len(detail) > 0
	st.Detail = strings.Join(detail, ", ")
	return st, nil
}

// statusError returns the hal error that st stops printing with, or nil when
// the printer is ready.
func statusError(st hal.PrinterStatus) error {
	switch {
	case st.PaperOut:
		return hal.ErrPaperOut
	case st.CoverOpen:
		return hal.ErrCoverOpen
	case st.Error:
		return fmt.Errorf("%w: %s", hal.ErrPrinter, st.Detail)
	}
	return nil
}
