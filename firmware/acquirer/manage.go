package acquirer

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// Settlement is the terminal's end-of-day totals for one batch.
type Settlement struct {
	Trace    uint32
	Batch    uint32
	Domestic Totals // UnionPay cards (BIN 62) and QR payments
	Foreign  Totals // every other card
}

// SettleResult is the host's verdict on a settlement.
type SettleResult struct {
	Balanced      bool   // both families reconcile: close the batch
	DomesticRecon string // ReconBalanced, ReconUnbalanced or ReconError
	ForeignRecon  string
	SettleDate    string // field 15, MMDD
	Response      Response
}

// Foreign reports whether a card counts as foreign in settlement totals:
// anything but a UnionPay BIN (62). The host simulator splits the same way.
func Foreign(pan hal.PAN) bool { return !pan.IsZero() && !strings.HasPrefix(pan.Digits(), "62") }

// Settle sends the batch totals (0500) and returns whether the host agrees.
// An unbalanced answer is a result, not an error: the caller uploads the
// batch and closes it. Settlement moves no money, so it is repeated once
// after no answer.
func (c *Client) Settle(ctx context.Context, s Settlement) (SettleResult, error) {
	build := func() (*iso8583.Message, error) {
		m, err := c.managementMessage("0500", s.Trace, s.Batch, "00", NetSettle)
		if err != nil {
			return nil, err
		}
		f48 := Field48{Domestic: s.Domestic, Foreign: s.Foreign, DomesticRecon: "0", ForeignRecon: "0"}
		for _, fv := range []struct {
			id int
			v  string
		}{{48, f48.String()}, {49, "156"}, {63, c.cfg.Operator}} {
			if err := f(m, fv.id, fv.v); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	ans, resp, err := c.idempotentExchange(ctx, "settlement", build, true)
	if err != nil {
		return SettleResult{}, err
	}
	if resp.Code != "00" {
		return SettleResult{Response: resp}, &CodeError{Op: "settlement", Code: resp.Code}
	}
	f48, err := ParseField48(FieldString(ans, 48))
	if err != nil {
		return SettleResult{Response: resp}, fmt.Errorf("%w: settlement answer: %w", ErrNoAnswer, err)
	}
	r := SettleResult{DomesticRecon: f48.DomesticRecon, ForeignRecon: f48.ForeignRecon, SettleDate: FieldString(ans, 15), Response: resp}
	r.Balanced = r.DomesticRecon == ReconBalanced && (r.ForeignRecon == ReconBalanced || r.ForeignRecon == "0" || r.ForeignRecon == "")
	return r, nil
}

// idempotentExchange runs an exchange that may be repeated once after no
// answer (the host recognises the repeat). build makes a fresh message.
func (c *Client) idempotentExchange(ctx context.Context, op string, build func() (*iso8583.Message, error), mac bool) (*iso8583.Message, Response, error) {
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		m, err := build()
		if err != nil {
			return nil, Response{}, fmt.Errorf("%w: %s: %w", ErrNotSent, op, err)
		}
		resp, ans, err := c.exchange(ctx, op, m, mac, c.cfg.Now())
		if err == nil {
			return ans, resp, nil
		}
		lastErr = err
		if !errors.Is(err, ErrNoAnswer) || ctx.Err() != nil {
			break
		}
	}
	return nil, Response{}, lastErr
}

// UploadBatch sends each transaction of the batch (0320: chip items with
// their field 55) and then the end of the upload with the count. Uploads
// move no money and the host files a repeated item once, so each message is
// repeated once after no answer. The end message's trace is the item
// traces' maximum plus one.
func (c *Client) UploadBatch(ctx context.Context, items []Request) error {
	var batch, maxTrace uint32
	for i, it := range items {
		item := it
		batch = item.Batch
		if item.Trace > maxTrace {
			maxTrace = item.Trace
		}
		build := func() (*iso8583.Message, error) { return c.uploadItem(item) }
		_, resp, err := c.idempotentExchange(ctx, "batch upload", build, true)
		if err != nil {
			return fmt.Errorf("acquirer: batch upload item %d of %d: %w", i+1, len(items), err)
		}
		if resp.Code != "00" {
			return &CodeError{Op: "batch upload", Code: resp.Code}
		}
	}
	build := func() (*iso8583.Message, error) {
		m, err := c.managementMessage("0320", maxTrace%999999+1, batch, "00", NetUploadEnd)
		if err != nil {
			return nil, err
		}
		return m, f(m, 48, fmt.Sprintf("%04d", len(items)%10000))
	}
	_, resp, err := c.idempotentExchange(ctx, "batch upload end", build, true)
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "batch upload end", Code: resp.Code}
	}
	return nil
}

