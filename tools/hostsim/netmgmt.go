package hostsim

import (
	"fmt"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/keys"
)

// networkManagement answers an 0800 by its network management code.
func (s *Server) networkManagement(m *iso8583.Message) (*answer, *termState, error) {
	f60, err := acquirer.ParseField60(acquirer.FieldString(m, 60))
	if err != nil {
		a, err := s.reply(m, "30")
		return a, nil, err
	}
	switch f60.NetCode {
	case acquirer.NetSignOn3DES, acquirer.NetSignOnSM4:
		return s.signOn(m, f60)
	case acquirer.NetParams:
		return s.params(m)
	case acquirer.NetCAKeyDownload, acquirer.NetCAKeyEnd:
		return s.caKeys(m, f60.NetCode)
	case acquirer.NetICParamDownload, acquirer.NetICParamEnd:
		return s.icParams(m, f60.NetCode)
	case acquirer.NetActivate:
		return s.activate(m)
	case acquirer.NetActivateOTP:
		return s.confirmOTP(m)
	case acquirer.NetBindingStatus:
		return s.bindingStatus(m)
	case acquirer.NetVerifyAccount:
		return s.verifyAccount(m)
	}
	a, err := s.reply(m, "12")
	return a, nil, err
}

// statusUpload answers an 0820 by its network management code: the
// sign-off, and the status uploads that start the CA key (372) and IC
// parameter (382) downloads. A download code in an 0820 is refused.
func (s *Server) statusUpload(m *iso8583.Message) (*answer, *termState, error) {
	f60, err := acquirer.ParseField60(acquirer.FieldString(m, 60))
	if err != nil {
		a, err := s.reply(m, "30")
		return a, nil, err
	}
	switch f60.NetCode {
	case acquirer.NetSignOff:
		return s.signOff(m)
	case acquirer.NetCAKeyQuery:
		return s.caKeys(m, f60.NetCode)
	case acquirer.NetICParamQuery:
		return s.icParams(m, f60.NetCode)
	}
	a, err := s.reply(m, "12")
	return a, nil, err
}

// Status answers (field 62 of the 0830 to 372 and 382): a status byte,
// then the entries in BER-TLV.
const (
	statusNone = '0' // nothing (more) to list
	statusLast = '1' // the entries that follow end the list (and a download's entry)
	statusMore = '2' // more follow
)

// maxField62 is field 62's limit (LLL, 999 bytes).
const maxField62 = 999

// statusPage is the answer to a status upload whose field 62 ("1" and the
// count the terminal holds, n2) asks for entries from that count on: as
// many as fit in field 62 after the status byte. ok is false when the
// request's field 62 is malformed.
func statusPage(req []byte, entries [][]byte) (f62 []byte, ok bool) {
	if len(req) != 3 || req[0] != '1' || req[1] < '0' || req[1] > '9' || req[2] < '0' || req[2] > '9' {
		return nil, false
	}
	from := int(req[1]-'0')*10 + int(req[2]-'0')
	if from >= len(entries) {
		return []byte{statusNone}, true
	}
	f62 = []byte{statusLast}
	i := from
	for ; i < len(entries) && len(f62)+len(entries[i]) <= maxField62; i++ {
		f62 = append(f62, entries[i]...)
	}
	if i < len(entries) {
		f62[0] = statusMore
	}
	return f62, true
}

// terminal returns the bound terminal that m comes from, or the response
// code to refuse it with (with the terminal when it is known and bound but
// revoked, so that the refusal can carry a MAC).
func (s *Server) terminal(m *iso8583.Message) (*termState, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk, ok := s.terms[acquirer.FieldString(m, 41)]
	if !ok {
		return nil, "97"
	}
	if tk.rec.MID != acquirer.FieldString(m, 42) {
		return nil, "03"
	}
	if !tk.bound || tk.tmk == nil {
		return nil, "97"
	}
	if tk.rec.Status == "revoked" {
		return tk, "58" // known and trusted, but no longer allowed to trade
	}
	return tk, ""
}

// signOn issues new working keys under the terminal's TMK: PIN, MAC and
// data keys, each followed by its 4-byte check value (60 bytes of field 62).
func (s *Server) signOn(m *iso8583.Message, f60 acquirer.Field60) (*answer, *termState, error) {
	tk, code := s.terminal(m)
	if code == "" {
		wantSM4 := f60.NetCode == acquirer.NetSignOnSM4
		if wantSM4 != (tk.alg == keys.AlgSM4) {
			code = "40" // the terminal asks for keys of another algorithm
		}
	}
	if code != "" {
		s.record(Record{Type: "sign-on", TID: acquirer.FieldString(m, 41), Code: code})
		a, err := s.reply(m, code)
		return a, nil, err
	}
	var f62 []byte
	var clearKeys [3][]byte
	for i := range clearKeys {
		k, err := s.random(16)
		if err != nil {
			return nil, nil, err
		}
		enc, err := keys.EncryptKey(tk.alg, tk.tmk, k)
		if err != nil {
			return nil, nil, fmt.Errorf("hostsim: sign-on: %w", err)
		}
		kcv, err := keys.CheckValue(tk.alg, k)
		if err != nil {
			return nil, nil, fmt.Errorf("hostsim: sign-on: %w", err)
		}
		clearKeys[i] = k
		f62 = append(f62, enc...)
		f62 = append(f62, kcv[:4]...)
	}
	a, err := s.reply(m, "00")
	if err != nil {
		return nil, nil, err
	}
	if err := a.msg.BinaryField(62, f62); err != nil {
		return nil, nil, fmt.Errorf("hostsim: sign-on: %w", err)
	}
	s.mu.Lock()
	tk.pinKey, tk.macKey, tk.dataKey = clearKeys[0], clearKeys[1], clearKeys[2]
	s.recordLocked(Record{Type: "sign-on", TID: tk.rec.TID, Batch: f60.Batch, Code: "00", Applied: true})
	s.mu.Unlock()
	return a, tk, nil
}

// signOff forgets the terminal's working keys.
func (s *Server) signOff(m *iso8583.Message) (*answer, *termState, error) {
	tk, code := s.terminal(m)
	if code == "" {
		s.mu.Lock()
		tk.pinKey, tk.macKey, tk.dataKey = nil, nil, nil
		s.mu.Unlock()
		code = "00"
	}
	s.record(Record{Type: "sign-off", TID: acquirer.FieldString(m, 41), Code: code})
	a, err := s.reply(m, code)
	return a, nil, err
}
