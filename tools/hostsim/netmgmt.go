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
	case acquirer.NetCAKeyQuery, acquirer.NetCAKeyDownload, acquirer.NetCAKeyEnd:
		return s.caKeys(m, f60.NetCode)
	case acquirer.NetICParamQuery, acquirer.NetICParamDownload, acquirer.NetICParamEnd:
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
