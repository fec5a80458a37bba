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

	"kpos/firmware/acquirer/cupmsg"
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
	msg, err := c.settlement(cupmsg.MTISettlement, s.Trace, s.Batch, cupmsg.NetSettle)
	if err != nil {
		return SettleResult{}, fmt.Errorf("%w: settlement: %w", ErrNotSent, err)
	}
	f48 := Field48{Domestic: s.Domestic, Foreign: s.Foreign, DomesticRecon: "0", ForeignRecon: "0"}
	msg.Totals, msg.Currency, msg.Operator = f48.String(), "156", c.cfg.Operator
	ans, resp, err := c.idempotentExchange(ctx, "settlement", &msg, true)
	if err != nil {
		return SettleResult{}, err
	}
	if resp.Code != "00" {
		return SettleResult{Response: resp}, &CodeError{Op: "settlement", Code: resp.Code}
	}
	got, err := ParseField48(ans.Totals)
	if err != nil {
		return SettleResult{Response: resp}, fmt.Errorf("%w: settlement answer: %w", ErrNoAnswer, err)
	}
	r := SettleResult{DomesticRecon: got.DomesticRecon, ForeignRecon: got.ForeignRecon, SettleDate: ans.SettleDate, Response: resp}
	r.Balanced = r.DomesticRecon == ReconBalanced && (r.ForeignRecon == ReconBalanced || r.ForeignRecon == "0" || r.ForeignRecon == "")
	return r, nil
}

// idempotentExchange runs an exchange that may be repeated once after no
// answer (the host recognises the repeat).
func (c *Client) idempotentExchange(ctx context.Context, op string, msg any, mac bool) (cupmsg.ManagementResponse, Response, error) {
	ans, resp, err := c.exchangeOnce(ctx, op, msg, mac)
	if err != nil && errors.Is(err, ErrNoAnswer) && ctx.Err() == nil {
		ans, resp, err = c.exchangeOnce(ctx, op, msg, mac)
	}
	return ans, resp, err
}

// exchangeOnce runs one exchange of a typed message of the management path
// (a pointer, marshalled afresh each time) and reads the answer as a
// cupmsg.ManagementResponse.
func (c *Client) exchangeOnce(ctx context.Context, op string, msg any, mac bool) (cupmsg.ManagementResponse, Response, error) {
	var typed cupmsg.ManagementResponse
	m, err := c.codec.Marshal(msg)
	if err != nil {
		return typed, Response{}, fmt.Errorf("%w: %s: %w", ErrNotSent, op, err)
	}
	resp, ans, err := c.exchange(ctx, op, m, mac, c.cfg.Now())
	if err != nil {
		return typed, Response{}, err
	}
	if err := cupmsg.Unmarshal(ans, &typed); err != nil {
		return typed, Response{}, fmt.Errorf("%w: %s: %w", ErrNoAnswer, op, err)
	}
	return typed, resp, nil
}

// UploadBatch sends each transaction of the batch (0320: chip items with
// their field 55) and then the end of the upload with the count. Uploads
// move no money and the host files a repeated item once, so each message is
// repeated once after no answer. The end message's trace is the item
// traces' maximum plus one.
func (c *Client) UploadBatch(ctx context.Context, items []Request) error {
	var batch, maxTrace uint32
	for i, it := range items {
		batch = it.Batch
		if it.Trace > maxTrace {
			maxTrace = it.Trace
		}
		msg, err := uploadItem(it, c.identity())
		if err != nil {
			return fmt.Errorf("%w: batch upload item %d of %d: %w", ErrNotSent, i+1, len(items), err)
		}
		_, resp, err := c.idempotentExchange(ctx, "batch upload", &msg, true)
		if err != nil {
			return fmt.Errorf("acquirer: batch upload item %d of %d: %w", i+1, len(items), err)
		}
		if resp.Code != "00" {
			return &CodeError{Op: "batch upload", Code: resp.Code}
		}
	}
	end, err := c.settlement(cupmsg.MTIBatchUpload, maxTrace%999999+1, batch, cupmsg.NetUploadEnd)
	if err != nil {
		return fmt.Errorf("%w: batch upload end: %w", ErrNotSent, err)
	}
	end.Totals = cupmsg.UploadCount(len(items))
	_, resp, err := c.idempotentExchange(ctx, "batch upload end", &end, true)
	if err != nil {
		return err
	}
	if resp.Code != "00" {
		return &CodeError{Op: "batch upload end", Code: resp.Code}
	}
	return nil
}

