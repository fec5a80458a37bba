package acquirer

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/txkind"
	"kpos/hal"
)

// Identity is who the terminal is at the host: fields 41 and 42.
type Identity struct {
	TID string // 8 characters
	MID string // 15 characters
}

// kindSpec maps a transaction kind to the wire: message type, processing
// code (field 3) and message type code (field 60.1).
type kindSpec struct {
	mti     string
	proc    string
	msgType string
	cond    string // field 25
	name    string
}

// kinds is each host kind's message, as the one table of transaction
// kinds (firmware/txkind) declares it; hostKinds links the host's
// numbering of the kinds to that table.
var kinds = func() map[Kind]kindSpec {
	m := make(map[Kind]kindSpec, len(hostKinds))
	for k, t := range hostKinds {
		m[k] = kindSpec{t.Wire.MTI, t.Wire.Proc, t.Wire.MsgType, t.Wire.Cond, t.Host}
	}
	return m
}()

var hostKinds = map[Kind]*txkind.Kind{
	KindSale: txkind.Sale, KindVoid: txkind.Void, KindRefund: txkind.Refund, KindBalance: txkind.Balance,
	KindPreAuth: txkind.PreAuth, KindPreAuthComplete: txkind.Completion, KindPreAuthVoid: txkind.PreAuthVoid,
	KindQRSale: txkind.QRSale, KindQRQuery: txkind.QRQuery, KindOfflineAdvice: txkind.OfflineAdvice,
	KindCompletionVoid: txkind.CompletionVoid,
}

// KindOf is the host kind that carries k (a QR collection travels as a QR
// sale); false when k never goes to the host.
func KindOf(k *txkind.Kind) (Kind, bool) {
	if k == nil || k.Host == "" {
		return 0, false
	}
	for hk, t := range hostKinds {
		if t.Host == k.Host {
			return hk, true
		}
	}
	return 0, false
}

