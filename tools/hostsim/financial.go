package hostsim

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
	"kpos/firmware/txrules"
	"kpos/hal"
)

// macChecked returns the terminal of a MAC'd request after checking its
// MAC, or an answer refusing it. A refusal carries no MAC (the host cannot
// MAC for a terminal it does not trust) unless the terminal is trusted but
// not allowed to trade; the terminal returned with a refusal is the one to
// MAC it for, or nil.
func (s *Server) macChecked(m *iso8583.Message, body []byte, op string) (*termState, *answer, error) {
	tk, code := s.terminal(m)
	if code == "58" && op != "authorization" {
		// A revoked terminal may still put right what it did: reversals,
		// settlement and batch upload go through.
		code = ""
	}
	macOK := false
	if tk != nil {
		s.mu.Lock()
		key, alg := tk.macKey, tk.alg
		s.mu.Unlock()
		if key == nil {
			code = "A0" // not signed on: no MAC key
		} else if err := acquirer.VerifyMAC(m, body, hostMAC{key: key, alg: alg}); err != nil {
			code = "A0"
		} else {
			macOK = true
		}
	}
	if code == "" {
		return tk, nil, nil
	}
	mti, _ := m.GetMTI()
	s.record(Record{Type: op, MTI: mti, TID: acquirer.FieldString(m, 41), Code: code, Note: "refused before processing"})
	a, err := s.reply(m, code)
	if macOK && a != nil {
		// A trusted terminal that may not trade (revoked): a clean, MAC'd decline.
		a.mac = true
		return tk, a, err
	}
	return nil, a, err
}

// panOf returns the request's PAN: field 2, or track 2 up to the separator.
func panOf(req acquirer.Request) string {
	if !req.PAN.IsZero() {
		return req.PAN.Digits()
	}
	t := string(req.Track2)
	if i := strings.IndexByte(t, 'D'); i > 0 {
		return t[:i]
	}
	return ""
}

// expiryOf returns YYMM from field 14 or track 2.
func expiryOf(req acquirer.Request) string {
	if req.Expiry != "" {
		return req.Expiry
	}
	t := string(req.Track2)
	if i := strings.IndexByte(t, 'D'); i > 0 && len(t) >= i+5 {
		return t[i+1 : i+5]
	}
	return ""
}

func requestSum(mti string, req acquirer.Request) string {
	return fmt.Sprintf("%s|%d|%d|%x|%d|%d", mti, req.Kind, req.Amount, panOf(req), req.OrigBatch, req.OrigTrace)
}

func masked(pan string) string {
	p, err := hal.ParsePAN(pan)
	if err != nil {
		return ""
	}
	return p.Masked()
}