// uploadItem maps one journaled transaction to its 0320: the financial
// request's layout without PIN, track data or field 61, the original's
// references, and field 60 naming a chip or a stripe item.
func uploadItem(it Request, id Identity) (cupmsg.Request, error) {
	o := it
	o.PIN, o.Track2 = nil, nil
	msg, err := requestMessage(o, id, "")
	if err != nil {
		return cupmsg.Request{}, err
	}
	net := cupmsg.NetSettle
	if len(it.ICCData) > 0 {
		net = cupmsg.NetUploadICC
	}
	msg.MTI, msg.Original = cupmsg.MTIBatchUpload, ""
	msg.Reserved = Field60{MsgType: "00", Batch: it.Batch, NetCode: net}.String()
	if it.OrigRRN != "" {
		msg.OrigRRN = it.OrigRRN
	}
	if it.OrigAuth != "" {
		msg.OrigAuth = it.OrigAuth
	}
	return msg, nil
}

// settlement is the message of a settlement (0500) or of the end of a batch
// upload (0320): trace, terminal, merchant and field 60.
func (c *Client) settlement(mti string, trace, batch uint32, net string) (cupmsg.Settlement, error) {
	stan, err := stan(trace)
	if err != nil {
		return cupmsg.Settlement{}, err
	}
	return cupmsg.Settlement{MTI: mti, STAN: stan, TID: c.cfg.TID, MID: c.cfg.MID, Reserved: field60Net(batch, net)}, nil
}

// BindingParams are the parameters a binding (or a parameter download)
// delivers. Amounts in fen, fees in basis points per payment method.
type BindingParams = cupmsg.Params

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

// activationMessage is an 0800 that carries private tags in field 62.
// A blank terminal has no TID or MID yet; fields 41 and 42 are then absent.
func (c *Client) activationMessage(trace uint32, net string, tags Tags) (cupmsg.Management, error) {
	m, err := c.managementMessage(cupmsg.MTINetwork, trace, 0, net)
	if err != nil {
		return m, err
	}
	m.Private, err = cupmsg.PrivateTags(tags)
	return m, err
}

// management runs a MAC-less 0800 exchange that may be repeated once and
// returns the answer and its private tags; a refusal is a *CodeError.
func (c *Client) management(ctx context.Context, op string, msg cupmsg.Management, err error) (cupmsg.ManagementResponse, Tags, error) {
	if err != nil {
		return cupmsg.ManagementResponse{}, nil, fmt.Errorf("%w: %s: %w", ErrNotSent, op, err)
	}
	ans, resp, err := c.idempotentExchange(ctx, op, &msg, false)
	if err != nil {
		return ans, nil, err
	}
	tags, terr := ParseTags(cupmsg.Bytes(ans.Private))
	if resp.Code != "00" {
		ce := &CodeError{Op: op, Code: resp.Code}
		if v, ok := tags.Get(cupmsg.TagTriesLeft); ok && terr == nil {
			ce.TriesLeft, _ = strconv.Atoi(v)
		}
		return ans, tags, ce
	}
	if terr != nil {
		tags = nil // field 62 holds BER-TLV (CA keys) or nothing: the caller reads it
	}
	return ans, tags, nil
}

// kcodeTags are the serial number and K code of the activation messages.
func kcodeTags(serial, kcode string) Tags {
	var t Tags
	t.Add(cupmsg.TagSerial, serial)
	t.Add(cupmsg.TagKCode, kcode)
	return t
}

