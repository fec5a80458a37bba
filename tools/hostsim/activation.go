package hostsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/keys"
)

// activation is one K-code binding in progress.
type activation struct {
	otp     string
	expires time.Time
	tries   int
	locked  time.Time // zero when not locked
}

// lockout is how long an activation stays locked after too many wrong codes.
const lockout = 30 * time.Minute

// expiringWithin is when a K code counts as expiring soon.
const expiringWithin = 7 * 24 * time.Hour

// normKCode strips separators and case from a K code.
func normKCode(s string) string {
	s = strings.ToUpper(s)
	return strings.NewReplacer("-", "", " ", "").Replace(s)
}

// kcodeStatus is "valid", "expiring", "expired" or "revoked".
func kcodeStatus(t Terminal, now time.Time) string {
	switch {
	case t.Status == "revoked":
		return "revoked"
	case !t.KCodeExpires.IsZero() && now.After(t.KCodeExpires.Add(24*time.Hour)):
		return "expired"
	case !t.KCodeExpires.IsZero() && t.KCodeExpires.Sub(now) < expiringWithin:
		return "expiring"
	}
	return "valid"
}

// kcodeTerminal finds the terminal of an activation request by serial and
// K code; it returns the response code to refuse with otherwise.
func (s *Server) kcodeTerminal(tags cupmsg.Tags) (*termState, string) {
	serial, _ := tags.Get(cupmsg.TagSerial)
	kcode, _ := tags.Get(cupmsg.TagKCode)
	tk := s.bySerial[serial]
	if tk == nil || kcode == "" || normKCode(tk.rec.KCode) != normKCode(kcode) {
		return nil, "K1"
	}
	if tk.kcodeUsed {
		return tk, "K1" // a K code binds once
	}
	switch kcodeStatus(tk.rec, s.cfg.Now()) {
	case "expired":
		return tk, "K2"
	case "revoked":
		return tk, "K3"
	}
	return tk, ""
}

func privateTags(req cupmsg.Management) (cupmsg.Tags, error) {
	return cupmsg.ParseTags(cupmsg.Bytes(req.Private))
}

// activationReply answers an activation message with code and private tags.
func (s *Server) activationReply(req cupmsg.Management, code string, tags cupmsg.Tags) (*answer, *termState, error) {
	a := req.Answer(code, s.cfg.Now())
	var err error
	if a.Private, err = cupmsg.PrivateTags(tags); err != nil {
		return nil, nil, err
	}
	return s.manageAnswer(a)
}

// activate starts a binding: serial and K code in, a one-time code "sent by
// SMS" (LastOTP), the masked phone number out.
func (s *Server) activate(req cupmsg.Management) (*answer, *termState, error) {
	tags, err := privateTags(req)
	if err != nil {
		return s.activationReply(req, "30", nil)
	}
	serial, _ := tags.Get(cupmsg.TagSerial)
	now := s.cfg.Now()
	s.mu.Lock()
	tk, code := s.kcodeTerminal(tags)
	if code == "" && tk.act != nil && now.Before(tk.act.locked) {
		code = "K5"
	}
	if code != "" {
		s.recordLocked(Record{Type: "activation", Code: code, Note: "serial " + serial})
		s.mu.Unlock()
		return s.activationReply(req, code, nil)
	}
	otp, err := s.randomDigits(6)
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	tk.act = &activation{otp: otp, expires: now.Add(s.cfg.OTPValidity)}
	s.recordLocked(Record{Type: "activation", Code: "00", Note: "one-time code sent by SMS for serial " + serial})
	phone := tk.rec.Phone
	s.mu.Unlock()
	s.log.Info("hostsim: one-time code sent by SMS", "serial", serial, "phone", maskPhone(phone), "otp", otp)
	var out cupmsg.Tags
	out.Add(cupmsg.TagPhone, maskPhone(phone))
	out.Add(cupmsg.TagOTPValidity, strconv.Itoa(int(s.cfg.OTPValidity/time.Second)))
	return s.activationReply(req, "00", out)
}

// maskPhone keeps the first three and last four digits.
func maskPhone(p string) string {
	if len(p) < 8 {
		return strings.Repeat("*", len(p))
	}
	return p[:3] + strings.Repeat("*", len(p)-7) + p[len(p)-4:]
}

