// Package apdu is the EMV kernel's exchange with a card: command APDUs as
// ISO/IEC 7816-4 and EMV Book 1 and 3 encode them, the status words the
// kernel branches on, and one transmission that splits the answer into data
// and status word and logs only its masked TLV dump.
//
// It knows nothing of a transaction: which command to send when is the
// kernel's.
package apdu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// Status words the kernel branches on.
const (
	SWOK               = 0x9000
	SWAppBlocked       = 0x6283 // selected file invalidated
	SWCardBlocked      = 0x6A81 // function not supported / card blocked
	SWRecordNotFound   = 0x6A83
	SWConditions       = 0x6985
	SWSeePhone         = 0x6986 // contactless: consumer device CVM pending
	SWAuthBlocked      = 0x6983
	SWRefDataInvalid   = 0x6984
	SWWrongPINPrefix   = 0x63C0
	SWInstructionIssue = 0x6D00 // instruction not supported
	SWClassIssue       = 0x6E00 // class not supported
)

// ErrCardResponse reports an unexpected status word or a malformed
// response to a command: the transaction is terminated.
var ErrCardResponse = errors.New("emv: unexpected card response")

// Response is a card's answer: data and status word.
type Response struct {
	Data []byte
	SW   uint16
}

// Transmit sends one command and splits the answer. name says which
// command, for errors. A removed card wraps hal.ErrCardRemoved; an answer
// shorter than a status word wraps ErrCardResponse. The answer reaches log
// (at debug level) only as a masked TLV dump, never as raw bytes, which may
// hold the PAN or track data.
func Transmit(ctx context.Context, card hal.Card, log *slog.Logger, name string, cmd []byte) (Response, error) {
	if err := ctx.Err(); err != nil {
		return Response{}, fmt.Errorf("emv: %s: %w", name, err)
	}
	r, err := card.Transmit(ctx, cmd)
	if err != nil {
		if errors.Is(err, hal.ErrCardRemoved) {
			return Response{}, fmt.Errorf("emv: %s: %w", name, err)
		}
		return Response{}, fmt.Errorf("emv: %s: card error: %w", name, err)
	}
	if len(r) < 2 {
		return Response{}, fmt.Errorf("emv: %s: %w: %d-byte answer", name, ErrCardResponse, len(r))
	}
	n := len(r) - 2
	resp := Response{Data: r[:n:n], SW: uint16(r[n])<<8 | uint16(r[n+1])}
	if log.Enabled(ctx, slog.LevelDebug) {
		log.DebugContext(ctx, "emv: apdu", "cmd", name, "sw", fmt.Sprintf("%04X", resp.SW), "data", tlv.DumpBytes(resp.Data))
	}
	return resp, nil
}

// BadSW is the error for status word sw in answer to command name.
func BadSW(name string, sw uint16) error {
	return fmt.Errorf("emv: %s: %w: SW %04X", name, ErrCardResponse, sw)
}

// Command builds a case 3/4 command with Le 00 (case 4) when le is set.
func Command(cla, ins, p1, p2 byte, data []byte, le bool) []byte {
	out := make([]byte, 0, 6+len(data))
	out = append(out, cla, ins, p1, p2)
	if len(data) > 0 {
		out = append(out, byte(len(data)))
		out = append(out, data...)
	}
	if le {
		out = append(out, 0x00)
	}
	return out
}

// Select is SELECT by name, the first or (next) the next occurrence.
func Select(name []byte, next bool) []byte {
	p2 := byte(0x00)
	if next {
		p2 = 0x02
	}
	return Command(0x00, 0xA4, 0x04, p2, name, true)
}

// ReadRecord is READ RECORD of record rec in file sfi.
func ReadRecord(sfi, rec byte) []byte {
	return Command(0x00, 0xB2, rec, sfi<<3|0x04, nil, true)
}

// GetData is GET DATA of tag t.
func GetData(t tlv.Tag) []byte {
	return Command(0x80, 0xCA, byte(t>>8), byte(t), nil, true)
}
