package acquirer

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer/cupmsg"
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

// Field 53 of a request with a PIN block: ISO 9564 format 0 with the PAN,
// double-length 3DES (or SM4) PIN key, no track encryption.
const (
	SecurityControl3DES = "2600000000000000"
	SecurityControlSM4  = "2700000000000000"
)

// BuildRequest maps a financial request to its message (field 64 is left to
// the packer). security is field 53 for a request with a PIN block.
func BuildRequest(c *Codec, req Request, id Identity, security string) (*iso8583.Message, error) {
	msg, err := requestMessage(req, id, security)
	if err != nil {
		return nil, err
	}
	return c.Marshal(&msg)
}

// requestMessage maps a financial request to its typed message.
func requestMessage(req Request, id Identity, security string) (cupmsg.Request, error) {
	ks, ok := kinds[req.Kind]
	if !ok {
		return cupmsg.Request{}, fmt.Errorf("acquirer: unknown request kind %d", req.Kind)
	}
	if req.Trace == 0 || req.Trace > 999999 {
		return cupmsg.Request{}, fmt.Errorf("acquirer: trace %d out of range 1..999999", req.Trace)
	}
	msg := cupmsg.Request{MTI: ks.mti, ProcessingCode: ks.proc, STAN: fmt.Sprintf("%06d", req.Trace),
		Expiry: req.Expiry, EntryMode: entryMode(req), Condition: ks.cond, Track2: track2(req.Track2),
		TID: id.TID, MID: id.MID, Currency: currency(req.Currency), ICCData: cupmsg.Binary(req.ICCData),
		Reserved: field60(req, ks), Original: field61(req)}
	if !req.PAN.IsZero() && !isQR(req.Kind) {
		msg.PAN = req.PAN.Digits()
	}
	if carriesAmount(req.Kind) {
		if req.Amount < 0 || req.Amount > 999999999999 {
			return cupmsg.Request{}, fmt.Errorf("acquirer: amount out of range")
		}
		msg.Amount = fmt.Sprintf("%012d", req.Amount)
	}
	if !req.Time.IsZero() {
		msg.LocalTime, msg.LocalDate = req.Time.Format("150405"), req.Time.Format("0102")
	}
	if req.PANSeq != "" {
		msg.PANSeq = strings.Repeat("0", max(0, 3-len(req.PANSeq))) + req.PANSeq
	}
	if namesOriginalRRN(req.Kind) {
		msg.OrigRRN = req.OrigRRN
	}
	if namesOriginalAuth(req.Kind) {
		msg.OrigAuth = req.OrigAuth
	}
	if err := setPIN(&msg, req.PIN, security); err != nil {
		return cupmsg.Request{}, err
	}
	if req.Kind == KindQRSale && req.QRCode != "" {
		var t Tags
		t.Add(cupmsg.TagQRCode, req.QRCode)
		b, err := t.Bytes()
		if err != nil {
			return cupmsg.Request{}, err
		}
		msg.Private = string(b)
	}
	return msg, nil
}

// isQR reports whether a kind pays by QR code: it names no card.
func isQR(k Kind) bool { return k == KindQRSale || k == KindQRQuery }

// carriesAmount reports whether a kind's request has field 4.
func carriesAmount(k Kind) bool { return k != KindBalance && k != KindQRQuery }

// namesOriginalRRN reports whether a kind names its original's reference
// (field 37).
func namesOriginalRRN(k Kind) bool {
	switch k {
	case KindVoid, KindRefund, KindPreAuthComplete, KindPreAuthVoid, KindCompletionVoid:
		return true
	}
	return false
}

// namesOriginalAuth reports whether a kind names its original's
// authorization code (field 38).
func namesOriginalAuth(k Kind) bool {
	switch k {
	case KindVoid, KindPreAuthComplete, KindPreAuthVoid, KindCompletionVoid:
		return true
	}
	return false
}

// namesOriginal reports whether a kind points to an original (field 61).
func namesOriginal(k Kind) bool { return namesOriginalRRN(k) || k == KindQRQuery }

// entryMode is field 22: how the card was read, then 1 when a PIN was
// entered (2 when not); "" for an entry mode the dialect does not know.
func entryMode(req Request) string {
	entry := req.Entry
	if isQR(req.Kind) {
		entry = EntryQR
	}
	code, ok := entryCodes[entry]
	if !ok {
		return ""
	}
	if req.PIN != nil || req.PINEntered {
		return code + "1"
	}
	return code + "2"
}

// track2 is field 35, "" without track data.
func track2(t []byte) string {
	if len(t) == 0 {
		return ""
	}
	return cupmsg.Track2Text(t)
}

// currency is field 49: CNY (156) unless said.
func currency(c uint16) string {
	if c == 0 {
		c = 156
	}
	return fmt.Sprintf("%03d", c)
}