// LastOTP returns the one-time code of the activation in progress for a
// serial number: what the merchant's phone would have received.
func (s *Server) LastOTP(serial string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.bySerial[serial]
	if tk == nil || tk.act == nil || tk.act.otp == "" {
		return "", false
	}
	return tk.act.otp, true
}

// Revoke revokes a terminal's K code (the bank's action): its binding
// status turns "revoked" and its financial requests are refused.
func (s *Server) Revoke(serial string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.bySerial[serial]
	if tk == nil {
		return false
	}
	tk.rec.Status = "revoked"
	s.recordLocked(Record{Type: "binding-status", TID: tk.rec.TID, Note: "K code revoked for serial " + serial})
	return true
}

// confirmOTP finishes a binding: with the right one-time code the terminal
// receives its identity, its TMK under the K-code transport key, the check
// value and its parameters.
func (s *Server) confirmOTP(req cupmsg.Management) (*answer, *termState, error) {
	tags, err := privateTags(req)
	if err != nil {
		return s.activationReply(req, "30", nil)
	}
	serial, _ := tags.Get(cupmsg.TagSerial)
	kcode, _ := tags.Get(cupmsg.TagKCode)
	otp, _ := tags.Get(cupmsg.TagOTP)
	now := s.cfg.Now()
	s.mu.Lock()
	if tk := s.bySerial[serial]; tk != nil && tk.kcodeUsed && tk.confirmed != nil &&
		normKCode(tk.rec.KCode) == normKCode(kcode) && tk.confirmedOTP == otp {
		// The answer to a successful confirmation was lost and the terminal
		// sends the same code again: the same binding, once more.
		body := tk.confirmed
		s.recordLocked(Record{Type: "otp", TID: tk.rec.TID, Code: "00", Note: "repeated confirmation: same answer"})
		s.mu.Unlock()
		msg, err := s.codec.Unpack(body)
		if err != nil {
			return nil, nil, err
		}
		var again cupmsg.ManagementResponse
		if err := cupmsg.Unmarshal(msg, &again); err != nil {
			return nil, nil, err
		}
		again.STAN = req.STAN
		return s.manageAnswer(again)
	}
	tk, code := s.kcodeTerminal(tags)
	var left int
	if code == "" {
		a := tk.act
		switch {
		case a == nil || a.otp == "":
			code = "K6"
		case now.Before(a.locked):
			code = "K5"
		case now.After(a.expires):
			code = "K6"
			a.otp = ""
		case a.otp != otp:
			a.tries++
			left = s.cfg.OTPTries - a.tries
			code = "K4"
			if left <= 0 {
				code = "K5"
				a.locked = now.Add(lockout)
				a.otp = ""
			}
		}
	}
	if code != "" {
		s.recordLocked(Record{Type: "otp", Code: code, Note: "serial " + serial})
		s.mu.Unlock()
		var out cupmsg.Tags
		if code == "K4" {
			out.Add(cupmsg.TagTriesLeft, strconv.Itoa(left))
		}
		return s.activationReply(req, code, out)
	}
	if tk.tmk == nil {
		k, err := s.random(16)
		if err != nil {
			s.mu.Unlock()
			return nil, nil, err
		}
		tk.tmk = k
	}
	tk.act = nil
	tk.bound = true
	tk.kcodeUsed = true
	tk.confirmedOTP = otp
	tk.pinKey, tk.macKey, tk.dataKey = nil, nil, nil
	rec := tk.rec
	tmk := append([]byte(nil), tk.tmk...)
	alg := tk.alg
	s.recordLocked(Record{Type: "otp", TID: rec.TID, Code: "00", Applied: true, Note: "terminal bound, serial " + serial})
	s.mu.Unlock()

	tkey := keys.DeriveTransportKey(normKCode(kcode), serial)
	enc, err := keys.EncryptKey(alg, tkey, tmk)
	if err != nil {
		return nil, nil, fmt.Errorf("hostsim: TMK under transport key: %w", err)
	}
	kcv, err := keys.CheckValue(alg, tmk)
	if err != nil {
		return nil, nil, err
	}
	var out cupmsg.Tags
	out.Add(cupmsg.TagTMK, strings.ToUpper(hex.EncodeToString(enc)))
	out.Add(cupmsg.TagTMKCheck, strings.ToUpper(hex.EncodeToString(kcv[:4])))
	out = append(out, paramTags(rec.Params)...)
	if !rec.KCodeExpires.IsZero() {
		out.Add(cupmsg.TagKCodeExpiry, rec.KCodeExpires.Format("20060102"))
	}
	ans := req.Answer("00", s.cfg.Now())
	ans.TID, ans.MID, ans.MerchantName = rec.TID, rec.MID, rec.Name
	if ans.Private, err = cupmsg.PrivateTags(out); err != nil {
		return nil, nil, err
	}
	a, _, err := s.manageAnswer(ans)
	if err != nil {
		return nil, nil, fmt.Errorf("hostsim: activation answer: %w", err)
	}
	if body, err := s.codec.Pack(a.msg, nil); err == nil {
		s.mu.Lock()
		tk.confirmed = body
		s.mu.Unlock()
	}
	return a, nil, nil
}

