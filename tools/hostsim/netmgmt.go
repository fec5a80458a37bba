package hostsim

import (
	"fmt"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/keys"
)

// managementRequest reads a network management request (0800, 0820) and
// its field 60; ok is false when either does not read, and the answer is
// then a format error.
func (s *Server) managementRequest(m *iso8583.Message) (req cupmsg.Management, f60 acquirer.Field60, refusal *answer, err error) {
	if err = cupmsg.Unmarshal(m, &req); err == nil {
		if f60, err = acquirer.ParseField60(req.Reserved); err == nil {
			return req, f60, nil, nil
		}
	}
	refusal, err = s.reply(m, "30")
	return req, f60, refusal, err
}

// networkManagement answers an 0800 by its network management code.
func (s *Server) networkManagement(m *iso8583.Message) (*answer, *termState, error) {
	req, f60, refusal, err := s.managementRequest(m)
	if refusal != nil || err != nil {
		return refusal, nil, err
	}
	switch f60.NetCode {
	case cupmsg.NetSignOn3DES, cupmsg.NetSignOnSM4:
		return s.signOn(req, f60)
	case cupmsg.NetParams:
		return s.params(req)
	case cupmsg.NetCAKeyDownload, cupmsg.NetCAKeyEnd:
		return s.caKeys(req, f60.NetCode)
	case cupmsg.NetICParamDownload, cupmsg.NetICParamEnd:
		return s.icParams(req, f60.NetCode)
	case cupmsg.NetActivate:
		return s.activate(req)
	case cupmsg.NetActivateOTP:
		return s.confirmOTP(req)
	case cupmsg.NetBindingStatus:
		return s.bindingStatus(req)
	case cupmsg.NetVerifyAccount:
		return s.verifyAccount(req)
	}
	return s.manageReply(req, "12")
}

// statusUpload answers an 0820 by its network management code: the
// sign-off, and the status uploads that start the CA key (372) and IC
// parameter (382) downloads. A download code in an 0820 is refused.
func (s *Server) statusUpload(m *iso8583.Message) (*answer, *termState, error) {
	req, f60, refusal, err := s.managementRequest(m)
	if refusal != nil || err != nil {
		return refusal, nil, err
	}
	switch f60.NetCode {
	case cupmsg.NetSignOff:
		return s.signOff(req)
	case cupmsg.NetCAKeyQuery:
		return s.caKeys(req, f60.NetCode)
	case cupmsg.NetICParamQuery:
		return s.icParams(req, f60.NetCode)
	}
	return s.manageReply(req, "12")
}

// manageReply is the bare answer to a management request: code, nothing
// delivered, no MAC.
func (s *Server) manageReply(req cupmsg.Management, code string) (*answer, *termState, error) {
	return s.manageAnswer(req.Answer(code, s.cfg.Now()))
}

// manageAnswer marshals a management answer (no MAC).
func (s *Server) manageAnswer(a cupmsg.ManagementResponse) (*answer, *termState, error) {
	msg, err := s.codec.Marshal(&a)
	if err != nil {
		return nil, nil, err
	}
	return &answer{msg: msg}, nil, nil
}

// terminal returns the bound terminal that m comes from, or the response
// code to refuse it with (with the terminal when it is known and bound but
// revoked, so that the refusal can carry a MAC).
func (s *Server) terminal(m *iso8583.Message) (*termState, string) {
	return s.terminalOf(acquirer.FieldString(m, 41), acquirer.FieldString(m, 42))
}

// terminalOf is terminal for a terminal and merchant identification.
func (s *Server) terminalOf(tid, mid string) (*termState, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk, ok := s.terms[tid]
	if !ok {
		return nil, "97"
	}
	if tk.rec.MID != mid {
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
func (s *Server) signOn(req cupmsg.Management, f60 acquirer.Field60) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code == "" {
		wantSM4 := f60.NetCode == cupmsg.NetSignOnSM4
		if wantSM4 != (tk.alg == keys.AlgSM4) {
			code = "40" // the terminal asks for keys of another algorithm
		}
	}
	if code != "" {
		s.record(Record{Type: "sign-on", TID: req.TID, Code: code})
		return s.manageReply(req, code)
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
	ans := req.Answer("00", s.cfg.Now())
	ans.Private = cupmsg.Binary(f62)
	a, _, err := s.manageAnswer(ans)
	if err != nil {
		return nil, nil, fmt.Errorf("hostsim: sign-on: %w", err)
	}
	s.mu.Lock()
	tk.pinKey, tk.macKey, tk.dataKey = clearKeys[0], clearKeys[1], clearKeys[2]
	s.recordLocked(Record{Type: "sign-on", TID: tk.rec.TID, Batch: f60.Batch, Code: "00", Applied: true})
	s.mu.Unlock()
	return a, tk, nil
}

// signOff forgets the terminal's working keys.
func (s *Server) signOff(req cupmsg.Management) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code == "" {
		s.mu.Lock()
		tk.pinKey, tk.macKey, tk.dataKey = nil, nil, nil
		s.mu.Unlock()
		code = "00"
	}
	s.record(Record{Type: "sign-off", TID: req.TID, Code: code})
	return s.manageReply(req, code)
}