// Activate starts a K-code binding: the host sends the merchant a one-time
// code by SMS. kcode is the code's characters as issued (no grouping).
// Refusals are *CodeError with codes K1 (unknown), K2 (expired), K3
// (revoked), K5 (locked).
func (c *Client) Activate(ctx context.Context, trace uint32, serial, kcode string) (Challenge, error) {
	msg, err := c.activationMessage(trace, cupmsg.NetActivate, kcodeTags(serial, kcode))
	_, tags, err := c.management(ctx, "activation", msg, err)
	if err != nil {
		return Challenge{}, err
	}
	ch := Challenge{}
	ch.PhoneMasked, _ = tags.Get(cupmsg.TagPhone)
	if v, ok := tags.Get(cupmsg.TagOTPValidity); ok {
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
	t := kcodeTags(serial, kcode)
	t.Add(cupmsg.TagOTP, otp)
	msg, err := c.activationMessage(trace, cupmsg.NetActivateOTP, t)
	ans, tags, err := c.management(ctx, "activation confirmation", msg, err)
	if err != nil {
		return Binding{}, err
	}
	b := Binding{TID: ans.TID, MID: ans.MID, MerchantName: strings.TrimSpace(ans.MerchantName)}
	encHex, _ := tags.Get(cupmsg.TagTMK)
	kcvHex, _ := tags.Get(cupmsg.TagTMKCheck)
	var err1, err2 error
	b.EncTMK, err1 = hex.DecodeString(encHex)
	b.KCV, err2 = hex.DecodeString(kcvHex)
	if err1 != nil || err2 != nil || len(b.EncTMK) == 0 || len(b.KCV) < 3 || b.TID == "" || b.MID == "" {
		return Binding{}, fmt.Errorf("%w: activation answer lacks identity, TMK or check value", ErrNoAnswer)
	}
	b.Params = cupmsg.ParamsOf(tags)
	if v, ok := tags.Get(cupmsg.TagKCodeExpiry); ok {
		b.Expiry, _ = time.ParseInLocation("20060102", v, time.Local)
	}
	return b, nil
}

// CheckBinding asks the host for the K code's status (at every sign-on and
// daily). A bound terminal is found by its TID; serial and kcode identify a
// terminal that has none yet.
func (c *Client) CheckBinding(ctx context.Context, trace uint32, serial, kcode string) (BindingStatus, error) {
	msg, err := c.activationMessage(trace, cupmsg.NetBindingStatus, kcodeTags(serial, kcode))
	_, tags, err := c.management(ctx, "binding status", msg, err)
	if err != nil {
		return BindingStatus{}, err
	}
	var st BindingStatus
	st.Status, _ = tags.Get(cupmsg.TagBindingStatus)
	st.Reason, _ = tags.Get(cupmsg.TagStatusReason)
	if v, ok := tags.Get(cupmsg.TagKCodeExpiry); ok {
		st.Expiry, _ = time.ParseInLocation("20060102", v, time.Local)
	}
	return st, nil
}

// VerifyAccount checks the merchant's own card as settlement account (0800,
// code 804, PAN in field 2). The answer is a masked holder name and the
// host's reference; the terminal keeps those and the masked PAN only.
func (c *Client) VerifyAccount(ctx context.Context, trace uint32, pan hal.PAN) (AccountCheck, error) {
	msg, err := c.managementMessage(cupmsg.MTINetwork, trace, 0, cupmsg.NetVerifyAccount)
	msg.PAN = pan.Digits()
	_, tags, err := c.management(ctx, "account verification", msg, err)
	if err != nil {
		return AccountCheck{}, err
	}
	var a AccountCheck
	a.HolderMasked, _ = tags.Get(cupmsg.TagHolder)
	a.Reference, _ = tags.Get(cupmsg.TagAccountRef)
	return a, nil
}

// DownloadParams fetches the terminal's parameters (0800, code 360).
func (c *Client) DownloadParams(ctx context.Context, trace, batch uint32) (BindingParams, error) {
	msg, err := c.managementMessage(cupmsg.MTINetwork, trace, batch, cupmsg.NetParams)
	_, tags, err := c.management(ctx, "parameter download", msg, err)
	if err != nil {
		return BindingParams{}, err
	}
	return cupmsg.ParamsOf(tags), nil
}

// CAKey is an EMV CA public key as the host distributes it (cupmsg.CAKey).
type CAKey = cupmsg.CAKey

// CAKeyID names one CA public key in the host's status answer: RID, index
// and expiry (YYYYMMDD).
type CAKeyID = cupmsg.CAKeyID

// statusList runs a status upload (0820 with network code net) and returns
// the entries of the host's list, width TLV objects each, asking again
// from the count received while the host says more follow.
func (c *Client) statusList(ctx context.Context, op, net string, width int, batch uint32) ([][]tlv.TLV, error) {
	var out [][]tlv.TLV
	for {
		msg, err := c.downloadMessage(cupmsg.MTIStatus, batch, net, cupmsg.StatusQuery(len(out)))
		ans, _, err := c.management(ctx, op, msg, err)
		if err != nil {
			return nil, err
		}
		more, entries, err := cupmsg.ParseStatus(cupmsg.Bytes(ans.Private), width)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoAnswer, op, err)
		}
		out = append(out, entries...)
		if !more {
			return out, nil
		}
		if len(out) > cupmsg.MaxStatusEntries {
			return nil, fmt.Errorf("%w: %s: more than %d entries", ErrNoAnswer, op, cupmsg.MaxStatusEntries)
		}
	}
}

