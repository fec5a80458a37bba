package hostsim

import (
	"bytes"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
	"kpos/firmware/emv/emvconfig"
)

// ICParamsOf turns a terminal parameter set (testdata/emv/terminal.toml as
// the kernel reads it) into the IC card parameters the host distributes.
func ICParamsOf(cfg emvconfig.Config) []acquirer.ICParams {
	var out []acquirer.ICParams
	for _, a := range cfg.AIDs {
		p := acquirer.ICParams{AID: bytes.Clone(a.AID), Partial: a.Partial, Version: a.Versions[0][:],
			TACDefault: bytes.Clone(a.TACDefault[:]), TACOnline: bytes.Clone(a.TACOnline[:]), TACDenial: bytes.Clone(a.TACDenial[:]),
			FloorLimit: a.FloorLimit, RandomThreshold: a.RandomThreshold, RandomMax: a.RandomMax, RandomTarget: a.RandomTarget,
			OnlinePIN: true}
		for _, e := range a.DefaultDDOL {
			p.DDOL = append(p.DDOL, e.Tag.Bytes()...)
			p.DDOL = append(p.DDOL, byte(e.Length))
		}
		if a.Contactless.Enabled {
			p.CLFloorLimit, p.CLTxnLimit, p.CLCVMLimit = a.Contactless.FloorLimit, a.Contactless.TxnLimit, a.Contactless.CVMLimit
		}
		out = append(out, p)
	}
	return out
}

// SetICParams makes p the parameters the host distributes for its AID
// (added when new) and flags the next answer to every terminal it knows
// with RequireICParams, as an acquirer does when it changes an AID's
// parameters.
func (s *Server) SetICParams(p acquirer.ICParams) {
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced := false
	for i, x := range s.cfg.ICParams {
		if bytes.Equal(x.AID, p.AID) {
			s.cfg.ICParams[i], replaced = p, true
		}
	}
	if !replaced {
		s.cfg.ICParams = append(s.cfg.ICParams, p)
	}
	s.requireAllLocked(acquirer.RequireICParams)
}

// ICParams returns the parameters the host distributes for aid.
func (s *Server) ICParams(aid []byte) (acquirer.ICParams, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.cfg.ICParams {
		if bytes.Equal(x.AID, aid) {
			return x, true
		}
	}
	return acquirer.ICParams{}, false
}

// icParams answers the IC parameter download: the status upload (0820,
// 382) lists the AIDs (9F06), a page at a time; 380 returns the parameters
// of the AID the request names after the status byte; 381 acknowledges
// the end.
func (s *Server) icParams(req cupmsg.Management, net string) (*answer, *termState, error) {
	tk, code := s.terminalOf(req.TID, req.MID)
	if code != "" {
		return s.manageReply(req, code)
	}
	s.mu.Lock()
	params := append([]acquirer.ICParams(nil), s.cfg.ICParams...)
	s.mu.Unlock()
	var f62 []byte
	switch net {
	case cupmsg.NetICParamQuery:
		var entries [][]byte
		for _, p := range params {
			entries = append(entries, cupmsg.AIDQuery(p.AID))
		}
		var ok bool
		if f62, ok = cupmsg.StatusPage(cupmsg.Bytes(req.Private), entries); !ok {
			return s.manageReply(req, "30")
		}
	case cupmsg.NetICParamDownload:
		aid, err := cupmsg.ParseAIDQuery(cupmsg.Bytes(req.Private))
		if err != nil {
			return s.manageReply(req, "30")
		}
		var entry []byte // nil: no such AID
		for _, p := range params {
			if bytes.Equal(p.AID, aid) {
				entry = p.TLV()
			}
		}
		f62 = cupmsg.Downloaded(entry)
	}
	return s.downloadAnswer(req, tk, f62, "ic-params", net, net == cupmsg.NetICParamDownload)
}
