package cupmsg

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Framing on the wire: a 2-byte big-endian length counting everything after
// it, then the 5-byte TPDU, the 6-byte message header, and the ISO 8583
// message (MTI, bitmap, fields).

// ErrFrame reports bytes that are not a well-formed frame: a short read, a
// length out of bounds, a TPDU that is not a transaction TPDU.
var ErrFrame = errors.New("cupmsg: malformed frame")

// MaxFrame is the largest frame the terminal and the host simulator accept
// (the length prefix allows 65535; no message of the dialect comes close).
const MaxFrame = 8192

// minBody is the smallest ISO 8583 body: a 2-byte MTI and an 8-byte bitmap.
const minBody = 10

// TPDU is the transport protocol data unit: ID (0x60 for transactions), the
// destination address and the source address, 2 bytes each.
type TPDU [5]byte

// ParseTPDU reads a TPDU from 10 hex digits, such as "6000030000".
func ParseTPDU(s string) (TPDU, error) {
	var t TPDU
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(t) {
		return t, fmt.Errorf("cupmsg: TPDU must be 10 hex digits")
	}
	copy(t[:], b)
	return t, nil
}

// Reply returns the TPDU of an answer: destination and source swapped.
func (t TPDU) Reply() TPDU {
	return TPDU{t[0], t[3], t[4], t[1], t[2]}
}

// String returns the TPDU in hex.
func (t TPDU) String() string { return fmt.Sprintf("%X", t[:]) }

// Header is the dialect's 6-byte message header: application type (0x60),
// software version, terminal status and processing requirement (one nibble
// each), and the software sub-version (3 bytes).
type Header [6]byte

// ParseHeader reads a header from 12 hex digits, such as "603100310100".
func ParseHeader(s string) (Header, error) {
	var h Header
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("cupmsg: header must be 12 hex digits")
	}
	copy(h[:], b)
	return h, nil
}

// Processing requirements a host sets in the header of an answer.
const (
	RequireNone       = 0 // nothing to do
	RequireParameters = 1 // download terminal parameters
	RequireStatus     = 2 // upload terminal status
	RequireSignOn     = 3 // sign on again (new working keys)
	RequireCAKeys     = 4 // download the IC card CA public keys
	RequireICParams   = 5 // download the IC card parameters (AIDs)
)

// Requirement returns the processing requirement nibble.
func (h Header) Requirement() int { return int(h[2] & 0x0F) }

// WithRequirement returns h with the processing requirement set to r (0..15).
func (h Header) WithRequirement(r int) Header {
	h[2] = h[2]&0xF0 | byte(r&0x0F)
	return h
}

// String returns the header in hex.
func (h Header) String() string { return fmt.Sprintf("%X", h[:]) }

// Frame is one message with its TPDU and header.
type Frame struct {
	TPDU   TPDU
	Header Header
	Body   []byte // MTI, bitmap and fields
}

// Bytes returns the frame without the length prefix.
func (f Frame) Bytes() []byte {
	out := make([]byte, 0, len(f.TPDU)+len(f.Header)+len(f.Body))
	out = append(out, f.TPDU[:]...)
	out = append(out, f.Header[:]...)
	return append(out, f.Body...)
}

// ParseFrame splits b (a frame without its length prefix) into TPDU, header
// and body. The body is a copy.
func ParseFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) < len(f.TPDU)+len(f.Header)+minBody {
		return f, fmt.Errorf("%w: %d bytes is shorter than TPDU, header, MTI and bitmap", ErrFrame, len(b))
	}
	copy(f.TPDU[:], b)
	if f.TPDU[0] != 0x60 {
		return f, fmt.Errorf("%w: TPDU ID %02X, want 60", ErrFrame, f.TPDU[0])
	}
	copy(f.Header[:], b[len(f.TPDU):])
	f.Body = append([]byte(nil), b[len(f.TPDU)+len(f.Header):]...)
	return f, nil
}

// WriteFrame writes f with its 2-byte length prefix in a single Write.
func WriteFrame(w io.Writer, f Frame) error {
	raw := f.Bytes()
	if len(raw) > MaxFrame {
		return fmt.Errorf("%w: %d bytes exceeds %d", ErrFrame, len(raw), MaxFrame)
	}
	out := make([]byte, 2, 2+len(raw))
	binary.BigEndian.PutUint16(out, uint16(len(raw)))
	out = append(out, raw...)
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("cupmsg: write frame: %w", err)
	}
	return nil
}

// ReadFrame reads one length-prefixed frame from r. A length beyond
// MaxFrame or a stream that ends early is ErrFrame; an I/O error (a
// deadline, a closed connection) is returned wrapped as it is, so a caller
// can tell a timeout from garbage.
func ReadFrame(r io.Reader) (Frame, error) {
	var lp [2]byte
	if _, err := io.ReadFull(r, lp[:]); err != nil {
		return Frame{}, fmt.Errorf("cupmsg: read length: %w", err)
	}
	n := int(binary.BigEndian.Uint16(lp[:]))
	if n > MaxFrame {
		return Frame{}, fmt.Errorf("%w: declared length %d exceeds %d", ErrFrame, n, MaxFrame)
	}
	if n < len(TPDU{})+len(Header{})+minBody {
		return Frame{}, fmt.Errorf("%w: declared length %d is too short", ErrFrame, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("%w: stream ended inside a %d-byte frame: %w", ErrFrame, n, err)
		}
		return Frame{}, fmt.Errorf("cupmsg: read frame: %w", err)
	}
	return ParseFrame(buf)
}
