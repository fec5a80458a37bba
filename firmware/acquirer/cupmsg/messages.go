package cupmsg

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
)

// The typed messages of the financial path. Each is marshalled into and
// unmarshalled from a message of the dialect with moov-io/iso8583's own
// mechanism (Message.Marshal and Message.Unmarshal read the iso8583 tags):
// the field numbers are written here once, their encodings once in spec.go,
// and the terminal (package acquirer) and the host simulator both go through
// these structs. Numeric fields are kept as the digits they travel as
// (fixed-length fields of the dialect are not padded by the spec), so that a
// message unpacks and packs back to the same bytes. A field left at its zero
// value is absent, except where a tag says keepzero.

// Message type indicators of the financial path (docs/acquirer.md).
const (
	MTIAuthorization = "0100" // pre-authorization and its void
	MTIFinancial     = "0200" // sale, void, balance, completion and its void, QR sale
	MTIAdvice        = "0220" // refund, offline sale advice
	MTIQRQuery       = "0620" // QR result query
	MTIReversal      = "0400" // reversal of any of the above
)

// AnswerMTI is the MTI of the answer to a request of type mti (the third
// digit plus one: 0200 is answered by 0210), "" when mti is not four digits.
func AnswerMTI(mti string) string {
	if len(mti) != 4 {
		return ""
	}
	return mti[:2] + string(mti[2]+1) + mti[3:]
}

// Request is a financial request of the terminal: an authorization (0100),
// a financial transaction (0200), an advice (0220) or a QR result query
// (0620). The four share one layout; which fields each transaction kind
// carries is the table in docs/acquirer.md.
type Request struct {
	MTI            string        `iso8583:"0"`
	PAN            string        `iso8583:"2"`
	ProcessingCode string        `iso8583:"3"`
	Amount         string        `iso8583:"4"`  // 12 digits, minor units
	STAN           string        `iso8583:"11"` // 6 digits
	LocalTime      string        `iso8583:"12"` // hhmmss
	LocalDate      string        `iso8583:"13"` // MMDD
	Expiry         string        `iso8583:"14"` // YYMM
	EntryMode      string        `iso8583:"22"` // 2 digits of how, 1 of PIN
	PANSeq         string        `iso8583:"23"` // 3 digits
	Condition      string        `iso8583:"25"`
	PINCapture     string        `iso8583:"26"`
	Track2         string        `iso8583:"35"`
	OrigRRN        string        `iso8583:"37"`          // of the original, for a void, refund or completion
	OrigAuth       string        `iso8583:"38"`          // of the original
	TID            string        `iso8583:"41,keepzero"` // a terminal without identity fails to pack
	MID            string        `iso8583:"42,keepzero"`
	Currency       string        `iso8583:"49"`
	PINBlock       *field.Binary `iso8583:"52"` // encrypted under the PIN key
	Security       string        `iso8583:"53"`
	ICCData        *field.Binary `iso8583:"55"`
	Private        string        `iso8583:"59"` // private tags (Tags): the QR payment code
	Reserved       string        `iso8583:"60"` // Field60
	Original       string        `iso8583:"61"` // Field61
}

// Reversal (0400) undoes a request: the original's trace, amount, card,
// entry mode and references, without its time, PIN or track data, and with
// the reversal reason in field 39.
type Reversal struct {
	MTI            string        `iso8583:"0"`
	PAN            string        `iso8583:"2"`
	ProcessingCode string        `iso8583:"3"`
	Amount         string        `iso8583:"4"`
	STAN           string        `iso8583:"11"`
	Expiry         string        `iso8583:"14"`
	EntryMode      string        `iso8583:"22"`
	PANSeq         string        `iso8583:"23"`
	Condition      string        `iso8583:"25"`
	OrigRRN        string        `iso8583:"37"`
	OrigAuth       string        `iso8583:"38"`
	Reason         string        `iso8583:"39"`
	TID            string        `iso8583:"41,keepzero"`
	MID            string        `iso8583:"42,keepzero"`
	Currency       string        `iso8583:"49"`
	ICCData        *field.Binary `iso8583:"55"`
	Private        string        `iso8583:"59"`
	Reserved       string        `iso8583:"60"`
	Original       string        `iso8583:"61"`
}

// Reversal is the reversal of r for reason (field 39).
func (r Request) Reversal(reason string) Reversal {
	return Reversal{MTI: MTIReversal, PAN: r.PAN, ProcessingCode: r.ProcessingCode, Amount: r.Amount, STAN: r.STAN,
		Expiry: r.Expiry, EntryMode: r.EntryMode, PANSeq: r.PANSeq, Condition: r.Condition, OrigRRN: r.OrigRRN,
		OrigAuth: r.OrigAuth, Reason: reason, TID: r.TID, MID: r.MID, Currency: r.Currency, ICCData: r.ICCData,
		Private: r.Private, Reserved: r.Reserved, Original: r.Original}
}

