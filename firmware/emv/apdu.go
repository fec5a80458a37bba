package emv

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
	swOK               = 0x9000
	swAppBlocked       = 0x6283 // selected file invalidated
	swCardBlocked      = 0x6A81 // function not supported / card blocked
	swRecordNotFound   = 0x6A83
	swConditions       = 0x6985
	swSeePhone         = 0x6986 // contactless: consumer device CVM pending
	swAuthBlocked      = 0x6983
	swRefDataInvalid   = 0x6984
	swWrongPINPrefix   = 0x63C0
	swInstructionIssue = 0x6D00 // instruction not supported
	swClassIssue       = 0x6E00 // class not supported
)

// response is a card's answer: data and status word.
type response struct {
	data []byte
	sw   uint16
}

// transmit sends one command and splits the answer. name says which
// command, for errors. A removed card wraps ErrCardRemoved; an answer
// shorter than a status word wraps ErrCardResponse.
func (s *session) transmit(ctx context.Context, name string, apdu []byte) (response, error) {
	if err := ctx.Err(); err != nil {
		return response{}, fmt.Errorf("emv: %s: %w", name, err)
	}
	s.apdus++
	r, err := s.card.Transmit(ctx, apdu)
	if err != nil {
		if errors.Is(err, hal.ErrCardRemoved) {
			return response{}, fmt.Errorf("emv: %s: %w", name, err)
		}
		return response{}, fmt.Errorf("emv: %s: card error: %w", name, err)
	}
	if len(r) < 2 {
		return response{}, fmt.Errorf("emv: %s: %w: %d-byte answer", name, ErrCardResponse, len(r))
	}
	n := len(r) - 2
	resp := response{data: r[:n:n], sw: uint16(r[n])<<8 | uint16(r[n+1])}
	if s.k.log.Enabled(ctx, slog.LevelDebug) {
		// Only the masked TLV dump of the answer: never raw bytes, which
		// may hold the PAN or track data.
		s.k.log.DebugContext(ctx, "emv: apdu", "cmd", name, "sw", fmt.Sprintf("%04X", resp.sw), "data", tlv.DumpBytes(resp.data))
	}
	return resp, nil
}

func badSW(name string, sw uint16) error {
	return fmt.Errorf("emv: %s: %w: SW %04X", name, ErrCardResponse, sw)
}

// apdu builds a case 3/4 command with Le 00 (case 4) when le is set.
func apdu(cla, ins, p1, p2 byte, data []byte, le bool) []byte {
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

func selectCmd(name []byte, next bool) []byte {
	p2 := byte(0x00)
	if next {
		p2 = 0x02
	}
	return apdu(0x00, 0xA4, 0x04, p2, name, true)
}

func readRecordCmd(sfi, rec byte) []byte {
	return apdu(0x00, 0xB2, rec, sfi<<3|0x04, nil, true)
}

func getDataCmd(t tlv.Tag) []byte {
	return apdu(0x80, 0xCA, byte(t>>8), byte(t), nil, true)
}

func be32(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// track2PAN returns the PAN of track 2 equivalent data (digits up to D).
func track2PAN(b []byte) string { return tlv.CNDigits(b) }

// track2Expiry returns YYMM after the separator of track 2 equivalent data.
func track2Expiry(b []byte) string {
	var nibs []byte
	for _, c := range b {
		nibs = append(nibs, c>>4, c&0x0F)
	}
	for i, n := range nibs {
		if n == 0x0D {
			if len(nibs) < i+5 {
				return ""
			}
			out := make([]byte, 4)
			for j := 0; j < 4; j++ {
				if nibs[i+1+j] > 9 {
					return ""
				}
				out[j] = '0' + nibs[i+1+j]
			}
			return string(out)
		}
	}
	return ""
}

// printable keeps the printable ASCII of a card string.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}
