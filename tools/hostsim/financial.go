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
			if code == "" {
				code = securityModeCode(tk, m) // a 3DES/SM mixed message
			}
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
		return withMAC(a), tk, err
	}
	now := s.cfg.Now()
	key := txnKey{tk.rec.TID, req.Batch, req.Trace}
	pan := panOf(req)

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Record{Type: "authorization", Kind: req.Kind.String(), MTI: mti, TID: tk.rec.TID, Batch: req.Batch,
		Trace: req.Trace, PAN: masked(pan), Amount: req.Amount, Entry: entryNames[req.Entry], OrigTrace: req.OrigTrace}
	recordSecurity(&rec, tk, req.ICCData)
	if a, done, err := s.repeated(m, key, req, rec); done {
		return a, tk, err
	}
	if req.Amount%100 == 99 && movesMoney(req.Kind) {
		rec.Note, rec.Unanswered = "amount trigger 99: never answered, not applied", true
		s.recordLocked(rec)
		return nil, tk, nil
	}
	t := &txn{mti: mti, pan: pan, amount: req.Amount, reqSum: requestSum(mti, req), foreign: pan != "" && !strings.HasPrefix(pan, "62"),
		kind: req.Kind, batch: req.Batch}
	resp, iccOut := s.decide(tk, req, t, now)
	if resp.Code == "00" && movesMoney(req.Kind) {
		if err := s.reference(&resp, now); err != nil {
			return nil, nil, err
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
	} else {
		s.file(key, t, rec, resp, ans)
	}
	return &answer{msg: ans, mac: true}, tk, nil
}

// movesMoney reports whether a kind moves money (all but the balance
// inquiry and the QR result query): it gets a reference number and an
// authorization code when approved, and amount trigger 99 applies.
func movesMoney(k acquirer.Kind) bool { return k != acquirer.KindBalance && k != acquirer.KindQRQuery }

// reference gives an approval its retrieval reference number and, unless
// the handler set one, an authorization code.
func (s *Server) reference(resp *acquirer.Response, now time.Time) error {
	s.seq++
	resp.RRN = fmt.Sprintf("%s%08d", now.Format("0102"), s.seq%100000000)
	if resp.AuthCode != "" {
		return nil
	}
	ac, err := s.randomDigits(6)
	if err != nil {
		return err
	}
	resp.AuthCode = ac
	return nil
}

// repeated answers (under s.mu) a request whose terminal, batch and trace
// the host has seen: an identical repeat gets the same answer and nothing
// is applied again; anything else reusing the trace, or arriving after its
// own reversal, is refused (94). done is false for a new request. A QR
// result query may be asked again freely.
func (s *Server) repeated(m *iso8583.Message, key txnKey, req acquirer.Request, rec Record) (a *answer, done bool, err error) {
	if prev, ok := s.txns[key]; ok && req.Kind != acquirer.KindQRQuery {
		if prev.reqSum == requestSum(rec.MTI, req) && prev.response != nil {
			rec.Code, rec.Note = prev.rec.Code, "repeat of an identical request: same answer, nothing applied again"
			s.recordLocked(rec)
			msg, err := s.codec.Unpack(prev.response)
			if err != nil {
				return nil, true, err
			}
			return &answer{msg: msg, mac: true}, true, nil
		}
		rec.Code, rec.Note = "94", "trace number already used in this batch"
		s.recordLocked(rec)
		a, err := s.reply(m, "94")
		return withMAC(a), true, err
	}
	if s.reversedKey[key] {
		rec.Code, rec.Note = "94", "arrived after its own reversal: not applied"
		s.recordLocked(rec)
		a, err := s.reply(m, "94")
		return withMAC(a), true, err
	}
	return nil, false, nil
}