// bindingStatus answers the K-code status check a terminal makes at every
// sign-on and daily.
func (s *Server) bindingStatus(req cupmsg.Management) (*answer, *termState, error) {
	tags, err := privateTags(req)
	if err != nil {
		return s.activationReply(req, "30", nil)
	}
	s.mu.Lock()
	serial, _ := tags.Get(cupmsg.TagSerial)
	kcode, _ := tags.Get(cupmsg.TagKCode)
	tk := s.bySerial[serial]
	if byTID, ok := s.terms[req.TID]; ok && byTID.rec.MID == req.MID {
		tk = byTID // a bound terminal is known by its TID
	} else if tk == nil || normKCode(tk.rec.KCode) != normKCode(kcode) {
		s.mu.Unlock()
		return s.activationReply(req, "K1", nil)
	}
	st := kcodeStatus(tk.rec, s.cfg.Now())
	exp := tk.rec.KCodeExpires
	s.recordLocked(Record{Type: "binding-status", TID: tk.rec.TID, Code: "00", Note: st})
	s.mu.Unlock()
	var out cupmsg.Tags
	out.Add(cupmsg.TagBindingStatus, st)
	if st == "revoked" {
		out.Add(cupmsg.TagStatusReason, "银行已注销此K码 / K code revoked by the bank")
	}
	if !exp.IsZero() {
		out.Add(cupmsg.TagKCodeExpiry, exp.Format("20060102"))
	}
	return s.activationReply(req, "00", out)
}

// params answers a parameter download with the terminal's parameters.
func (s *Server) params(req cupmsg.Management) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code != "" {
		return s.manageReply(req, code)
	}
	s.record(Record{Type: "params", TID: tk.rec.TID, Code: "00"})
	ans := req.Answer("00", s.cfg.Now())
	ans.MerchantName = tk.rec.Name
	var err error
	if ans.Private, err = cupmsg.PrivateTags(paramTags(tk.rec.Params)); err != nil {
		return nil, nil, err
	}
	return s.manageAnswer(ans)
}

// paramTags encodes a terminal's parameters as private tags.
func paramTags(p Params) cupmsg.Tags {
	return cupmsg.Params{TxnLimit: p.PerTxnLimit, DailyLimit: p.DailyLimit, FeeBP: p.FeeBP, SettlementTime: p.SettleTime,
		HostAddr: p.Host, APN: p.APN, Methods: p.Methods, MCC: p.MCC, City: p.City, AcquirerIIN: p.AcquirerIIN}.Tags()
}

// verifyAccount checks a merchant's settlement card (field 2) against the
// card accounts and answers with a masked holder and a reference.
func (s *Server) verifyAccount(req cupmsg.Management) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code != "" {
		return s.manageReply(req, code)
	}
	pan := req.PAN
	s.mu.Lock()
	acct := s.accounts[pan]
	s.mu.Unlock()
	if acct == nil {
		s.record(Record{Type: "account-verification", TID: tk.rec.TID, PAN: masked(pan), Code: "14"})
		return s.activationReply(req, "14", nil)
	}
	sum := sha256.Sum256([]byte("kpos host account reference|" + pan))
	var out cupmsg.Tags
	out.Add(cupmsg.TagHolder, "*"+acct.card.Holder)
	out.Add(cupmsg.TagAccountRef, "ACC"+strings.ToUpper(hex.EncodeToString(sum[:8])))
	s.record(Record{Type: "account-verification", TID: tk.rec.TID, PAN: masked(pan), Code: "00"})
	return s.activationReply(req, "00", out)
}