// String names the kind for logs and errors.
func (k Kind) String() string {
	if s, ok := kinds[k]; ok {
		return s.name
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// entryCodes are the first two digits of field 22.
var entryCodes = map[EntryMode]string{
	EntryManual:      "01",
	EntryStripe:      "02",
	EntryQR:          "03",
	EntryChip:        "05",
	EntryContactless: "07",
	EntryFallback:    "80",
}

// Network management information codes (field 60.3) of the dialect.
const (
	NetNone          = "000"
	NetSignOff       = "002"
	NetSignOn3DES    = "004" // PIN, MAC and data keys, double-length 3DES
	NetSignOnSM4     = "005" // PIN, MAC and data keys, SM4 (this project's code)
	NetSettle        = "201" // settlement (0500) and stripe batch upload items (0320)
	NetUploadEnd     = "202" // end of batch upload (0320)
	NetUploadICC     = "203" // chip batch upload item (0320)
	NetParams        = "360" // terminal parameter download
	NetCAKeyQuery    = "370" // CA public key list
	NetCAKeyDownload = "371" // one CA public key
	NetCAKeyEnd      = "372" // CA public key download complete
	NetActivate      = "801" // K-code activation request (this project's code)
	NetActivateOTP   = "802" // K-code activation OTP confirmation
	NetBindingStatus = "803" // K-code binding status check
	NetVerifyAccount = "804" // settlement account verification (this project's code)
)

// Field 53 of a request with a PIN block: ISO 9564 format 0 with the PAN,
// double-length 3DES (or SM4) PIN key, no track encryption.
const (
	SecurityControl3DES = "2600000000000000"
	SecurityControlSM4  = "2700000000000000"
)

func f(m *iso8583.Message, id int, v string) error {
	if err := m.Field(id, v); err != nil {
		return fmt.Errorf("acquirer: field %d: %w", id, err)
	}
	return nil
}

// track2Text returns field 35's characters from track 2 as read: either
// ASCII ("6222...=3012...") from a stripe, or the packed nibbles of EMV
// tag 57 (trailing F dropped).
func track2Text(t []byte) string {
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

// BuildRequest maps a financial request to its message (field 64 is left to
// the packer). security is field 53 for a request with a PIN block.
func BuildRequest(c *Codec, req Request, id Identity, security string) (*iso8583.Message, error) {
	ks, ok := kinds[req.Kind]
	if !ok {
		return nil, fmt.Errorf("acquirer: unknown request kind %d", req.Kind)
	}
	if req.Trace == 0 || req.Trace > 999999 {
		return nil, fmt.Errorf("acquirer: trace %d out of range 1..999999", req.Trace)
	}
	m := c.NewMessage()
	m.MTI(ks.mti)
	set := []struct {
		id int
		v  string
	}{}
	add := func(id int, v string) {
		set = append(set, struct {
			id int
			v  string
		}{id, v})
	}
	if !req.PAN.IsZero() && req.Kind != KindQRSale && req.Kind != KindQRQuery {
		add(2, req.PAN.Digits())
	}
	add(3, ks.proc)
	if req.Kind != KindBalance && req.Kind != KindQRQuery {
		if req.Amount < 0 || req.Amount > 999999999999 {
			return nil, fmt.Errorf("acquirer: amount out of range")
		}
		add(4, fmt.Sprintf("%012d", req.Amount))
	}
	add(11, fmt.Sprintf("%06d", req.Trace))
	if !req.Time.IsZero() {
		add(12, req.Time.Format("150405"))
		add(13, req.Time.Format("0102"))
	}
	if req.Expiry != "" {
		add(14, req.Expiry)
	}
	entry := req.Entry
	if req.Kind == KindQRSale || req.Kind == KindQRQuery {
		entry = EntryQR
	}
	if code, ok := entryCodes[entry]; ok {
		pin := "2"
		if req.PIN != nil || req.PINEntered {
			pin = "1"
		}
		add(22, code+pin)
	}
	if req.PANSeq != "" {
		add(23, strings.Repeat("0", max(0, 3-len(req.PANSeq)))+req.PANSeq)
	}
	add(25, ks.cond)
	if req.PIN != nil {
		add(26, "12")
	}
	if len(req.Track2) > 0 {
		add(35, track2Text(req.Track2))
	}
	if req.OrigRRN != "" && (req.Kind == KindVoid || req.Kind == KindRefund || req.Kind == KindPreAuthComplete || req.Kind == KindPreAuthVoid || req.Kind == KindCompletionVoid) {
		add(37, req.OrigRRN)
	}
	if req.OrigAuth != "" && (req.Kind == KindPreAuthComplete || req.Kind == KindPreAuthVoid || req.Kind == KindVoid || req.Kind == KindCompletionVoid) {
		add(38, req.OrigAuth)
	}
	add(41, id.TID)
	add(42, id.MID)
	cur := req.Currency
	if cur == 0 {
		cur = 156
	}
	add(49, fmt.Sprintf("%03d", cur))
	if req.PIN != nil {
		if security == "" {
			security = SecurityControl3DES
		}
		if want := pinBlockLen(security); len(req.PIN.Block) != want {
			return nil, fmt.Errorf("acquirer: PIN block is %d bytes, want %d", len(req.PIN.Block), want)
		}
		add(53, security)
	}
	f60 := Field60{MsgType: ks.msgType, Batch: req.Batch, NetCode: NetNone, TermCap: "6", ICCond: "0"}
	if req.Entry == EntryFallback {
		f60.ICCond = "2"
	}
	add(60, f60.String())
	switch req.Kind {
	case KindVoid, KindRefund, KindPreAuthComplete, KindPreAuthVoid, KindCompletionVoid, KindQRQuery:
		ob := req.OrigBatch
		if ob == 0 {
			ob = req.Batch
		}
		add(61, Field61{Batch: ob, Trace: req.OrigTrace, Date: req.OrigDate}.String())
	}
	for _, s := range set {
		if err := f(m, s.id, s.v); err != nil {
			return nil, err
		}
	}
	if req.PIN != nil {
		if err := m.BinaryField(52, req.PIN.Block); err != nil {
			return nil, fmt.Errorf("acquirer: field 52: %w", err)
		}
	}
	if len(req.ICCData) > 0 {
		if err := m.BinaryField(55, req.ICCData); err != nil {
			return nil, fmt.Errorf("acquirer: field 55: %w", err)
		}
	}
	if req.Kind == KindQRSale && req.QRCode != "" {
		var t Tags
		t.Add(TagQRCode, req.QRCode)
		b, err := t.Bytes()
		if err != nil {
			return nil, err
		}
		if err := f(m, 59, string(b)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Private tags of field 59 (QR payments).
const (
	TagQRCode    = "A1" // the customer's payment code (consumer-presented)
	TagQRPayload = "A2" // the code the host issued for the customer to scan (merchant-presented)
)

// ParseRequest is BuildRequest's inverse, for the host side: it recovers the
// kind, the request and the terminal's identity. The PIN block is returned
// encrypted, as it came.
func ParseRequest(m *iso8583.Message) (Request, Identity, error) {
	var req Request
	id := Identity{TID: FieldString(m, 41), MID: FieldString(m, 42)}
	mti, _ := m.GetMTI()
	proc := FieldString(m, 3)
	f60, err := ParseField60(FieldString(m, 60))
	if err != nil {
		return req, id, err
	}
	req.Batch = f60.Batch
	entry := FieldString(m, 22)
	for k, ks := range kinds {
		if ks.mti == mti && ks.proc == proc && ks.msgType == f60.MsgType {
			if k == KindSale && strings.HasPrefix(entry, "03") {
				k = KindQRSale
			}
			if k == KindQRSale && !strings.HasPrefix(entry, "03") {
				k = KindSale
			}
			req.Kind = k
			break
		}
	}
	if req.Kind == 0 {
		return req, id, fmt.Errorf("%w: MTI %s, processing code %s, type %s is no known transaction", ErrMessage, mti, proc, f60.MsgType)
	}
	trace, err := strconv.ParseUint(FieldString(m, 11), 10, 32)
	if err != nil {
		return req, id, fmt.Errorf("%w: field 11 missing", ErrMessage)
	}
	req.Trace = uint32(trace)
	if s := FieldString(m, 4); s != "" {
		if req.Amount, err = strconv.ParseInt(s, 10, 64); err != nil {
			return req, id, fmt.Errorf("%w: field 4 not numeric", ErrMessage)
		}
	}
	if s := FieldString(m, 2); s != "" {
		if req.PAN, err = hal.ParsePAN(s); err != nil {
			return req, id, fmt.Errorf("%w: field 2: %w", ErrMessage, err)
		}
	}
	if s := FieldString(m, 49); s != "" {
		c, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return req, id, fmt.Errorf("%w: field 49 not numeric", ErrMessage)
		}
		req.Currency = uint16(c)
	}
	req.Expiry = FieldString(m, 14)
	if s := FieldString(m, 23); len(s) == 3 {
		req.PANSeq = s[1:]
	}
	if t := FieldString(m, 35); t != "" {
		req.Track2 = []byte(t)
	}
	if len(entry) >= 2 {
		for e, code := range entryCodes {
			if entry[:2] == code {
				req.Entry = e
			}
		}
	}
	if b := FieldBytes(m, 52); b != nil {
		req.PIN = &hal.PINBlock{Block: b}
	}
	req.ICCData = FieldBytes(m, 55)
	req.OrigRRN = FieldString(m, 37)
	req.OrigAuth = FieldString(m, 38)
	if s := FieldString(m, 61); s != "" {
		o, err := ParseField61(s)
		if err != nil {
			return req, id, err
		}
		req.OrigBatch, req.OrigTrace, req.OrigDate = o.Batch, o.Trace, o.Date
	}
	if s := FieldString(m, 59); s != "" {
		t, err := ParseTags([]byte(s))
		if err != nil {
			return req, id, err
		}
		req.QRCode, _ = t.Get(TagQRCode)
	}
	if s12, s13 := FieldString(m, 12), FieldString(m, 13); s12 != "" && s13 != "" {
		if t, err := time.ParseInLocation("0102150405", s13+s12, time.Local); err == nil {
			req.Time = t
		}
	}
	return req, id, nil
}

// BuildResponse answers req (the request as received) with resp: the
// request's identifying fields are echoed, the answer's fields added.
func BuildResponse(c *Codec, req *iso8583.Message, resp Response, now time.Time) (*iso8583.Message, error) {
	mti, err := req.GetMTI()
	if err != nil || len(mti) != 4 {
		return nil, fmt.Errorf("%w: request without MTI", ErrMessage)
	}
	m := c.NewMessage()
	m.MTI(mti[:2] + string(mti[2]+1) + mti[3:])
	for _, id := range []int{2, 3, 4, 11, 14, 22, 23, 25, 41, 42, 49, 60, 61} {
		if s := FieldString(req, id); s != "" {
			if err := f(m, id, s); err != nil {
				return nil, err
			}
		}
	}
	if err := f(m, 12, now.Format("150405")); err != nil {
		return nil, err
	}
	if err := f(m, 13, now.Format("0102")); err != nil {
		return nil, err
	}
	if err := f(m, 15, now.Format("0102")); err != nil {
		return nil, err
	}
	if resp.RRN != "" {
		if err := f(m, 37, resp.RRN); err != nil {
			return nil, err
		}
	}
	if resp.AuthCode != "" {
		if err := f(m, 38, resp.AuthCode); err != nil {
			return nil, err
		}
	}
	if err := f(m, 39, resp.Code); err != nil {
		return nil, err
	}
	if resp.Balance != 0 || FieldString(req, 3) == "310000" && resp.Code == "00" {
		cur := FieldString(req, 49)
		if cur == "" {
			cur = "156"
		}
		if err := f(m, 54, Field54{AccountType: "10", AmountType: "02", Currency: cur, Amount: resp.Balance}.String()); err != nil {
			return nil, err
		}
	}
	if len(resp.ICCData) > 0 {
		if err := m.BinaryField(55, resp.ICCData); err != nil {
			return nil, fmt.Errorf("acquirer: field 55: %w", err)
		}
	}
	if resp.IssuerID != "" || resp.AcquirerID != "" {
		if err := f(m, 44, Field44(resp.IssuerID, resp.AcquirerID)); err != nil {
			return nil, err
		}
	}
	if resp.Message != "" {
		if err := f(m, 56, resp.Message); err != nil {
			return nil, err
		}
	}
	if resp.QRPayload != "" {
		var t Tags
		t.Add(TagQRPayload, resp.QRPayload)
		b, err := t.Bytes()
		if err != nil {
			return nil, err
		}
		if err := f(m, 59, string(b)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ParseResponse reads the host's answer to req and checks that it is the
// answer to req: response MTI, same trace number and terminal. A mismatch
// is ErrMismatch: that answer belongs to another request.
func ParseResponse(m *iso8583.Message, req *iso8583.Message, reqTime time.Time) (Response, error) {
	var r Response
	reqMTI, _ := req.GetMTI()
	mti, _ := m.GetMTI()
	if len(reqMTI) != 4 || mti != reqMTI[:2]+string(reqMTI[2]+1)+reqMTI[3:] {
		return r, fmt.Errorf("%w: answer MTI %s to request %s", ErrMismatch, mti, reqMTI)
	}
	if got, want := FieldString(m, 11), FieldString(req, 11); got != want {
		return r, fmt.Errorf("%w: answer trace %s to request trace %s", ErrMismatch, got, want)
	}
	if got, want := FieldString(m, 41), FieldString(req, 41); want != "" && got != want {
		return r, fmt.Errorf("%w: answer for terminal %q", ErrMismatch, got)
	}
	r.Code = FieldString(m, 39)
	if len(r.Code) != 2 {
		return r, fmt.Errorf("%w: no response code", ErrMessage)
	}
	r.AuthCode = strings.TrimSpace(FieldString(m, 38))
	r.RRN = strings.TrimSpace(FieldString(m, 37))
	r.ICCData = FieldBytes(m, 55)
	r.Message = strings.TrimSpace(FieldString(m, 56))
	r.IssuerID, r.AcquirerID = ParseField44(FieldString(m, 44))
	if s := FieldString(m, 54); s != "" {
		b, err := ParseField54(s)
		if err != nil {
			return r, err
		}
		r.Balance = b.Amount
	}
	if s := FieldString(m, 59); s != "" {
		if t, err := ParseTags([]byte(s)); err == nil {
			r.QRPayload, _ = t.Get(TagQRPayload)
		}
	}
	if s12, s13 := FieldString(m, 12), FieldString(m, 13); len(s12) == 6 && len(s13) == 4 {
		year := reqTime.Year()
		if reqTime.IsZero() {
			year = time.Now().Year()
		}
		if t, err := time.ParseInLocation("20060102150405", strconv.Itoa(year)+s13+s12, time.Local); err == nil {
			r.HostTime = t
		}
	}
	return r, nil
}

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