// uploadItem maps one journaled transaction to its 0320.
func (c *Client) uploadItem(it Request) (*iso8583.Message, error) {
	o := it
	o.PIN, o.Track2 = nil, nil
	m, err := BuildRequest(c.codec, o, c.identity(), "")
	if err != nil {
		return nil, err
	}
	m.MTI("0320")
	m.UnsetField(61)
	net := NetSettle
	if len(it.ICCData) > 0 {
		net = NetUploadICC
	}
	if err := f(m, 60, Field60{MsgType: "00", Batch: it.Batch, NetCode: net}.String()); err != nil {
		return nil, err
	}
	if it.OrigRRN != "" {
		if err := f(m, 37, it.OrigRRN); err != nil {
			return nil, err
		}
	}
	if it.OrigAuth != "" {
		if err := f(m, 38, it.OrigAuth); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// BindingParams are the parameters a binding (or a parameter download)
// delivers. Amounts in fen, fees in basis points per payment method.
type BindingParams struct {
	TxnLimit       int64
	DailyLimit     int64
	FeeBP          map[string]int
	SettlementTime string // HH:MM
	HostAddr       string
	APN            string
	Methods        []string
	MCC            string
	City           string
	AcquirerIIN    string
}

// Challenge is the host's answer to an activation request.
type Challenge struct {
	PhoneMasked string
	Expires     time.Time
}

// Binding is what the host delivers when the one-time code is right.
type Binding struct {
	TID, MID     string
	MerchantName string
	EncTMK       []byte // the TMK under the K-code transport key
	KCV          []byte // its check value (4 bytes)
	Params       BindingParams
	Expiry       time.Time // the K code's expiry; zero when unsaid
}

// BindingStatus is the host's view of the terminal's K code.
type BindingStatus struct {
	Status string // "valid", "expiring", "expired", "revoked"
	Expiry time.Time
	Reason string // the host's words, for a revocation
}

// AccountCheck is the host's answer to a settlement account verification.
type AccountCheck struct {
	HolderMasked string
	Reference    string
}

// activationMessage builds an 0800 that carries private tags in field 62.
// A blank terminal has no TID or MID yet; fields 41 and 42 are then absent.
func (c *Client) activationMessage(trace uint32, net string, tags Tags) (*iso8583.Message, error) {
	m, err := c.managementMessage("0800", trace, 0, "00", net)
	if err != nil {
		return nil, err
	}
	b, err := tags.Bytes()
	if err != nil {
		return nil, err
	}
	if err := m.BinaryField(62, b); err != nil {
		return nil, fmt.Errorf("acquirer: field 62: %w", err)
	}
	return m, nil
}

// management runs a MAC-less 0800 exchange that may be repeated once and
// returns the answer's private tags; a refusal is a *CodeError.
func (c *Client) management(ctx context.Context, op string, build func() (*iso8583.Message, error)) (*iso8583.Message, Tags, error) {
	ans, resp, err := c.idempotentExchange(ctx, op, build, false)
	if err != nil {
		return nil, nil, err
	}
	tags, terr := ParseTags(FieldBytes(ans, 62))
	if resp.Code != "00" {
		ce := &CodeError{Op: op, Code: resp.Code}
		if v, ok := tags.Get(TagTriesLeft); ok && terr == nil {
			ce.TriesLeft, _ = strconv.Atoi(v)
		}
		return ans, tags, ce
	}
	if terr != nil {
		tags = nil // field 62 holds BER-TLV (CA keys) or nothing: the caller reads it
	}
	return ans, tags, nil
}

// Activate starts a K-code binding: the host sends the merchant a one-time
// code by SMS. kcode is the code's characters as issued (no grouping).
// Refusals are *CodeError with codes K1 (unknown), K2 (expired), K3
// (revoked), K5 (locked).
func (c *Client) Activate(ctx context.Context, trace uint32, serial, kcode string) (Challenge, error) {
	var t Tags
	t.Add(TagSerial, serial)
	t.Add(TagKCode, kcode)
	_, tags, err := c.management(ctx, "activation", func() (*iso8583.Message, error) {
		return c.activationMessage(trace, NetActivate, t)
	})
	if err != nil {
		return Challenge{}, err
	}
	ch := Challenge{}
	ch.PhoneMasked, _ = tags.Get(TagPhone)
	if v, ok := tags.Get(TagOTPValidity); ok {
		if n, err := strconv.Atoi(v); err == nil {
			ch.Expires = c.cfg.Now().Add(time.Duration(n) * time.Second)
		}
	}
	return ch, nil
}

// ConfirmActivation sends the one-time code; the host answers with the
// terminal's identity, its TMK under the K-code transport key and the
// parameters. The caller installs the TMK (keys.Store.InstallTMKUnderTransport
// verifies the check value). Refusals are *CodeError: K4 wrong code (with
// TriesLeft), K5 locked, K6 expired.
func (c *Client) ConfirmActivation(ctx context.Context, trace uint32, serial, kcode, otp string) (Binding, error) {
	var t Tags
	t.Add(TagSerial, serial)
	t.Add(TagKCode, kcode)
	t.Add(TagOTP, otp)
	ans, tags, err := c.management(ctx, "activation confirmation", func() (*iso8583.Message, error) {
		return c.activationMessage(trace, NetActivateOTP, t)
	})
	if err != nil {
		return Binding{}, err
	}
	b := Binding{TID: FieldString(ans, 41), MID: FieldString(ans, 42), MerchantName: strings.TrimSpace(FieldString(ans, 43))}
	encHex, _ := tags.Get(TagTMK)
	kcvHex, _ := tags.Get(TagTMKCheck)
	var err1, err2 error
	b.EncTMK, err1 = hex.DecodeString(encHex)
	b.KCV, err2 = hex.DecodeString(kcvHex)
	if err1 != nil || err2 != nil || len(b.EncTMK) == 0 || len(b.KCV) < 3 || b.TID == "" || b.MID == "" {
		return Binding{}, fmt.Errorf("%w: activation answer lacks identity, TMK or check value", ErrNoAnswer)
	}
	b.Params = paramsFromTags(tags)
	if v, ok := tags.Get(TagKCodeExpiry); ok {
		b.Expiry, _ = time.ParseInLocation("20060102", v, time.Local)
	}
	return b, nil
}

func paramsFromTags(t Tags) BindingParams {
	var p BindingParams
	num := func(id string) int64 {
		v, _ := t.Get(id)
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	p.TxnLimit, p.DailyLimit = num(TagPerTxnLimit), num(TagDailyLimit)
	if v, ok := t.Get(TagFeeRate); ok && v != "" {
		p.FeeBP = map[string]int{}
		for _, kv := range strings.Split(v, ",") {
			k, bp, ok := strings.Cut(kv, ":")
			if n, err := strconv.Atoi(bp); ok && err == nil {
				p.FeeBP[k] = n
			}
		}
	}
	p.SettlementTime, _ = t.Get(TagSettleTime)
	p.HostAddr, _ = t.Get(TagHostAddr)
	p.APN, _ = t.Get(TagAPN)
	if v, ok := t.Get(TagMethods); ok && v != "" {
		p.Methods = strings.Split(v, ",")
	}
	p.MCC, _ = t.Get(TagMCC)
	p.City, _ = t.Get(TagCity)
	p.AcquirerIIN, _ = t.Get(TagAcquirerIIN)
	return p
}

// CheckBinding asks the host for the K code's status (at every sign-on and
// daily). A bound terminal is found by its TID; serial and kcode identify a
// terminal that has none yet.
func (c *Client) CheckBinding(ctx context.Context, trace uint32, serial, kcode string) (BindingStatus, error) {
	var t Tags
	t.Add(TagSerial, serial)
	t.Add(TagKCode, kcode)
	_, tags, err := c.management(ctx, "binding status", func() (*iso8583.Message, error) {
		return c.activationMessage(trace, NetBindingStatus, t)
	})
	if err != nil {
		return BindingStatus{}, err
	}
	var st BindingStatus
	st.Status, _ = tags.Get(TagBindingStatus)
	st.Reason, _ = tags.Get(TagStatusReason)
	if v, ok := tags.Get(TagKCodeExpiry); ok {
		st.Expiry, _ = time.ParseInLocation("20060102", v, time.Local)
	}
	return st, nil
}

// VerifyAccount checks the merchant's own card as settlement account (0800,
// code 804, PAN in field 2). The answer is a masked holder name and the
// host's reference; the terminal keeps those and the masked PAN only.
func (c *Client) VerifyAccount(ctx context.Context, trace uint32, pan hal.PAN) (AccountCheck, error) {
	_, tags, err := c.management(ctx, "account verification", func() (*iso8583.Message, error) {
		m, err := c.activationMessage(trace, NetVerifyAccount, nil)
		if err != nil {
			return nil, err
		}
		m.UnsetField(62)
		return m, f(m, 2, pan.Digits())
	})
	if err != nil {
		return AccountCheck{}, err
	}
	var a AccountCheck
	a.HolderMasked, _ = tags.Get(TagHolder)
	a.Reference, _ = tags.Get(TagAccountRef)
	return a, nil
}

// DownloadParams fetches the terminal's parameters (0800, code 360).
func (c *Client) DownloadParams(ctx context.Context, trace, batch uint32) (BindingParams, error) {
	_, tags, err := c.management(ctx, "parameter download", func() (*iso8583.Message, error) {
		return c.managementMessage("0800", trace, batch, "00", NetParams)
	})
	if err != nil {
		return BindingParams{}, err
	}
	return paramsFromTags(tags), nil
}

// CAKey is an EMV CA public key as the host distributes it.
type CAKey struct {
	RID      []byte
	Index    byte
	Expiry   string // YYYYMMDD
	Modulus  []byte
	Exponent []byte
	Checksum []byte // SHA-1 over RID, index, modulus, exponent
	// Algorithm is DF07, the key algorithm indicator: 01 RSA, 04 SM2 (the
	// 64-byte point X || Y in Modulus, no exponent; DF06 hash 07 SM3).
	Algorithm byte
}

// Status answers: the first byte of field 62 of the 0830 that answers a
// status upload (372, 382) says what follows; the entries come after it in
// BER-TLV. A download answer (370, 380) starts with statusLast when it
// carries the key or parameters asked for.
const (
	statusNone = '0' // nothing (more) to list
	statusLast = '1' // the entries that follow end the list
	statusMore = '2' // more follow: ask again from the count received
)

// maxStatusEntries is what the request's count (n2) can say.
const maxStatusEntries = 99

// statusList runs a status upload (0820 with network code net) and returns
// the entries of the host's list, width TLV objects each, asking again
// from the count received while the host says more follow. Field 62 of the
// request is "1" and that count (two digits).
func (c *Client) statusList(ctx context.Context, op, net string, width int, batch uint32) ([][]tlv.TLV, error) {
	var out [][]tlv.TLV
	for {
		q := []byte(fmt.Sprintf("1%02d", len(out)))
		ans, _, err := c.management(ctx, op, func() (*iso8583.Message, error) {
			m, err := c.downloadMessage("0820", batch, net)
			if err != nil {
				return nil, err
			}
			return m, m.BinaryField(62, q)
		})
		if err != nil {
			return nil, err
		}
		more, entries, err := parseStatus(FieldBytes(ans, 62), width)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoAnswer, op, err)
		}
		out = append(out, entries...)
		if !more {
			return out, nil
		}
		if len(out) > maxStatusEntries {
			return nil, fmt.Errorf("%w: %s: more than %d entries", ErrNoAnswer, op, maxStatusEntries)
		}
	}
}

// parseStatus reads field 62 of a status answer: the status byte, then
// whole entries of width TLV objects each. more reports that the host has
// more to list. A page that says more follow must carry some.
func parseStatus(f62 []byte, width int) (more bool, entries [][]tlv.TLV, err error) {
	if len(f62) == 0 {
		return false, nil, errors.New("no field 62")
	}
	switch f62[0] {
	case statusNone:
		return false, nil, nil
	case statusLast, statusMore:
	default:
		return false, nil, fmt.Errorf("status %q", f62[0])
	}
	objs, err := tlv.Parse(f62[1:])
	if err != nil {
		return false, nil, err
	}
	if len(objs) == 0 || len(objs)%width != 0 {
		return false, nil, fmt.Errorf("%d objects are not whole entries", len(objs))
	}
	for i := 0; i < len(objs); i += width {
		entries = append(entries, objs[i:i+width])
	}
	return f62[0] == statusMore, entries, nil
}

// download runs one download exchange (0800 with network code net, the
// entry asked for in field 62) and returns the entry's BER-TLV.
func (c *Client) download(ctx context.Context, op, net string, q []byte, batch uint32) ([]byte, error) {
	ans, _, err := c.management(ctx, op, func() (*iso8583.Message, error) {
		m, err := c.downloadMessage("0800", batch, net)
		if err != nil {
			return nil, err
		}
		return m, m.BinaryField(62, q)
	})
	if err != nil {
		return nil, err
	}
	f62 := FieldBytes(ans, 62)
	if len(f62) == 0 || f62[0] != statusLast {
		return nil, fmt.Errorf("%w: %s: the host sent nothing for %X", ErrNoAnswer, op, q)
	}
	return f62[1:], nil
}

// downloadMessage builds a message of the download sequence (status
// upload, download, end): fields 41, 42 and 60, and no trace (field 11),
// which these messages do not carry in the dialect, so they use none of
// the terminal's trace numbers.
func (c *Client) downloadMessage(mti string, batch uint32, net string) (*iso8583.Message, error) {
	m := c.codec.NewMessage()
	m.MTI(mti)
	for _, fv := range []struct {
		id int
		v  string
	}{{41, c.cfg.TID}, {42, c.cfg.MID}, {60, Field60{MsgType: "00", Batch: batch, NetCode: net}.String()}} {
		if err := f(m, fv.id, fv.v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// CAKeyID names one CA public key in the host's status answer: 9F06 RID,
// 9F22 index, DF05 expiry (YYYYMMDD).
type CAKeyID struct {
	RID    []byte
	Index  byte
	Expiry string
}

// CAKeyStatus runs the CA public key status upload (0820, 372) and returns
// the host's list.
func (c *Client) CAKeyStatus(ctx context.Context, batch uint32) ([]CAKeyID, error) {
	entries, err := c.statusList(ctx, "CA key status", NetCAKeyQuery, 3, batch)
	if err != nil {
		return nil, err
	}
	out := make([]CAKeyID, 0, len(entries))
	for _, e := range entries {
		if e[0].Tag != 0x9F06 || e[1].Tag != 0x9F22 || e[2].Tag != 0xDF05 || len(e[0].Value) != 5 || len(e[1].Value) != 1 {
			return nil, fmt.Errorf("%w: CA key status is not RID, index, expiry", ErrNoAnswer)
		}
		out = append(out, CAKeyID{RID: e[0].Value, Index: e[1].Value[0], Expiry: string(e[2].Value)})
	}
	return out, nil
}

// DownloadCAKeys fetches every CA public key the host holds: the status
// upload (372), each key (370), then the end (371).
func (c *Client) DownloadCAKeys(ctx context.Context, batch uint32) ([]CAKey, error) {
	return c.DownloadInstallCAKeys(ctx, batch, nil)
}

// DownloadInstallCAKeys is DownloadCAKeys that hands the complete set to
// install before it sends the end (371), so that the end tells the host
// the terminal holds the new keys; an install error is returned and the
// end is not sent.
func (c *Client) DownloadInstallCAKeys(ctx context.Context, batch uint32, install func([]CAKey) error) ([]CAKey, error) {
	keys, _, err := c.SyncCAKeys(ctx, batch, nil, install)
	return keys, err
}

// SyncCAKeys brings the terminal's CA public keys to the host's list: the
// status upload (0820, 372) lists RID, index and expiry of every key; a
// key that held reports the terminal already has with that expiry is not
// downloaded again (RID and index name one key, and a key changes only
// by a new index or a new expiry: EMV Book 2, "Certification Authority
// Public Key Management Principles and Policies"), every other one is
// (0800, 370). install gets the
// complete set in the host's order, held keys included, and must keep the
// old set until it has stored the new one; then the end (0800, 371) tells
// the host the terminal holds the keys, when anything was downloaded.
// fetched is how many keys were downloaded.
func (c *Client) SyncCAKeys(ctx context.Context, batch uint32, held func(CAKeyID) (CAKey, bool), install func([]CAKey) error) (keys []CAKey, fetched int, err error) {
	list, err := c.CAKeyStatus(ctx, batch)
	if err != nil {
		return nil, 0, err
	}
	for _, id := range list {
		if held != nil {
			if k, ok := held(id); ok {
				keys = append(keys, k)
				continue
			}
		}
		var q []byte
		q = tlv.Append(q, 0x9F06, id.RID)
		q = tlv.Append(q, 0x9F22, []byte{id.Index})
		raw, err := c.download(ctx, "CA key download", NetCAKeyDownload, q, batch)
		if err != nil {
			return nil, fetched, err
		}
		k, err := parseCAKey(raw)
		if err != nil {
			return nil, fetched, err
		}
		if !bytes.Equal(k.RID, id.RID) || k.Index != id.Index {
			return nil, fetched, fmt.Errorf("%w: CA key download: asked for %X/%02X, got %X/%02X", ErrNoAnswer, id.RID, id.Index, k.RID, k.Index)
		}
		keys = append(keys, k)
		fetched++
	}
	if install != nil {
		if err := install(keys); err != nil {
			return nil, fetched, err
		}
	}
	if fetched == 0 {
		return keys, 0, nil // nothing was downloaded: there is nothing to end
	}
	_, _, err = c.management(ctx, "CA key download end", func() (*iso8583.Message, error) {
		return c.downloadMessage("0800", batch, NetCAKeyEnd)
	})
	if err != nil {
		return nil, fetched, err
	}
	return keys, fetched, nil
}

func parseCAKey(b []byte) (CAKey, error) {
	objs, err := tlv.Parse(b)
	if err != nil {
		return CAKey{}, fmt.Errorf("%w: CA key: %w", ErrNoAnswer, err)
	}
	get := func(t tlv.Tag) []byte {
		if o, ok := tlv.Find(objs, t); ok {
			return o.Value
		}
		return nil
	}
	k := CAKey{RID: get(0x9F06), Expiry: string(get(0xDF05)), Modulus: get(0xDF02), Exponent: get(0xDF04), Checksum: get(0xDF03)}
	idx := get(0x9F22)
	if a := get(0xDF07); len(a) == 1 {
		k.Algorithm = a[0]
	}
	if len(k.RID) != 5 || len(idx) != 1 || len(k.Modulus) == 0 || (len(k.Exponent) == 0 && k.Algorithm != CAKeySM2) {
		return CAKey{}, fmt.Errorf("%w: CA key lacks RID, index, modulus or exponent", ErrNoAnswer)
	}
	k.Index = idx[0]
	return k, nil
}