// field60 is a financial request's field 60: the kind's message type, the
// batch, the chip reader's capability and whether this is a fallback.
func field60(req Request, ks kindSpec) string {
	f60 := Field60{MsgType: ks.msgType, Batch: req.Batch, NetCode: cupmsg.NetNone, TermCap: "6", ICCond: "0"}
	if req.Entry == EntryFallback {
		f60.ICCond = "2"
	}
	return f60.String()
}

// field61 names the original of a void, refund, completion or query: its
// batch (this batch when unsaid), trace and date; "" for other kinds.
func field61(req Request) string {
	if !namesOriginal(req.Kind) {
		return ""
	}
	ob := req.OrigBatch
	if ob == 0 {
		ob = req.Batch
	}
	return Field61{Batch: ob, Trace: req.OrigTrace, Date: req.OrigDate}.String()
}

// setPIN puts the PIN block (field 52), its capture code (26) and the
// security information (53) in msg, checking the block's size against the
// mode security names.
func setPIN(msg *cupmsg.Request, pin *hal.PINBlock, security string) error {
	if pin == nil {
		return nil
	}
	if security == "" {
		security = SecurityControl3DES
	}
	if want := pinBlockLen(security); len(pin.Block) != want {
		return fmt.Errorf("acquirer: PIN block is %d bytes, want %d", len(pin.Block), want)
	}
	msg.PINCapture, msg.Security, msg.PINBlock = "12", security, cupmsg.Binary(pin.Block)
	return nil
}

// ParseRequest is BuildRequest's inverse, for the host side: it recovers the
// kind, the request and the terminal's identity. The PIN block is returned
// encrypted, as it came.
func ParseRequest(m *iso8583.Message) (Request, Identity, error) {
	var msg cupmsg.Request
	var req Request
	if err := cupmsg.Unmarshal(m, &msg); err != nil {
		return req, Identity{}, err
	}
	id := Identity{TID: msg.TID, MID: msg.MID}
	f60, err := ParseField60(msg.Reserved)
	if err != nil {
		return req, id, err
	}
	req.Batch = f60.Batch
	if req.Kind = kindOf(msg.MTI, msg.ProcessingCode, f60.MsgType, msg.EntryMode); req.Kind == 0 {
		return req, id, fmt.Errorf("%w: MTI %s, processing code %s, type %s is no known transaction", ErrMessage, msg.MTI, msg.ProcessingCode, f60.MsgType)
	}
	trace, err := strconv.ParseUint(msg.STAN, 10, 32)
	if err != nil {
		return req, id, fmt.Errorf("%w: field 11 missing", ErrMessage)
	}
	req.Trace = uint32(trace)
	if err := parseNumbers(msg, &req); err != nil {
		return req, id, err
	}
	req.Expiry = msg.Expiry
	if len(msg.PANSeq) == 3 {
		req.PANSeq = msg.PANSeq[1:]
	}
	if msg.Track2 != "" {
		req.Track2 = []byte(msg.Track2)
	}
	req.Entry = entryOf(msg.EntryMode)
	if b := cupmsg.Bytes(msg.PINBlock); b != nil {
		req.PIN = &hal.PINBlock{Block: b}
	}
	req.ICCData = cupmsg.Bytes(msg.ICCData)
	req.OrigRRN, req.OrigAuth = msg.OrigRRN, msg.OrigAuth
	if err := parseOriginal(msg, &req); err != nil {
		return req, id, err
	}
	if msg.LocalTime != "" && msg.LocalDate != "" {
		if t, err := time.ParseInLocation("0102150405", msg.LocalDate+msg.LocalTime, time.Local); err == nil {
			req.Time = t
		}
	}
	return req, id, nil
}

// kindOf is the kind a request's MTI, processing code and message type
// (60.1) name; a sale read by QR code (entry mode 03) is a QR sale. 0 when
// none.
func kindOf(mti, proc, msgType, entry string) Kind {
	for k, ks := range kinds {
		if ks.mti != mti || ks.proc != proc || ks.msgType != msgType {
			continue
		}
		qr := strings.HasPrefix(entry, "03")
		if k == KindSale && qr {
			return KindQRSale
		}
		if k == KindQRSale && !qr {
			return KindSale
		}
		return k
	}
	return 0
}

// entryOf is the entry mode of field 22, 0 when unknown.
func entryOf(f22 string) EntryMode {
	if len(f22) < 2 {
		return 0
	}
	for e, code := range entryCodes {
		if f22[:2] == code {
			return e
		}
	}
	return 0
}

// parseNumbers reads the amount (4), card (2) and currency (49) of a request.
func parseNumbers(msg cupmsg.Request, req *Request) error {
	var err error
	if msg.Amount != "" {
		if req.Amount, err = strconv.ParseInt(msg.Amount, 10, 64); err != nil {
			return fmt.Errorf("%w: field 4 not numeric", ErrMessage)
		}
	}
	if msg.PAN != "" {
		if req.PAN, err = hal.ParsePAN(msg.PAN); err != nil {
			return fmt.Errorf("%w: field 2: %w", ErrMessage, err)
		}
	}
	if msg.Currency != "" {
		c, err := strconv.ParseUint(msg.Currency, 10, 16)
		if err != nil {
			return fmt.Errorf("%w: field 49 not numeric", ErrMessage)
		}
		req.Currency = uint16(c)
	}
	return nil
}

