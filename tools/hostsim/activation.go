package hostsim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
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
func (s *Server) kcodeTerminal(tags acquirer.Tags) (*termState, string) {
	serial, _ := tags.Get(acquirer.TagSerial)
	kcode, _ := tags.Get(acquirer.TagKCode)
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

func (s *Server) privateTags(m *iso8583.Message) (acquirer.Tags, error) {
	return acquirer.ParseTags(acquirer.FieldBytes(m, 62))
}

// activationReply answers an activation message with code and private tags.
func (s *Server) activationReply(m *iso8583.Message, code string, tags acquirer.Tags) (*answer, *termState, error) {
	a, err := s.reply(m, code)
	if err != nil {
		return nil, nil, err
	}
	if len(tags) > 0 {
		b, err := tags.Bytes()
		if err != nil {
			return nil, nil, err
		}
		if err := a.msg.BinaryField(62, b); err != nil {
			return nil, nil, err
		}
	}
	return a, nil, nil
}

// activate starts a binding: serial and K code in, a one-time code "sent by
// SMS" (LastOTP), the masked phone number out.
func (s *Server) activate(m *iso8583.Message) (*answer, *termState, error) {
	tags, err := s.privateTags(m)
	if err != nil {
		return s.activationReply(m, "30", nil)
	}
	serial, _ := tags.Get(acquirer.TagSerial)
	now := s.cfg.Now()
	s.mu.Lock()
	tk, code := s.kcodeTerminal(tags)
	if code == "" && tk.act != nil && now.Before(tk.act.locked) {
		code = "K5"
	}
	if code != "" {
		s.recordLocked(Record{Type: "activation", Code: code, Note: "serial " + serial})
		s.mu.Unlock()
		return s.activationReply(m, code, nil)
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
	var out acquirer.Tags
	out.Add(acquirer.TagPhone, maskPhone(phone))
	out.Add(acquirer.TagOTPValidity, strconv.Itoa(int(s.cfg.OTPValidity/time.Second)))
	return s.activationReply(m, "00", out)
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
func (s *Server) confirmOTP(m *iso8583.Message) (*answer, *termState, error) {
	tags, err := s.privateTags(m)
	if err != nil {
		return s.activationReply(m, "30", nil)
	}
	serial, _ := tags.Get(acquirer.TagSerial)
	kcode, _ := tags.Get(acquirer.TagKCode)
	otp, _ := tags.Get(acquirer.TagOTP)
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
		if err := msg.Field(11, acquirer.FieldString(m, 11)); err != nil {
			return nil, nil, err
		}
		return &answer{msg: msg}, nil, nil
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
		var out acquirer.Tags
		if code == "K4" {
			out.Add(acquirer.TagTriesLeft, strconv.Itoa(left))
		}
		return s.activationReply(m, code, out)
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
	var out acquirer.Tags
	out.Add(acquirer.TagTMK, strings.ToUpper(hex.EncodeToString(enc)))
	out.Add(acquirer.TagTMKCheck, strings.ToUpper(hex.EncodeToString(kcv[:4])))
	out = append(out, paramTags(rec.Params)...)
	if !rec.KCodeExpires.IsZero() {
		out.Add(acquirer.TagKCodeExpiry, rec.KCodeExpires.Format("20060102"))
	}
	a, _, err := s.activationReply(m, "00", out)
	if err != nil {
		return nil, nil, err
	}
	for id, v := range map[int]string{41: rec.TID, 42: rec.MID, 43: rec.Name} {
		if err := a.msg.Field(id, v); err != nil {
			return nil, nil, fmt.Errorf("hostsim: field %d: %w", id, err)
		}
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
func (s *Server) bindingStatus(m *iso8583.Message) (*answer, *termState, error) {
	tags, err := s.privateTags(m)
	if err != nil {
		return s.activationReply(m, "30", nil)
	}
	s.mu.Lock()
	serial, _ := tags.Get(acquirer.TagSerial)
	kcode, _ := tags.Get(acquirer.TagKCode)
	tk := s.bySerial[serial]
	if byTID, ok := s.terms[acquirer.FieldString(m, 41)]; ok && byTID.rec.MID == acquirer.FieldString(m, 42) {
		tk = byTID // a bound terminal is known by its TID
	} else if tk == nil || normKCode(tk.rec.KCode) != normKCode(kcode) {
		s.mu.Unlock()
		return s.activationReply(m, "K1", nil)
	}
	st := kcodeStatus(tk.rec, s.cfg.Now())
	exp := tk.rec.KCodeExpires
	s.recordLocked(Record{Type: "binding-status", TID: tk.rec.TID, Code: "00", Note: st})
	s.mu.Unlock()
	var out acquirer.Tags
	out.Add(acquirer.TagBindingStatus, st)
	if st == "revoked" {
		out.Add(acquirer.TagStatusReason, "银行已注销此K码 / K code revoked by the bank")
	}
	if !exp.IsZero() {
		out.Add(acquirer.TagKCodeExpiry, exp.Format("20060102"))
	}
	return s.activationReply(m, "00", out)
}

// params answers a parameter download with the terminal's parameters.
func (s *Server) params(m *iso8583.Message) (*answer, *termState, error) {
	tk, code := s.terminal(m)
	if code != "" {
		a, err := s.reply(m, code)
		return a, nil, err
	}
	out := paramTags(tk.rec.Params)
	s.record(Record{Type: "params", TID: tk.rec.TID, Code: "00"})
	a, _, err := s.activationReply(m, "00", out)
	if a != nil {
		if err := a.msg.Field(43, tk.rec.Name); err != nil {
			return nil, nil, err
		}
	}
	return a, nil, err
}

// paramTags encodes a terminal's parameters as private tags.
func paramTags(p Params) acquirer.Tags {
	var out acquirer.Tags
	out.Add(acquirer.TagPerTxnLimit, strconv.FormatInt(p.PerTxnLimit, 10))
	out.Add(acquirer.TagDailyLimit, strconv.FormatInt(p.DailyLimit, 10))
	methods := make([]string, 0, len(p.FeeBP))
	for m := range p.FeeBP {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var fees []string
	for _, m := range methods {
		fees = append(fees, m+":"+strconv.Itoa(p.FeeBP[m]))
	}
	out.Add(acquirer.TagFeeRate, strings.Join(fees, ","))
	out.Add(acquirer.TagSettleTime, p.SettleTime)
	out.Add(acquirer.TagHostAddr, p.Host)
	out.Add(acquirer.TagAPN, p.APN)
	out.Add(acquirer.TagMethods, strings.Join(p.Methods, ","))
	out.Add(acquirer.TagMCC, p.MCC)
	out.Add(acquirer.TagCity, p.City)
	out.Add(acquirer.TagAcquirerIIN, p.AcquirerIIN)
	return out
}

// verifyAccount checks a merchant's settlement card (field 2) against the
// card accounts and answers with a masked holder and a reference.
func (s *Server) verifyAccount(m *iso8583.Message) (*answer, *termState, error) {
	tk, code := s.terminal(m)
	if code != "" {
		a, err := s.reply(m, code)
		return a, nil, err
	}
	pan := acquirer.FieldString(m, 2)
	s.mu.Lock()
	acct := s.accounts[pan]
	s.mu.Unlock()
	if acct == nil {
		s.record(Record{Type: "account-verification", TID: tk.rec.TID, PAN: masked(pan), Code: "14"})
		return s.activationReply(m, "14", nil)
	}
	sum := sha256.Sum256([]byte("kpos host account reference|" + pan))
	var out acquirer.Tags
	out.Add(acquirer.TagHolder, "*"+acct.card.Holder)
	out.Add(acquirer.TagAccountRef, "ACC"+strings.ToUpper(hex.EncodeToString(sum[:8])))
	s.record(Record{Type: "account-verification", TID: tk.rec.TID, PAN: masked(pan), Code: "00"})
	return s.activationReply(m, "00", out)
}
