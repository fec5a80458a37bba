package cupmsg

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The UnionPay POS dialect packs numeric fields as BCD, two digits a byte,
// left-aligned: an odd number of digits is followed by one pad nibble (a
// field 22 of "071" travels as 07 10). Track data travels the same way but
// its nibbles may be any hex digit ('D' separates the PAN, and encrypted
// tracks use all sixteen). Length prefixes are ordinary right-aligned BCD
// counting digits for numeric fields and bytes for the others.

var (
	errNibble = errors.New("cupmsg: invalid BCD digit")
	errShort  = errors.New("cupmsg: not enough data")
)

// nibbleEncoder packs characters two a byte with a '0' pad nibble for an
// odd count: after the digits (left-aligned, most fields) or before them
// (right, field 23). hex selects whether A-F are allowed; without it only
// decimal digits pass.
type nibbleEncoder struct {
	hex   bool
	right bool
}

var (
	// bcdLeft is the dialect's numeric encoding (n fields).
	bcdLeft encoding.Encoder = nibbleEncoder{}
	// bcdRight is the right-aligned numeric encoding of field 23.
	bcdRight encoding.Encoder = nibbleEncoder{right: true}
	// trackLeft is the dialect's track-data encoding (z fields).
	trackLeft encoding.Encoder = nibbleEncoder{hex: true}
)

func (e nibbleEncoder) value(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case e.hex && c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case e.hex && c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case e.hex && c == '=':
		return 0xD, true // track 2 separator as some readers report it
	}
	return 0, false
}

// Encode packs src; it never echoes the offending data in its error.
func (e nibbleEncoder) Encode(src []byte) ([]byte, error) {
	out := make([]byte, (len(src)+1)/2)
	shift := 0
	if e.right && len(src)%2 == 1 {
		shift = 1
	}
	for j, c := range src {
		v, ok := e.value(c)
		if !ok {
			return nil, fmt.Errorf("%w at position %d", errNibble, j)
		}
		i := j + shift
		if i%2 == 0 {
			out[i/2] = v << 4
		} else {
			out[i/2] |= v
		}
	}
	return out, nil
}

const hexDigits = "0123456789ABCDEF"

// Decode unpacks length characters from src. The pad nibble of an odd count
// is not checked: hosts use 0 or F.
func (e nibbleEncoder) Decode(src []byte, length int) ([]byte, int, error) {
	if length < 0 {
		return nil, 0, fmt.Errorf("cupmsg: negative length %d", length)
	}
	read := (length + 1) / 2
	if len(src) < read {
		return nil, 0, fmt.Errorf("%w: need %d bytes, have %d", errShort, read, len(src))
	}
	out := make([]byte, length)
	shift := 0
	if e.right && length%2 == 1 {
		shift = 1
	}
	for j := 0; j < length; j++ {
		i := j + shift
		b := src[i/2]
		var v byte
		if i%2 == 0 {
			v = b >> 4
		} else {
			v = b & 0x0F
		}
		if v > 9 && !e.hex {
			return nil, 0, fmt.Errorf("%w at position %d", errNibble, j)
		}
		out[j] = hexDigits[v]
	}
	return out, read, nil
}

// gbkPacker packs a field.String holding UTF-8 text as GBK bytes: the length
// prefix counts GBK bytes and a fixed field is padded with spaces after
// encoding, so a Chinese merchant name fills exactly its 40 bytes.
type gbkPacker struct{}

func (gbkPacker) Pack(value []byte, spec *field.Spec) ([]byte, error) {
	enc, err := simplifiedchinese.GBK.NewEncoder().Bytes(value)
	if err != nil {
		return nil, fmt.Errorf("cupmsg: text not representable in GBK: %w", err)
	}
	if spec.Pad != nil {
		enc = spec.Pad.Pad(enc, spec.Length)
	}
	pref, err := spec.Pref.EncodeLength(spec.Length, len(enc))
	if err != nil {
		return nil, err
	}
	return append(pref, enc...), nil
}

// gbkUnpacker is gbkPacker's inverse. Bytes that are not GBK decode to
// U+FFFD rather than failing the whole message: the text is for display.
type gbkUnpacker struct{}

func (gbkUnpacker) Unpack(data []byte, spec *field.Spec) ([]byte, int, error) {
	n, pref, err := spec.Pref.DecodeLength(spec.Length, data)
	if err != nil {
		return nil, 0, err
	}
	if n < 0 || len(data)-pref < n {
		return nil, 0, fmt.Errorf("%w: need %d bytes, have %d", errShort, n, len(data)-pref)
	}
	raw := data[pref : pref+n]
	if spec.Pad != nil {
		raw = spec.Pad.Unpad(raw)
	}
	txt, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw)
	if err != nil {
		txt = bytes.ToValidUTF8(raw, []byte("\uFFFD"))
	}
	return txt, pref + n, nil
}
