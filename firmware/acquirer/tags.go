package acquirer

import (
	"fmt"
	"strconv"
)

// Private tags of field 62 in the K-code activation, binding status and
// parameter download messages (docs/acquirer.md).
const (
	TagSerial        = "01" // terminal serial number
	TagKCode         = "02" // K code as issued (no separators, no check character)
	TagOTP           = "03" // the one-time code the merchant typed
	TagPhone         = "10" // masked phone the code was sent to
	TagOTPValidity   = "11" // seconds the code stays valid
	TagTriesLeft     = "12" // one-time code tries left
	TagTMK           = "20" // TMK under the K-code transport key, hex
	TagTMKCheck      = "21" // TMK check value (4 bytes), hex
	TagPerTxnLimit   = "30" // fen
	TagDailyLimit    = "31" // fen
	TagFeeRate       = "32" // basis points per method: "card:60,qr:38"
	TagSettleTime    = "33" // HH:MM
	TagHostAddr      = "34" // host:port
	TagAPN           = "35" // cellular APN
	TagMethods       = "36" // accepted payment methods, comma separated
	TagKCodeExpiry   = "37" // YYYYMMDD
	TagMCC           = "38" // merchant category code
	TagCity          = "39" // merchant city
	TagAcquirerIIN   = "3A" // acquirer institution identification, 8 digits
	TagHolder        = "50" // settlement account holder, masked
	TagAccountRef    = "51" // the host's reference for a settlement account
	TagBindingStatus = "40" // valid, expiring, expired, revoked
	TagStatusReason  = "41" // the host's words for a revocation
)

// Tag is one entry of the private data the dialect carries in fields 59 and
// 62 for activation, parameters and QR payments: a 2-character tag, a
// 3-digit decimal length and the value (all ASCII tag and length, value as
// bytes).
type Tag struct {
	ID    string
	Value []byte
}

// Tags is an ordered list of private-data entries.
type Tags []Tag

// Add appends a text value.
func (t *Tags) Add(id, value string) { *t = append(*t, Tag{ID: id, Value: []byte(value)}) }

// AddBytes appends a binary value.
func (t *Tags) AddBytes(id string, value []byte) { *t = append(*t, Tag{ID: id, Value: value}) }

// Get returns the first value with the given tag.
func (t Tags) Get(id string) (string, bool) {
	for _, e := range t {
		if e.ID == id {
			return string(e.Value), true
		}
	}
	return "", false
}

// Bytes encodes the entries.
func (t Tags) Bytes() ([]byte, error) {
	var out []byte
	for _, e := range t {
		if len(e.ID) != 2 || len(e.Value) > 999 {
			return nil, fmt.Errorf("acquirer: private tag %q: bad tag or value longer than 999", e.ID)
		}
		out = append(out, e.ID...)
		out = append(out, fmt.Sprintf("%03d", len(e.Value))...)
		out = append(out, e.Value...)
	}
	return out, nil
}

// ParseTags decodes private-data entries; trailing or truncated bytes are
// an error.
func ParseTags(b []byte) (Tags, error) {
	var t Tags
	for len(b) > 0 {
		if len(b) < 5 {
			return nil, fmt.Errorf("%w: private data truncated in a tag header", ErrMessage)
		}
		n, err := strconv.Atoi(string(b[2:5]))
		if err != nil || !isDigits(string(b[2:5])) {
			return nil, fmt.Errorf("%w: private data length not decimal", ErrMessage)
		}
		if len(b)-5 < n {
			return nil, fmt.Errorf("%w: private tag %q truncated", ErrMessage, b[:2])
		}
		t = append(t, Tag{ID: string(b[:2]), Value: append([]byte(nil), b[5:5+n]...)})
		b = b[5+n:]
	}
	return t, nil
}
