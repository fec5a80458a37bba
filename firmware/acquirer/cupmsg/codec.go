package cupmsg

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/moov-io/iso8583"
	iso8583errors "github.com/moov-io/iso8583/errors"
)

// ErrMessage reports an ISO 8583 body that does not unpack with the dialect
// or lacks a field its type requires.
var ErrMessage = errors.New("cupmsg: malformed message")

// ErrMAC reports a missing or wrong field 64.
var ErrMAC = errors.New("cupmsg: MAC check failed")

// MACLen is the length of field 64.
const MACLen = 8

// MACer computes and checks the MAC of field 64 over the MAC block (MTI
// through field 63 as packed). *keys.Store implements it for the terminal;
// the host simulator has one per signed-on terminal.
type MACer interface {
	MAC(mab []byte) ([]byte, error)
	VerifyMAC(mab, mac []byte) error
}

// Codec packs and unpacks messages of the dialect. It holds the spec; one
// Codec may be shared by goroutines.
type Codec struct {
	spec *iso8583.MessageSpec
}

// NewCodec returns a codec for the China UnionPay POS dialect.
func NewCodec() *Codec { return &Codec{spec: newSpec()} }

// NewMessage returns an empty message of the dialect.
func (c *Codec) NewMessage() *iso8583.Message { return iso8583.NewMessage(c.spec) }

// Unpack unpacks a body (MTI, bitmap, fields). Errors name the field and
// never carry the message bytes.
func (c *Codec) Unpack(body []byte) (msg *iso8583.Message, err error) {
	defer func() {
		// The library is not fuzz-proof everywhere; bytes from the network
		// must never bring the terminal down.
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("%w: unpack panicked", ErrMessage)
		}
	}()
	m := iso8583.NewMessage(c.spec)
	if err := m.Unpack(body); err != nil {
		var ue *iso8583errors.UnpackError
		if errors.As(err, &ue) {
			return nil, fmt.Errorf("%w: field %s: %w", ErrMessage, ue.FieldID, ue.Err)
		}
		return nil, fmt.Errorf("%w: %w", ErrMessage, err)
	}
	return m, nil
}

// Pack packs m. When mac is not nil, field 64 is set to the MAC over the
// packed MTI through field 63 (the bitmap already announcing field 64).
func (c *Codec) Pack(m *iso8583.Message, mac MACer) ([]byte, error) {
	if mac == nil {
		m.UnsetField(64)
		out, err := m.Pack()
		if err != nil {
			return nil, fmt.Errorf("cupmsg: pack: %w", err)
		}
		return out, nil
	}
	if err := m.BinaryField(64, make([]byte, MACLen)); err != nil {
		return nil, fmt.Errorf("cupmsg: pack: %w", err)
	}
	out, err := m.Pack()
	if err != nil {
		return nil, fmt.Errorf("cupmsg: pack: %w", err)
	}
	mab := out[:len(out)-MACLen]
	sum, err := mac.MAC(mab)
	if err != nil {
		return nil, fmt.Errorf("cupmsg: MAC: %w", err)
	}
	if len(sum) != MACLen {
		return nil, fmt.Errorf("cupmsg: MAC is %d bytes, want %d", len(sum), MACLen)
	}
	copy(out[len(out)-MACLen:], sum)
	if err := m.BinaryField(64, sum); err != nil {
		return nil, fmt.Errorf("cupmsg: pack: %w", err)
	}
	return out, nil
}

// MAB returns the MAC block of a packed body whose last field is 64: every
// byte before field 64. It checks that the message's field 64 is indeed the
// body's last 8 bytes, so trailing garbage cannot shift the block.
func MAB(m *iso8583.Message, body []byte) ([]byte, []byte, error) {
	if !m.Bitmap().IsSet(64) {
		return nil, nil, fmt.Errorf("%w: no field 64", ErrMAC)
	}
	mac, err := m.GetBytes(64)
	if err != nil || len(mac) != MACLen || len(body) < minBody+MACLen {
		return nil, nil, fmt.Errorf("%w: field 64 unreadable", ErrMAC)
	}
	if !bytes.Equal(body[len(body)-MACLen:], mac) {
		return nil, nil, fmt.Errorf("%w: field 64 is not the end of the message", ErrMAC)
	}
	return body[:len(body)-MACLen], mac, nil
}

// VerifyMAC checks field 64 of an unpacked body with mac.
func VerifyMAC(m *iso8583.Message, body []byte, mac MACer) error {
	mab, sum, err := MAB(m, body)
	if err != nil {
		return err
	}
	if err := mac.VerifyMAC(mab, sum); err != nil {
		return fmt.Errorf("%w: %w", ErrMAC, err)
	}
	return nil
}

// FieldString returns field id of m as a string, "" when absent or
// unreadable.
func FieldString(m *iso8583.Message, id int) string {
	if !m.Bitmap().IsSet(id) {
		return ""
	}
	s, err := m.GetString(id)
	if err != nil {
		return ""
	}
	return s
}

// FieldBytes returns field id of m as bytes, nil when absent or
// unreadable.
func FieldBytes(m *iso8583.Message, id int) []byte {
	if !m.Bitmap().IsSet(id) {
		return nil
	}
	b, err := m.GetBytes(id)
	if err != nil {
		return nil
	}
	return b
}