// financial authorizes a 0100, 0200, 0220 or 0620.
func (s *Server) financial(m *iso8583.Message, body []byte) (*answer, *termState, error) {
	mti, _ := m.GetMTI()
	tk, refusal, err := s.macChecked(m, body, "authorization")
	if refusal != nil || err != nil {
		return refusal, tk, err
	}
	req, _, err := acquirer.ParseRequest(m)
	if err != nil {
		s.record(Record{Type: "authorization", MTI: mti, TID: tk.rec.TID, Code: "30", Note: "format error"})
		a, err := s.reply(m, "30")
		if a != nil {
			a.mac = true
		}
		return a, tk, err
	}
	now := s.cfg.Now()
	key := txnKey{tk.rec.TID, req.Batch, req.Trace}
	pan := panOf(req)

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Record{Type: "authorization", Kind: req.Kind.String(), MTI: mti, TID: tk.rec.TID, Batch: req.Batch,
		Trace: req.Trace, PAN: masked(pan), Amount: req.Amount, Entry: entryNames[req.Entry], OrigTrace: req.OrigTrace}
	if prev, ok := s.txns[key]; ok && req.Kind != acquirer.KindQRQuery {
		if prev.reqSum == requestSum(mti, req) && prev.response != nil {
			rec.Code, rec.Note = prev.rec.Code, "repeat of an identical request: same answer, nothing applied again"
			s.recordLocked(rec)
			msg, err := s.codec.Unpack(prev.response)
			if err != nil {
				return nil, nil, err
			}
			return &answer{msg: msg, mac: true}, tk, nil
		}
		rec.Code, rec.Note = "94", "trace number already used in this batch"
		s.recordLocked(rec)
		a, err := s.reply(m, "94")
		return withMAC(a), tk, err
	}
	if s.reversedKey[key] {
		rec.Code, rec.Note = "94", "arrived after its own reversal: not applied"
		s.recordLocked(rec)
		a, err := s.reply(m, "94")
		return withMAC(a), tk, err
	}
	if req.Amount%100 == 99 && req.Kind != acquirer.KindBalance && req.Kind != acquirer.KindQRQuery {
		rec.Note, rec.Unanswered = "amount trigger 99: never answered, not applied", true
		s.recordLocked(rec)
		return nil, tk, nil
	}

	t := &txn{mti: mti, pan: pan, amount: req.Amount, reqSum: requestSum(mti, req), foreign: pan != "" && !strings.HasPrefix(pan, "62"),
		kind: req.Kind, batch: req.Batch}
	resp, iccOut := s.decide(tk, req, t, now)
	if resp.Code == "00" && req.Kind != acquirer.KindBalance && req.Kind != acquirer.KindQRQuery {
		s.seq++
		resp.RRN = fmt.Sprintf("%s%08d", now.Format("0102"), s.seq%100000000)
		if resp.AuthCode == "" {
			ac, err := s.randomDigits(6)
			if err != nil {
				return nil, nil, err
			}
			resp.AuthCode = ac
		}
		rec.Applied = true
	}
	resp.ICCData = iccOut
	if is := s.data.issuerFor(pan); is != nil && pan != "" {
		resp.IssuerID = is.Code
	}
	resp.AcquirerID = tk.rec.Params.AcquirerIIN
	rec.Code, rec.AuthCode, rec.RRN = resp.Code, resp.AuthCode, resp.RRN
	if rec.Note == "" {
		rec.Note = t.note
	}
	ans, err := acquirer.BuildResponse(s.codec, m, resp, now)
	if err != nil {
		return nil, nil, err
	}
	if req.Kind == acquirer.KindQRQuery {
		s.recordLocked(rec)
		return &answer{msg: ans, mac: true}, tk, nil
	}
	t.rec = s.recordLocked(rec)
	if resp.Code != "00" && resp.Code != "09" {
		t.undo = nil
	}
	if t.undo == nil {
		t.counts = false
	}
	raw, err := s.codec.Pack(ans, nil)
	if err == nil {
		t.response = raw
	}
	s.txns[key] = t
	if resp.RRN != "" {
		s.byRRN[resp.RRN] = t
	}
	if req.Kind == acquirer.KindQRSale && resp.Code == "09" {
		s.qrOrders[key] = t
	}
	return &answer{msg: ans, mac: true}, tk, nil
}

func withMAC(a *answer) *answer {
	if a != nil {
		a.mac = true
	}
	return a
}

// ruleKinds is how the rule book (firmware/txrules) knows each request kind.
var ruleKinds = map[acquirer.Kind]txrules.Kind{
	acquirer.KindSale: txrules.Sale, acquirer.KindQRSale: txrules.Sale, acquirer.KindOfflineAdvice: txrules.Sale,
	acquirer.KindVoid: txrules.Void, acquirer.KindRefund: txrules.Refund, acquirer.KindPreAuth: txrules.PreAuth,
	acquirer.KindPreAuthComplete: txrules.Completion, acquirer.KindCompletionVoid: txrules.CompletionVoid,
	acquirer.KindPreAuthVoid: txrules.PreAuthVoid, acquirer.KindBalance: txrules.Balance,
}

// ruleState is where an authorization the host holds stands.
func ruleState(t *txn) txrules.State {
	switch {
	case t.reversed:
		return txrules.Reversed
	case t.voided, t.released:
		return txrules.Voided
	case t.rec == nil || !t.rec.Applied:
		return txrules.Declined
	}
	return txrules.Standing
}