// Response is the host's answer to a request: 0110, 0210, 0230, 0410, 0630,
// and the answers of the management path. It repeats the request's
// identifying fields (Echo) and adds its own.
type Response struct {
	MTI            string        `iso8583:"0"`
	PAN            string        `iso8583:"2"`
	ProcessingCode string        `iso8583:"3"`
	Amount         string        `iso8583:"4"`
	STAN           string        `iso8583:"11"`
	LocalTime      string        `iso8583:"12"` // the host's clock, hhmmss
	LocalDate      string        `iso8583:"13"` // MMDD
	Expiry         string        `iso8583:"14"`
	SettleDate     string        `iso8583:"15"` // MMDD
	EntryMode      string        `iso8583:"22"`
	PANSeq         string        `iso8583:"23"`
	Condition      string        `iso8583:"25"`
	RRN            string        `iso8583:"37"`
	AuthCode       string        `iso8583:"38"`
	Code           string        `iso8583:"39"`
	TID            string        `iso8583:"41"`
	MID            string        `iso8583:"42"`
	Institutions   string        `iso8583:"44"` // Field44
	Currency       string        `iso8583:"49"`
	Balance        string        `iso8583:"54"` // Field54
	ICCData        *field.Binary `iso8583:"55"` // issuer authentication data and scripts
	Text           string        `iso8583:"56"` // the host's message, GBK on the wire
	Private        string        `iso8583:"59"` // private tags: the QR code issued
	Reserved       string        `iso8583:"60"`
	Original       string        `iso8583:"61"`
}

// Echo returns an answer to req holding what an answer repeats of its
// request (docs/acquirer.md): card, processing code, amount, trace, expiry,
// entry mode, sequence number, condition, terminal, merchant, currency and
// fields 60 and 61. Everything else is the host's to add.
func Echo(req *iso8583.Message) (Response, error) {
	var r Response
	if err := Unmarshal(req, &r); err != nil {
		return Response{}, err
	}
	return Response{MTI: AnswerMTI(r.MTI), PAN: r.PAN, ProcessingCode: r.ProcessingCode, Amount: r.Amount,
		STAN: r.STAN, Expiry: r.Expiry, EntryMode: r.EntryMode, PANSeq: r.PANSeq, Condition: r.Condition,
		TID: r.TID, MID: r.MID, Currency: r.Currency, Reserved: r.Reserved, Original: r.Original}, nil
}

// Binary is the value of a binary field, nil for an empty one (absent).
func Binary(b []byte) *field.Binary {
	if len(b) == 0 {
		return nil
	}
	return field.NewBinaryValue(b)
}

// Bytes is a binary field's value, nil when absent.
func Bytes(f *field.Binary) []byte {
	if f == nil {
		return nil
	}
	return f.Value()
}

// Marshal fills a new message of c's dialect from a typed message.
func (c *Codec) Marshal(v any) (*iso8583.Message, error) {
	m := c.NewMessage()
	done, err := marshal(m, v)
	if !done {
		err = m.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("cupmsg: %w", err)
	}
	return m, nil
}

// Unmarshal reads an unpacked message into a typed message (a pointer).
// Fields the type does not name are ignored; fields the message lacks are
// left zero.
func Unmarshal(m *iso8583.Message, v any) error {
	done, err := unmarshal(m, v)
	if !done {
		err = m.Unmarshal(v)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMessage, err)
	}
	return nil
}

// Private tags of field 59 (QR payments).
const (
	TagQRCode    = "A1" // the customer's payment code (consumer-presented)
	TagQRPayload = "A2" // the code the host issued for the customer to scan (merchant-presented)
)

// Field44 is the additional response data as the dialect lays it out: the
// issuer's institution code, then the acquirer's, each left-justified in 11
// characters (docs/acquirer.md).
func Field44(issuer, acquirer string) string {
	return strings.TrimRight(fmt.Sprintf("%-11.11s%-11.11s", issuer, acquirer), " ")
}

// ParseField44 reads the issuer's and the acquirer's institution codes from
// field 44; what is missing is "".
func ParseField44(s string) (issuer, acquirer string) {
	if len(s) > 11 {
		acquirer = strings.TrimSpace(s[11:min(len(s), 22)])
		s = s[:11]
	}
	return strings.TrimSpace(s), acquirer
}

// Track2Text returns field 35's characters from track 2 as read: either
// ASCII ("6222...=3012...") from a stripe, or the packed nibbles of EMV
// tag 57 (trailing F dropped).
func Track2Text(t []byte) string {
	ascii := true
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '=' || c == 'D') {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ReplaceAll(string(t), "=", "D")
	}
	return strings.TrimRight(strings.ToUpper(hex.EncodeToString(t)), "F")
}
