package cupmsg

import (
	"fmt"
	"time"

	"github.com/moov-io/iso8583/field"
)

// The typed messages of the management path: network management (0800 and
// 0820 and their answers 0810 and 0830), settlement (0500, 0510) and batch
// upload (0320, 0330). Like the financial messages (messages.go), each is
// marshalled and unmarshalled with moov-io/iso8583's own mechanism, and the
// terminal and the host simulator both fill and read them. A batch upload
// item travels as a Request (MTI 0320) and is answered as a Response.

// Message type indicators of the management path (docs/acquirer.md).
const (
	MTINetwork     = "0800" // sign-on, activation, downloads
	MTIStatus      = "0820" // sign-off, status uploads
	MTISettlement  = "0500"
	MTIBatchUpload = "0320" // each item, then the end of the upload
)

// Network management information codes (field 60.3) of the dialect.
const (
	NetNone            = "000"
	NetSignOff         = "002"
	NetSignOn3DES      = "004" // PIN, MAC and data keys, double-length 3DES
	NetSignOnSM4       = "005" // PIN, MAC and data keys, SM4 (this project's code)
	NetSettle          = "201" // settlement (0500) and stripe batch upload items (0320)
	NetUploadEnd       = "202" // end of batch upload (0320)
	NetUploadICC       = "203" // chip batch upload item (0320)
	NetParams          = "360" // terminal parameter download
	NetCAKeyQuery      = "372" // CA public key status upload (0820): the host's list
	NetCAKeyDownload   = "370" // one CA public key (0800)
	NetCAKeyEnd        = "371" // CA public key download complete (0800)
	NetICParamQuery    = "382" // IC parameter status upload (0820): the AIDs
	NetICParamDownload = "380" // one AID's IC parameters (0800)
	NetICParamEnd      = "381" // IC parameter download complete (0800)
	NetActivate        = "801" // K-code activation request (this project's code)
	NetActivateOTP     = "802" // K-code activation OTP confirmation
	NetBindingStatus   = "803" // K-code binding status check
	NetVerifyAccount   = "804" // settlement account verification (this project's code)
)

// Management is a network management request of the terminal, 0800 or
// 0820: sign-on (with the operator in field 63), sign-off, the K-code
// activation messages and the parameter download (private tags in field
// 62), the settlement account verification (the card in field 2), and the
// download sequence (status upload, download, end), which carries no trace
// and the entry asked for in field 62. A blank terminal has no TID or MID
// yet: fields 41 and 42 are then absent.
type Management struct {
	MTI      string        `iso8583:"0"`
	PAN      string        `iso8583:"2"`
	STAN     string        `iso8583:"11"`
	TID      string        `iso8583:"41"`
	MID      string        `iso8583:"42"`
	Reserved string        `iso8583:"60"` // Field60: 60.3 is the network management code
	Private  *field.Binary `iso8583:"62"` // Tags, or the download sequence's query
	Operator string        `iso8583:"63"`
}

// Settlement is the terminal's batch totals (0500, field 48 a Field48), and
// the end of a batch upload (0320, 60.3 NetUploadEnd), which has the same
// layout and carries the count of items uploaded in field 48.
type Settlement struct {
	MTI      string `iso8583:"0"`
	STAN     string `iso8583:"11"`
	TID      string `iso8583:"41"`
	MID      string `iso8583:"42"`
	Totals   string `iso8583:"48"` // Field48, or UploadCount
	Currency string `iso8583:"49"`
	Reserved string `iso8583:"60"`
	Operator string `iso8583:"63"`
}

// ManagementResponse is the host's answer to a Management (0810, 0830) or a
// Settlement (0510): the request's identifying fields, the host's clock,
// the response code and what the answer delivers: the terminal's identity
// and name (41 to 43) to a binding, the reconciliation (48) to a
// settlement, keys, tags or a status page (62).
type ManagementResponse struct {
	MTI          string        `iso8583:"0"`
	PAN          string        `iso8583:"2"`
	STAN         string        `iso8583:"11"`
	LocalTime    string        `iso8583:"12"`
	LocalDate    string        `iso8583:"13"`
	SettleDate   string        `iso8583:"15"`
	Code         string        `iso8583:"39"`
	TID          string        `iso8583:"41"`
	MID          string        `iso8583:"42"`
	MerchantName string        `iso8583:"43"` // GBK on the wire
	Totals       string        `iso8583:"48"` // Field48 with the host's reconciliation
	Currency     string        `iso8583:"49"`
	Reserved     string        `iso8583:"60"` // 60.2: the host's current batch, to a sign-on
	Private      *field.Binary `iso8583:"62"`
}

// answer is a ManagementResponse to a request of type mti, with what every
// answer repeats and the host's clock (fields 12, 13 and 15, as Echo and
// the financial answers have them).
func answer(mti, code string, now time.Time) ManagementResponse {
	d := now.Format("0102")
	return ManagementResponse{MTI: AnswerMTI(mti), LocalTime: now.Format("150405"), LocalDate: d, SettleDate: d, Code: code}
}

// Answer is the host's answer to m with code: card, trace, terminal,
// merchant and field 60 repeated.
func (m Management) Answer(code string, now time.Time) ManagementResponse {
	a := answer(m.MTI, code, now)
	a.PAN, a.STAN, a.TID, a.MID, a.Reserved = m.PAN, m.STAN, m.TID, m.MID, m.Reserved
	return a
}

// Answer is the host's answer to s with code: trace, terminal, merchant,
// currency and field 60 repeated.
func (s Settlement) Answer(code string, now time.Time) ManagementResponse {
	a := answer(s.MTI, code, now)
	a.STAN, a.TID, a.MID, a.Currency, a.Reserved = s.STAN, s.TID, s.MID, s.Currency, s.Reserved
	return a
}

// STAN is field 11 of a trace number, "" for 0 (the download sequence
// carries none); an error beyond six digits.
func STAN(trace uint32) (string, error) {
	if trace > 999999 {
		return "", fmt.Errorf("cupmsg: trace %d out of range 1..999999", trace)
	}
	if trace == 0 {
		return "", nil
	}
	return fmt.Sprintf("%06d", trace), nil
}

// UploadCount is field 48 of the end of a batch upload: the number of items
// uploaded, four digits.
func UploadCount(n int) string { return fmt.Sprintf("%04d", n%10000) }

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

// PrivateTags returns field 62 holding t, nil (absent) when t is empty.
func PrivateTags(t Tags) (*field.Binary, error) {
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	return Binary(b), nil
}