// ruleOriginal is what the rule book needs to know of an original the host
// holds, for a request in batch.
func ruleOriginal(o *txn, batch uint32) *txrules.Original {
	if o == nil {
		return nil
	}
	c := o.completion
	return &txrules.Original{Kind: ruleKinds[o.kind], State: ruleState(o), Amount: o.amount, Settled: o.batch != batch,
		Refunded: o.refunded, Completed: c != nil && ruleState(c) == txrules.Standing}
}

// spentToday is what the terminal spent on day (YYYYMMDD) by the rule
// book's daily-limit rule: sales and completions that stand.
func (s *Server) spentToday(tk *termState, day string) int64 {
	var sum int64
	for k, t := range s.txns {
		if k.tid != tk.rec.TID || t.rec == nil || t.rec.Time.Format("20060102") != day {
			continue
		}
		if txrules.CountsToday(ruleKinds[t.kind], ruleState(t)) {
			sum += t.amount
		}
	}
	return sum
}

// limits are the terminal's limits for the rule book, nil when its record
// sets none.
func (s *Server) limits(tk *termState, now time.Time) *txrules.Limits {
	p := tk.rec.Params
	if p.PerTxnLimit <= 0 && p.DailyLimit <= 0 {
		return nil
	}
	l := &txrules.Limits{PerTxn: p.PerTxnLimit, Daily: p.DailyLimit, SpentToday: s.spentToday(tk, now.Format("20060102"))}
	if l.PerTxn <= 0 {
		l.PerTxn = math.MaxInt64
	}
	if l.Daily <= 0 {
		l.Daily = math.MaxInt64
	}
	return l
}

// ruled asks the rule book whether req may act on orig (nil: none named or
// none held); it returns the refusal's code and why, or "".
func (s *Server) ruled(tk *termState, req acquirer.Request, orig *txn, now time.Time) (string, string) {
	k, ok := ruleKinds[req.Kind]
	if !ok {
		return "", "" // a QR query moves nothing
	}
	err := txrules.Check(txrules.Action{Kind: k, Amount: req.Amount,
		Original: ruleOriginal(orig, req.Batch), Limits: s.limits(tk, now)})
	var r *txrules.Refusal
	if errors.As(err, &r) {
		return r.HostCode(), r.Detail
	}
	return "", ""
}