// parseOriginal reads what a request says of its original (61) and the QR
// payment code (59).
func parseOriginal(msg cupmsg.Request, req *Request) error {
	if msg.Original != "" {
		o, err := ParseField61(msg.Original)
		if err != nil {
			return err
		}
		req.OrigBatch, req.OrigTrace, req.OrigDate = o.Batch, o.Trace, o.Date
	}
	if msg.Private != "" {
		t, err := ParseTags([]byte(msg.Private))
		if err != nil {
			return err
		}
		req.QRCode, _ = t.Get(cupmsg.TagQRCode)
	}
	return nil
}

// BuildResponse answers req (the request as received) with resp: the
// request's identifying fields are echoed, the answer's fields added.
func BuildResponse(c *Codec, req *iso8583.Message, resp Response, now time.Time) (*iso8583.Message, error) {
	msg, err := cupmsg.Echo(req)
	if err != nil {
		return nil, err
	}
	if msg.MTI == "" {
		return nil, fmt.Errorf("%w: request without MTI", ErrMessage)
	}
	msg.LocalTime, msg.LocalDate, msg.SettleDate = now.Format("150405"), now.Format("0102"), now.Format("0102")
	msg.RRN, msg.AuthCode, msg.Code = resp.RRN, resp.AuthCode, resp.Code
	msg.ICCData, msg.Text = cupmsg.Binary(resp.ICCData), resp.Message
	if resp.Balance != 0 || msg.ProcessingCode == "310000" && resp.Code == "00" {
		cur := msg.Currency
		if cur == "" {
			cur = "156"
		}
		msg.Balance = Field54{AccountType: "10", AmountType: "02", Currency: cur, Amount: resp.Balance}.String()
	}
	if resp.IssuerID != "" || resp.AcquirerID != "" {
		msg.Institutions = cupmsg.Field44(resp.IssuerID, resp.AcquirerID)
	}
	if resp.QRPayload != "" {
		var t Tags
		t.Add(cupmsg.TagQRPayload, resp.QRPayload)
		b, err := t.Bytes()
		if err != nil {
			return nil, err
		}
		msg.Private = string(b)
	}
	return c.Marshal(&msg)
}

// ParseResponse reads the host's answer to req and checks that it is the
// answer to req: response MTI, same trace number and terminal. A mismatch
// is ErrMismatch: that answer belongs to another request.
func ParseResponse(m *iso8583.Message, req *iso8583.Message, reqTime time.Time) (Response, error) {
	var r Response
	var ans, asked cupmsg.Response
	if err := cupmsg.Unmarshal(m, &ans); err != nil {
		return r, err
	}
	if err := cupmsg.Unmarshal(req, &asked); err != nil {
		return r, err
	}
	if want := cupmsg.AnswerMTI(asked.MTI); want == "" || ans.MTI != want {
		return r, fmt.Errorf("%w: answer MTI %s to request %s", ErrMismatch, ans.MTI, asked.MTI)
	}
	if ans.STAN != asked.STAN {
		return r, fmt.Errorf("%w: answer trace %s to request trace %s", ErrMismatch, ans.STAN, asked.STAN)
	}
	if asked.TID != "" && ans.TID != asked.TID {
		return r, fmt.Errorf("%w: answer for terminal %q", ErrMismatch, ans.TID)
	}
	if r.Code = ans.Code; len(r.Code) != 2 {
		return r, fmt.Errorf("%w: no response code", ErrMessage)
	}
	r.AuthCode, r.RRN = strings.TrimSpace(ans.AuthCode), strings.TrimSpace(ans.RRN)
	r.ICCData, r.Message = cupmsg.Bytes(ans.ICCData), strings.TrimSpace(ans.Text)
	r.IssuerID, r.AcquirerID = cupmsg.ParseField44(ans.Institutions)
	if ans.Balance != "" {
		b, err := ParseField54(ans.Balance)
		if err != nil {
			return r, err
		}
		r.Balance = b.Amount
	}
	if ans.Private != "" {
		if t, err := ParseTags([]byte(ans.Private)); err == nil {
			r.QRPayload, _ = t.Get(cupmsg.TagQRPayload)
		}
	}
	r.HostTime = hostTime(ans.LocalDate, ans.LocalTime, reqTime)
	return r, nil
}

// hostTime is the host's clock from fields 13 (MMDD) and 12 (hhmmss), in
// the year of the request; zero when absent or malformed.
func hostTime(date, clock string, reqTime time.Time) time.Time {
	if len(clock) != 6 || len(date) != 4 {
		return time.Time{}
	}
	year := reqTime.Year()
	if reqTime.IsZero() {
		year = time.Now().Year()
	}
	t, err := time.ParseInLocation("20060102150405", strconv.Itoa(year)+date+clock, time.Local)
	if err != nil {
		return time.Time{}
	}
	return t
}
