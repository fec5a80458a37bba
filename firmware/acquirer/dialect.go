package acquirer

import (
	"io"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer/cupmsg"
)

// The dialect itself (spec, field encodings, codec, framing, sub-fields,
// private tags and the typed messages) is package cupmsg, which the host
// simulator shares. These names keep the acquirer's API whole for its
// callers; each is declared once, there.

// Errors of the dialect.
var (
	// ErrMessage reports an ISO 8583 body that does not unpack with the
	// dialect or lacks a field its type requires.
	ErrMessage = cupmsg.ErrMessage
	// ErrMAC reports a missing or wrong field 64.
	ErrMAC = cupmsg.ErrMAC
	// ErrFrame reports bytes that are not a well-formed frame.
	ErrFrame = cupmsg.ErrFrame
)

// MACLen is the length of field 64.
const MACLen = cupmsg.MACLen

// PINBlockLenSM4 is field 52's length in SM mode.
const PINBlockLenSM4 = cupmsg.PINBlockLenSM4

// Processing requirements a host sets in the header of an answer.
const (
	RequireNone       = cupmsg.RequireNone
	RequireParameters = cupmsg.RequireParameters
	RequireStatus     = cupmsg.RequireStatus
	RequireSignOn     = cupmsg.RequireSignOn
	RequireCAKeys     = cupmsg.RequireCAKeys
	RequireICParams   = cupmsg.RequireICParams
)

// Reconciliation codes a host returns in field 48 of a 0510.
const (
	ReconBalanced   = cupmsg.ReconBalanced
	ReconUnbalanced = cupmsg.ReconUnbalanced
	ReconError      = cupmsg.ReconError
)

type (
	// Codec packs and unpacks messages of the dialect.
	Codec = cupmsg.Codec
	// MACer computes and checks the MAC of field 64.
	MACer = cupmsg.MACer
	// TPDU is the transport protocol data unit of a frame.
	TPDU = cupmsg.TPDU
	// Header is the 6-byte message header of a frame.
	Header = cupmsg.Header
	// Frame is one message with its TPDU and header.
	Frame = cupmsg.Frame
	// Field60 is the dialect's field 60.
	Field60 = cupmsg.Field60
	// Field61 is the original message a void, refund, completion or query
	// points to.
	Field61 = cupmsg.Field61
	// Field48 is the settlement field.
	Field48 = cupmsg.Field48
	// Field54 is a balance as field 54 carries it.
	Field54 = cupmsg.Field54
	// Totals are the settlement totals of one card family.
	Totals = cupmsg.Totals
	// Tag is one entry of the private data of fields 59 and 62.
	Tag = cupmsg.Tag
	// Tags is an ordered list of private-data entries.
	Tags = cupmsg.Tags
)

// NewCodec returns a codec for the China UnionPay POS dialect.
func NewCodec() *Codec { return cupmsg.NewCodec() }

// NewSMCodec returns a codec for the dialect's SM mode.
func NewSMCodec() *Codec { return cupmsg.NewSMCodec() }

// VerifyMAC checks field 64 of an unpacked body with mac.
func VerifyMAC(m *iso8583.Message, body []byte, mac MACer) error {
	return cupmsg.VerifyMAC(m, body, mac)
}

// FieldString returns field id of m as a string, "" when absent or
// unreadable.
func FieldString(m *iso8583.Message, id int) string { return cupmsg.FieldString(m, id) }

// ParseTPDU reads a TPDU from 10 hex digits.
func ParseTPDU(s string) (TPDU, error) { return cupmsg.ParseTPDU(s) }

// ParseHeader reads a header from 12 hex digits.
func ParseHeader(s string) (Header, error) { return cupmsg.ParseHeader(s) }

// ParseFrame splits a frame (without its length prefix).
func ParseFrame(b []byte) (Frame, error) { return cupmsg.ParseFrame(b) }

// WriteFrame writes f with its length prefix.
func WriteFrame(w io.Writer, f Frame) error { return cupmsg.WriteFrame(w, f) }

// ReadFrame reads one length-prefixed frame.
func ReadFrame(r io.Reader) (Frame, error) { return cupmsg.ReadFrame(r) }

// ParseField60 splits field 60's digits into sub-fields.
func ParseField60(s string) (Field60, error) { return cupmsg.ParseField60(s) }

// ParseField61 reads field 61's first sub-fields.
func ParseField61(s string) (Field61, error) { return cupmsg.ParseField61(s) }

// ParseField48 reads the settlement totals.
func ParseField48(s string) (Field48, error) { return cupmsg.ParseField48(s) }

// ParseField54 reads a balance.
func ParseField54(s string) (Field54, error) { return cupmsg.ParseField54(s) }

// ParseTags decodes private-data entries.
func ParseTags(b []byte) (Tags, error) { return cupmsg.ParseTags(b) }