// file records (under s.mu) an answered authorization and keeps it for
// repeats, reversals, voids, settlement and QR queries.
func (s *Server) file(key txnKey, t *txn, rec Record, resp acquirer.Response, ans *iso8583.Message) {
	t.rec = s.recordLocked(rec)
	if resp.Code != "00" && resp.Code != "09" {
		t.undo = nil
	}
	if t.undo == nil {
		t.counts = false
	}
	if raw, err := s.codec.Pack(ans, nil); err == nil {
		t.response = raw
	}
	s.txns[key] = t
	if resp.RRN != "" {
		s.byRRN[resp.RRN] = t
	}
	if t.kind == acquirer.KindQRSale && resp.Code == "09" {
		s.qrOrders[key] = t
	}
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

// authz is one authorization under decision (under s.mu): the request, the
// host's record of it, and what the host holds for it.
type authz struct {
	tk   *termState
	req  acquirer.Request
	t    *txn
	card bool     // the request names a card (not a QR payment or the void of one)
	acct *account // the card's account; nil when the request names no card
	orig *txn     // the original a void, refund or completion names
	now  time.Time
}

// decline refuses an authorization with code, noting why.
func (a *authz) decline(code, note string) acquirer.Response {
	a.t.note = note
	return acquirer.Response{Code: code}
}

// handlers apply each kind of request once the checks every kind shares
// have passed: they decide from the host's own knowledge (the card, the
// balance, the hold) and set the transaction's effects and their undo.
var handlers = map[acquirer.Kind]func(*Server, *authz) acquirer.Response{
	acquirer.KindSale:            (*Server).sale,
	acquirer.KindBalance:         (*Server).balance,
	acquirer.KindPreAuth:         (*Server).preAuth,
	acquirer.KindPreAuthVoid:     (*Server).preAuthVoid,
	acquirer.KindPreAuthComplete: (*Server).completion,
	acquirer.KindCompletionVoid:  (*Server).completionVoid,
	acquirer.KindVoid:            (*Server).void,
	acquirer.KindRefund:          (*Server).refund,
	acquirer.KindQRSale:          (*Server).qrSale,
	acquirer.KindQRQuery:         (*Server).qrQuery,
}

// decide applies the approve/decline rules to one request (under s.mu) and
// fills t's effects. It returns the answer and the ICC data for field 55.
// The checks every kind shares come first (the card, the amount triggers,
// the PIN, the ARQC, the original and the rule book), then the kind's
// handler.
func (s *Server) decide(tk *termState, req acquirer.Request, t *txn, now time.Time) (acquirer.Response, []byte) {
	a := &authz{tk: tk, req: req, t: t, now: now}
	if code, why := s.cardAccount(a); code != "" {
		return a.decline(code, why), nil
	}
	if req.Kind == acquirer.KindOfflineAdvice {
		return s.book(req, t, a.acct)
	}
	if code, why := amountTrigger(a); code != "" {
		return a.decline(code, why), nil
	}
	if code, why := s.verifyPIN(a); code != "" {
		return a.decline(code, why), nil
	}
	cg, code, why := s.verifyARQC(a)
	if code != "" {
		return a.decline(code, why), nil
	}
	if code, why := s.checkOriginal(a); code != "" {
		return a.decline(code, why), nil
	}
	handle, ok := handlers[req.Kind]
	if !ok {
		return a.decline("12", "no handler for "+req.Kind.String()), nil
	}
	resp := handle(s, a)
	if cg == nil || resp.Code != "00" {
		return resp, nil // a decline carries no issuer data
	}
	icc, err := issuerData(cg, resp.Code, a.acct)
	if err != nil {
		return a.decline("96", "ARPC: "+err.Error()), nil
	}
	return resp, icc
}

// cardAccount finds the account of the request's card and checks that the
// card has not expired; a QR payment, and the void of one, name no card.
func (s *Server) cardAccount(a *authz) (string, string) {
	a.card = a.req.Kind != acquirer.KindQRSale && a.req.Kind != acquirer.KindQRQuery
	if a.req.Kind == acquirer.KindVoid && a.t.pan == "" {
		// A void of a QR sale names no card: the original stands for it.
		if orig := s.original(a.tk, a.req); orig != nil && orig.pan == "" {
			a.card = false
		}
	}
	if !a.card {
		return "", ""
	}
	if a.acct = s.accounts[a.t.pan]; a.acct == nil {
		return "14", "no such card account"
	}
	exp := expiryOf(a.req)
	if exp == "" {
		exp = a.acct.card.Expiry
	}
	if month := a.now.Format("0601"); exp < month || a.acct.card.Expiry < month {
		return "54", "card expired"
	}
	return "", ""
}

// amountTrigger declines by the amount's last two digits, as test hosts do:
// 51 (not for a refund or void), 55 (for a card) and 91.
func amountTrigger(a *authz) (string, string) {
	switch a.req.Amount % 100 {
	case 51:
		if a.req.Kind != acquirer.KindRefund && a.req.Kind != acquirer.KindVoid {
			return "51", "amount trigger 51"
		}
	case 55:
		if a.card {
			return "55", "amount trigger 55"
		}
	case 91:
		return "91", "amount trigger 91"
	}
	return "", ""
}

// verifyPIN checks an online PIN against the card's: a wrong one is 55, the
// third wrong one in a row 75, and after that even the right one is 75.
func (s *Server) verifyPIN(a *authz) (string, string) {
	if a.req.PIN == nil || a.acct == nil {
		return "", ""
	}
	ok, err := s.checkPIN(a.tk, a.req.PIN.Block, a.t.pan, a.acct)
	if err != nil {
		return "99", "PIN block unreadable"
	}
	if !ok {
		a.acct.pinTries++
		if a.acct.pinTries >= 3 {
			return "75", "wrong PIN, tries exceeded"
		}
		return "55", "wrong PIN"
	}
	if a.acct.pinTries >= 3 {
		return "75", "PIN tries exceeded earlier"
	}
	a.acct.pinTries = 0
	return "", ""
}

// verifyARQC checks the card's cryptogram (tag 9F26 of field 55) with the
// issuer's keys; the cryptogram is returned for the answer's ARPC.
func (s *Server) verifyARQC(a *authz) (*Cryptogram, string, string) {
	if len(a.req.ICCData) == 0 || a.acct == nil {
		return nil, "", ""
	}
	objs, err := tlv.Parse(a.req.ICCData)
	if err != nil {
		return nil, "30", "field 55 unreadable"
	}
	if _, ok := tlv.Find(objs, 0x9F26); !ok {
		return nil, "", ""
	}
	issuer := s.data.issuerFor(a.t.pan)
	if issuer == nil {
		return nil, "15", "no issuer for this card"
	}
	cg, err := VerifyARQC(issuer.imk, a.t.pan, sentPSN(a.req, objs), a.req.Amount, a.req.ICCData)
	if err != nil {
		s.issuerAuthFailures++
		return nil, CodeIssuerAuthFailed, "issuer authentication failed: " + err.Error()
	}
	return cg, "", ""
}

// checkOriginal finds the original a void, refund or completion names and
// asks the rule book (firmware/txrules), as the terminal does, whether the
// request may follow it and fits the limits; the original must be of the
// same card.
func (s *Server) checkOriginal(a *authz) (string, string) {
	switch a.req.Kind {
	case acquirer.KindVoid, acquirer.KindPreAuthComplete, acquirer.KindPreAuthVoid, acquirer.KindCompletionVoid:
		a.orig = s.original(a.tk, a.req)
	case acquirer.KindRefund:
		if a.orig = s.byRRN[a.req.OrigRRN]; a.orig == nil {
			a.orig = s.original(a.tk, a.req)
		}
		if a.orig == nil {
			return "25", "original sale not found"
		}
	}
	if c, why := s.ruled(a.tk, a.req, a.orig, a.now); c != "" {
		return c, why
	}
	if a.orig != nil && a.orig.pan != a.t.pan {
		if a.req.Kind == acquirer.KindVoid || a.req.Kind == acquirer.KindCompletionVoid {
			return "64", "card differs from the original"
		}
		return "25", "original not found for this card"
	}
	return "", ""
}

// issuerData is field 55 of an answer to a chip card: the ARPC (tag 91) for
// code and the card's issuer scripts (71, 72).
func issuerData(cg *Cryptogram, code string, acct *account) ([]byte, error) {
	ia, err := cg.IssuerAuthData(code)
	if err != nil {
		return nil, err
	}
	icc := tlv.Append(nil, 0x91, ia)
	for _, script := range []string{acct.card.Script71, acct.card.Script72} {
		if script == "" {
			continue
		}
		if b, err := hex.DecodeString(script); err == nil {
			icc = append(icc, b...)
		}
	}
	return icc, nil
}

// sale takes the amount from the card's balance.
func (s *Server) sale(a *authz) acquirer.Response {
	acct, amount := a.acct, a.req.Amount
	if acct.available < amount {
		return a.decline("51", "insufficient funds")
	}
	acct.available -= amount
	a.t.undo = func() { acct.available += amount }
	a.t.counts = true
	return acquirer.Response{Code: "00"}
}

// balance tells the card's balance.
func (s *Server) balance(a *authz) acquirer.Response {
	return acquirer.Response{Code: "00", Balance: a.acct.available}
}

// preAuth holds the amount on the card.
func (s *Server) preAuth(a *authz) acquirer.Response {
	acct, t := a.acct, a.t
	if acct.available < a.req.Amount {
		return a.decline("51", "insufficient funds")
	}
	acct.available -= a.req.Amount
	t.hold = a.req.Amount
	t.undo = func() { acct.available += t.hold; t.hold = 0 }
	return acquirer.Response{Code: "00"}
}

// preAuthVoid releases a pre-authorization's hold.
func (s *Server) preAuthVoid(a *authz) acquirer.Response {
	acct, orig := a.acct, a.orig
	held := orig.hold
	acct.available += held
	orig.hold, orig.released = 0, true
	a.t.undo = func() { acct.available -= held; orig.hold, orig.released = held, false }
	return acquirer.Response{Code: "00"}
}

// completion closes a pre-authorization: its hold is released and the
// completion's amount taken.
func (s *Server) completion(a *authz) acquirer.Response {
	acct, orig, t, amount := a.acct, a.orig, a.t, a.req.Amount
	held := orig.hold
	if acct.available+held < amount {
		return a.decline("51", "insufficient funds")
	}
	acct.available += held - amount
	orig.hold, orig.completion = 0, t
	t.preauth, t.held = orig, held
	t.undo = func() { acct.available -= held - amount; orig.hold, orig.completion = held, nil }
	t.counts = true
	return acquirer.Response{Code: "00"}
}

// completionVoid cancels a completion: its amount comes back and the
// pre-authorization holds again, open to a new completion or void.
func (s *Server) completionVoid(a *authz) acquirer.Response {
	acct, orig := a.acct, a.orig
	pre, held := orig.preauth, orig.held
	acct.available += orig.amount - held
	orig.voided, orig.rec.Voided = true, true
	if pre != nil {
		pre.hold, pre.completion = held, nil
	}
	a.t.undo = func() {
		acct.available -= orig.amount - held
		orig.voided, orig.rec.Voided = false, false
		if pre != nil {
			pre.hold, pre.completion = 0, orig
		}
	}
	return acquirer.Response{Code: "00"}
}

// void cancels a sale of the open batch: its amount comes back to the card
// (a QR sale's wallet is not held here).
func (s *Server) void(a *authz) acquirer.Response {
	acct, orig := a.acct, a.orig
	if acct != nil {
		acct.available += orig.amount
	}
	orig.voided, orig.rec.Voided = true, true
	a.t.undo = func() {
		if acct != nil {
			acct.available -= orig.amount
		}
		orig.voided, orig.rec.Voided = false, false
	}
	return acquirer.Response{Code: "00"}
}

// refund gives back part or all of a sale.
func (s *Server) refund(a *authz) acquirer.Response {
	acct, orig, amount := a.acct, a.orig, a.req.Amount
	acct.available += amount
	orig.refunded += amount
	a.t.undo = func() { acct.available -= amount; orig.refunded -= amount }
	a.t.counts, a.t.credit = true, true
	return acquirer.Response{Code: "00"}
}

// qrSale takes a consumer-presented payment code, or opens a
// merchant-presented order the customer pays by scanning.
func (s *Server) qrSale(a *authz) acquirer.Response {
	t := a.t
	if a.req.QRCode == "" {
		ref, err := s.randomDigits(12)
		if err != nil {
			return a.decline("96", "no randomness")
		}
		t.qrPayload = "https://qr.kpos.test/pay/" + ref
		t.undo = func() { t.paid = false }
		t.note = "merchant-presented order open"
		return acquirer.Response{Code: "09", QRPayload: t.qrPayload}
	}
	if !validPaymentCode(a.req.QRCode) {
		return a.decline("14", "payment code not recognised")
	}
	t.undo = func() {}
	t.counts = true
	return acquirer.Response{Code: "00"}
}

// qrQuery tells whether a merchant-presented order has been paid.
func (s *Server) qrQuery(a *authz) acquirer.Response {
	o := s.qrOrders[txnKey{a.tk.rec.TID, a.req.OrigBatch, a.req.OrigTrace}]
	switch {
	case o == nil:
		return a.decline("25", "no such QR order")
	case o.reversed:
		return a.decline("12", "QR order cancelled")
	case !o.paid:
		return a.decline("09", "QR order not yet paid")
	}
	return acquirer.Response{Code: "00", AuthCode: o.rec.AuthCode, RRN: o.rec.RRN}
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
	pin, err := decodePIN(tk.alg, clearBlock, pan)
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