// decide applies the approve/decline rules to one request (under s.mu) and
// fills t's effects. It returns the answer and the ICC data for field 55.
func (s *Server) decide(tk *termState, req acquirer.Request, t *txn, now time.Time) (acquirer.Response, []byte) {
	code := func(c, note string) (acquirer.Response, []byte) {
		t.note = note
		return acquirer.Response{Code: c}, nil
	}
	needsCard := req.Kind != acquirer.KindQRSale && req.Kind != acquirer.KindQRQuery
	if req.Kind == acquirer.KindVoid && t.pan == "" {
		// A void of a QR sale names no card: the original stands for it.
		if orig := s.original(tk, req); orig != nil && orig.pan == "" {
			needsCard = false
		}
	}
	var acct *account
	if needsCard {
		acct = s.accounts[t.pan]
		if acct == nil {
			return code("14", "no such card account")
		}
		exp := expiryOf(req)
		if exp == "" {
			exp = acct.card.Expiry
		}
		if exp < now.Format("0601") || acct.card.Expiry < now.Format("0601") {
			return code("54", "card expired")
		}
	}
	if req.Kind == acquirer.KindOfflineAdvice {
		return s.book(req, t, acct)
	}
	switch req.Amount % 100 {
	case 51:
		if req.Kind != acquirer.KindRefund && req.Kind != acquirer.KindVoid {
			return code("51", "amount trigger 51")
		}
	case 55:
		if needsCard {
			return code("55", "amount trigger 55")
		}
	case 91:
		return code("91", "amount trigger 91")
	}
	if req.PIN != nil && acct != nil {
		ok, err := s.checkPIN(tk, req.PIN.Block, t.pan, acct)
		if err != nil {
			return code("99", "PIN block unreadable")
		}
		if !ok {
			acct.pinTries++
			if acct.pinTries >= 3 {
				return code("75", "wrong PIN, tries exceeded")
			}
			return code("55", "wrong PIN")
		}
		if acct.pinTries >= 3 {
			return code("75", "PIN tries exceeded earlier")
		}
		acct.pinTries = 0
	}
	var cg *Cryptogram
	if len(req.ICCData) > 0 && acct != nil {
		objs, err := tlv.Parse(req.ICCData)
		if err != nil {
			return code("30", "field 55 unreadable")
		}
		if _, ok := tlv.Find(objs, 0x9F26); ok {
			issuer := s.data.issuerFor(t.pan)
			if issuer == nil {
				return code("15", "no issuer for this card")
			}
			if cg, err = VerifyARQC(issuer.imk, t.pan, sentPSN(req, objs), req.Amount, req.ICCData); err != nil {
				s.issuerAuthFailures++
				return code(CodeIssuerAuthFailed, "issuer authentication failed: "+err.Error())
			}
		}
	}
	resp := acquirer.Response{Code: "00"}
	// What may follow what, and the limits, are the rule book's
	// (firmware/txrules), as at the terminal; what is left here is the
	// host's own knowledge: the card, the balance, the hold.
	var orig *txn
	switch req.Kind {
	case acquirer.KindVoid, acquirer.KindPreAuthComplete, acquirer.KindPreAuthVoid, acquirer.KindCompletionVoid:
		orig = s.original(tk, req)
	case acquirer.KindRefund:
		if orig = s.byRRN[req.OrigRRN]; orig == nil {
			orig = s.original(tk, req)
		}
		if orig == nil {
			return code("25", "original sale not found")
		}
	}
	if c, why := s.ruled(tk, req, orig, now); c != "" {
		return code(c, why)
	}
	if orig != nil && orig.pan != t.pan {
		if req.Kind == acquirer.KindVoid || req.Kind == acquirer.KindCompletionVoid {
			return code("64", "card differs from the original")
		}
		return code("25", "original not found for this card")
	}
	switch req.Kind {
	case acquirer.KindSale:
		if acct.available < req.Amount {
			return code("51", "insufficient funds")
		}
		acct.available -= req.Amount
		t.undo = func() { acct.available += req.Amount }
		t.counts = true
	case acquirer.KindBalance:
		resp.Balance = acct.available
	case acquirer.KindPreAuth:
		if acct.available < req.Amount {
			return code("51", "insufficient funds")
		}
		acct.available -= req.Amount
		t.hold = req.Amount
		t.undo = func() { acct.available += t.hold; t.hold = 0 }
	case acquirer.KindPreAuthVoid:
		held := orig.hold
		acct.available += held
		orig.hold, orig.released = 0, true
		t.undo = func() { acct.available -= held; orig.hold, orig.released = held, false }
	case acquirer.KindPreAuthComplete:
		held := orig.hold
		if acct.available+held < req.Amount {
			return code("51", "insufficient funds")
		}
		acct.available += held - req.Amount
		orig.hold, orig.completion = 0, t
		t.preauth, t.held = orig, held
		t.undo = func() { acct.available -= held - req.Amount; orig.hold, orig.completion = held, nil }
		t.counts = true
	case acquirer.KindCompletionVoid:
		// The completion is cancelled: its amount comes back and the
		// pre-authorization holds again, open to a new completion or void.
		pre, held := orig.preauth, orig.held
		acct.available += orig.amount - held
		orig.voided, orig.rec.Voided = true, true
		if pre != nil {
			pre.hold, pre.completion = held, nil
		}
		t.undo = func() {
			acct.available -= orig.amount - held
			orig.voided, orig.rec.Voided = false, false
			if pre != nil {
				pre.hold, pre.completion = 0, orig
			}
		}
	case acquirer.KindVoid:
		if acct != nil { // a QR sale's wallet is not held here
			acct.available += orig.amount
		}
		orig.voided, orig.rec.Voided = true, true
		t.undo = func() {
			if acct != nil {
				acct.available -= orig.amount
			}
			orig.voided, orig.rec.Voided = false, false
		}
	case acquirer.KindRefund:
		acct.available += req.Amount
		orig.refunded += req.Amount
		t.undo = func() { acct.available -= req.Amount; orig.refunded -= req.Amount }
		t.counts, t.credit = true, true
	case acquirer.KindQRSale:
		if req.QRCode == "" {
			// Merchant-presented: open an order the customer pays by scanning.
			ref, err := s.randomDigits(12)
			if err != nil {
				return code("96", "no randomness")
			}
			resp.Code = "09"
			resp.QRPayload = "https://qr.kpos.test/pay/" + ref
			t.qrPayload = resp.QRPayload
			t.undo = func() { t.paid = false }
			t.note = "merchant-presented order open"
			return resp, nil
		}
		if !validPaymentCode(req.QRCode) {
			return code("14", "payment code not recognised")
		}
		t.undo = func() {}
		t.counts = true
	case acquirer.KindQRQuery:
		o := s.qrOrders[txnKey{tk.rec.TID, req.OrigBatch, req.OrigTrace}]
		switch {
		case o == nil:
			return code("25", "no such QR order")
		case o.reversed:
			return code("12", "QR order cancelled")
		case !o.paid:
			return code("09", "QR order not yet paid")
		}
		resp.AuthCode, resp.RRN = o.rec.AuthCode, o.rec.RRN
		return resp, nil
	}
	var icc []byte
	if cg != nil {
		ia, err := cg.IssuerAuthData(resp.Code)
		if err != nil {
			return code("96", "ARPC: "+err.Error())
		}
		icc = tlv.Append(icc, 0x91, ia)
		if acct.card.Script71 != "" {
			if b, err := hex.DecodeString(acct.card.Script71); err == nil {
				icc = append(icc, b...)
			}
		}
		if acct.card.Script72 != "" {
			if b, err := hex.DecodeString(acct.card.Script72); err == nil {
				icc = append(icc, b...)
			}
		}
	}
	return resp, icc
}