// download runs one download exchange (0800 with network code net, the
// entry asked for in field 62) and returns the entry's BER-TLV.
func (c *Client) download(ctx context.Context, op, net string, q []byte, batch uint32) ([]byte, error) {
	msg, err := c.downloadMessage(cupmsg.MTINetwork, batch, net, q)
	ans, _, err := c.management(ctx, op, msg, err)
	if err != nil {
		return nil, err
	}
	entry, err := cupmsg.ParseDownloaded(cupmsg.Bytes(ans.Private))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w (%X)", ErrNoAnswer, op, err, q)
	}
	return entry, nil
}

// downloadMessage is a message of the download sequence (status upload,
// download, end): fields 41, 42, 60 and the query (62), and no trace
// (field 11), which these messages do not carry in the dialect, so they
// use none of the terminal's trace numbers.
func (c *Client) downloadMessage(mti string, batch uint32, net string, q []byte) (cupmsg.Management, error) {
	if c.cfg.TID == "" || c.cfg.MID == "" {
		return cupmsg.Management{}, fmt.Errorf("acquirer: the download sequence needs the terminal's TID and MID")
	}
	return cupmsg.Management{MTI: mti, TID: c.cfg.TID, MID: c.cfg.MID, Reserved: field60Net(batch, net), Private: cupmsg.Binary(q)}, nil
}

// downloadEnd sends the end of a download (0800 with network code net).
func (c *Client) downloadEnd(ctx context.Context, op, net string, batch uint32) error {
	msg, err := c.downloadMessage(cupmsg.MTINetwork, batch, net, nil)
	_, _, err = c.management(ctx, op, msg, err)
	return err
}

// CAKeyStatus runs the CA public key status upload (0820, 372) and returns
// the host's list.
func (c *Client) CAKeyStatus(ctx context.Context, batch uint32) ([]CAKeyID, error) {
	entries, err := c.statusList(ctx, "CA key status", cupmsg.NetCAKeyQuery, cupmsg.CAKeyIDWidth, batch)
	if err != nil {
		return nil, err
	}
	out := make([]CAKeyID, 0, len(entries))
	for _, e := range entries {
		id, err := cupmsg.CAKeyIDOf(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		out = append(out, id)
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
		raw, err := c.download(ctx, "CA key download", cupmsg.NetCAKeyDownload, id.Query(), batch)
		if err != nil {
			return nil, fetched, err
		}
		k, err := cupmsg.ParseCAKey(raw)
		if err != nil {
			return nil, fetched, fmt.Errorf("%w: %w", ErrNoAnswer, err)
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
	if err := c.downloadEnd(ctx, "CA key download end", cupmsg.NetCAKeyEnd, batch); err != nil {
		return nil, fetched, err
	}
	return keys, fetched, nil
}