// validPaymentCode accepts the consumer-presented payment codes of the
// schemes the terminal classifies: 16 to 24 digits (UnionPay 62..., WeChat
// 10..15..., Alipay 25..30...).
func validPaymentCode(c string) bool {
	if len(c) < 16 || len(c) > 24 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}

// original finds the transaction a void, completion or query points to
// (field 61: batch and trace of the same terminal).
func (s *Server) original(tk *termState, req acquirer.Request) *txn {
	ob := req.OrigBatch
	if ob == 0 {
		ob = req.Batch
	}
	t := s.txns[txnKey{tk.rec.TID, ob, req.OrigTrace}]
	if t == nil || t.reversed {
		return nil
	}
	return t
}

// checkPIN decrypts the PIN block under the terminal's PIN key and compares
// it with the card's PIN. The clear block and PIN are wiped.
func (s *Server) checkPIN(tk *termState, block []byte, pan string, acct *account) (bool, error) {
	if tk.pinKey == nil {
		return false, keys.ErrNoKey
	}
	clearBlock, err := keys.DecryptKey(tk.alg, tk.pinKey, block)
	if err != nil {
		return false, err
	}
	defer pinblock.Wipe(clearBlock)
	pin, err := pinblock.Decode(clearBlock[:8], pan)
	if err != nil {
		return false, err
	}
	defer pinblock.Wipe(pin)
	return bytes.Equal(pin, []byte(acct.card.PIN)), nil
}

// book records an offline approval the card already gave: the host cannot
// decline it, even past the balance.
func (s *Server) book(req acquirer.Request, t *txn, acct *account) (acquirer.Response, []byte) {
	acct.available -= req.Amount
	t.undo = func() { acct.available += req.Amount }
	t.counts = true
	t.note = "offline approval booked"
	return acquirer.Response{Code: "00"}, nil
}
