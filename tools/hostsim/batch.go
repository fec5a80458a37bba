package hostsim

import (
	"fmt"
	"strconv"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/acquirer/cupmsg"
)

// reversal undoes the authorization with the same terminal, batch and
// trace, at most once. A repeated reversal is answered the same way without
// a second effect; a reversal whose original never arrived is approved and
// remembered, so that the original is refused should it arrive late.
func (s *Server) reversal(m *iso8583.Message, body []byte) (*answer, *termState, error) {
	tk, refusal, err := s.macChecked(m, body, "reversal")
	if refusal != nil || err != nil {
		return refusal, tk, err
	}
	var rev cupmsg.Reversal
	err = cupmsg.Unmarshal(m, &rev)
	f60, err2 := acquirer.ParseField60(rev.Reserved)
	trace, err3 := strconv.ParseUint(rev.STAN, 10, 32)
	if err != nil || err2 != nil || err3 != nil {
		a, err := s.reply(m, "30")
		return withMAC(a), tk, err
	}
	key := txnKey{tk.rec.TID, f60.Batch, uint32(trace)}
	amount, _ := strconv.ParseInt(rev.Amount, 10, 64)
	s.mu.Lock()
	rec := Record{Type: "reversal", MTI: cupmsg.MTIReversal, TID: tk.rec.TID, Batch: key.batch, Trace: key.trace, Amount: amount,
		PAN: masked(rev.PAN), Code: "00", Note: "reason " + rev.Reason, Reason: rev.Reason, OrigTrace: key.trace}
	t := s.txns[key]
	switch {
	case t == nil:
		s.reversedKey[key] = true
		rec.Note += "; original never arrived: nothing to undo"
	case t.reversed:
		rec.Note += "; repeated reversal: already undone, nothing applied"
	case t.amount != amount:
		rec.Code = "64"
		rec.Note += "; amount differs from the original"
	default:
		if t.undo != nil {
			t.undo()
			rec.Applied = true
		}
		t.reversed = true
		t.rec.Reversed = true
		rec.Kind, rec.RRN = t.rec.Kind, t.rec.RRN
		// A reversed transaction no longer counts in today's spending
		// (spentToday skips it): nothing else to undo for the limit.
	}
	s.recordLocked(rec)
	s.mu.Unlock()
	ans, err := acquirer.BuildResponse(s.codec, m, acquirer.Response{Code: rec.Code}, s.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	return &answer{msg: ans, mac: true}, tk, nil
}

// hostTotals adds up what the host holds for a terminal's batch: debits
// (sales, completions, QR sales; not voided, not reversed) and credits
// (refunds), domestic (UnionPay, BIN 62, and QR) apart from foreign.
func (s *Server) hostTotals(tid string, batch uint32) (dom, foreign acquirer.Totals) {
	for k, t := range s.txns {
		if k.tid != tid || k.batch != batch || !t.counts || t.reversed || t.voided || t.rec == nil || t.rec.Code != "00" {
			continue
		}
		tot := &dom
		if t.foreign {
			tot = &foreign
		}
		if t.credit {
			tot.CreditAmount += t.amount
			tot.CreditCount++
		} else {
			tot.DebitAmount += t.amount
			tot.DebitCount++
		}
	}
	return dom, foreign
}

// settlement compares the terminal's totals (field 48) with the host's and
// answers balanced ("1") or not ("2") for each card family.
func (s *Server) settlement(m *iso8583.Message, body []byte) (*answer, *termState, error) {
	tk, refusal, err := s.macChecked(m, body, "settlement")
	if refusal != nil || err != nil {
		return refusal, tk, err
	}
	var req cupmsg.Settlement
	err = cupmsg.Unmarshal(m, &req)
	f60, err2 := acquirer.ParseField60(req.Reserved)
	f48, err3 := acquirer.ParseField48(req.Totals)
	if err != nil || err2 != nil || err3 != nil {
		a, err := s.reply(m, "30")
		return withMAC(a), tk, err
	}
	trace, _ := strconv.ParseUint(req.STAN, 10, 32)
	s.mu.Lock()
	dom, foreign := s.hostTotals(tk.rec.TID, f60.Batch)
	out := acquirer.Field48{Domestic: f48.Domestic, Foreign: f48.Foreign,
		DomesticRecon: acquirer.ReconBalanced, ForeignRecon: acquirer.ReconBalanced}
	if dom != f48.Domestic {
		out.DomesticRecon = acquirer.ReconUnbalanced
	}
	if foreign != f48.Foreign {
		out.ForeignRecon = acquirer.ReconUnbalanced
	}
	balanced := out.DomesticRecon == acquirer.ReconBalanced && out.ForeignRecon == acquirer.ReconBalanced
	s.recordLocked(Record{Type: "settlement", MTI: cupmsg.MTISettlement, TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace),
		Amount: f48.Domestic.DebitAmount + f48.Foreign.DebitAmount, Code: "00", Balanced: balanced,
		Note: fmt.Sprintf("terminal %+v/%+v host %+v/%+v", f48.Domestic, f48.Foreign, dom, foreign)})
	s.mu.Unlock()
	ans := req.Answer("00", s.cfg.Now())
	ans.Totals = out.String()
	msg, err := s.codec.Marshal(&ans)
	if err != nil {
		return nil, nil, err
	}
	return &answer{msg: msg, mac: true}, tk, nil
}

// batchUpload records the transactions a terminal uploads after an
// unbalanced settlement (each a cupmsg.Request), and the end of the upload
// (a cupmsg.Settlement with the count in field 48).
func (s *Server) batchUpload(m *iso8583.Message, body []byte) (*answer, *termState, error) {
	tk, refusal, err := s.macChecked(m, body, "batch-upload")
	if refusal != nil || err != nil {
		return refusal, tk, err
	}
	var item cupmsg.Request
	err = cupmsg.Unmarshal(m, &item)
	f60, err2 := acquirer.ParseField60(item.Reserved)
	if err != nil || err2 != nil {
		a, err := s.reply(m, "30")
		return withMAC(a), tk, err
	}
	trace, _ := strconv.ParseUint(item.STAN, 10, 32)
	bk := batchKey{tk.rec.TID, f60.Batch}
	if f60.NetCode == cupmsg.NetUploadEnd {
		var end cupmsg.Settlement
		_ = cupmsg.Unmarshal(m, &end) // it read as an item: it reads as an end
		s.mu.Lock()
		note := fmt.Sprintf("%d transactions uploaded", len(s.uploads[bk]))
		if end.Totals != "" {
			note += "; terminal counted " + end.Totals
		}
		s.recordLocked(Record{Type: "batch-upload-end", MTI: cupmsg.MTIBatchUpload, TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace), Code: "00", Note: note})
		s.mu.Unlock()
	} else {
		s.fileUpload(bk, Record{Type: "batch-upload", MTI: cupmsg.MTIBatchUpload, TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace),
			PAN: masked(item.PAN), Code: "00", Note: "processing code " + item.ProcessingCode}, item.Amount)
	}
	ans, err := acquirer.BuildResponse(s.codec, m, acquirer.Response{Code: "00"}, s.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	return &answer{msg: ans, mac: true}, tk, nil
}

// fileUpload files one uploaded item of a batch, once: a repeated item
// (same trace) is recorded but not filed again.
func (s *Server) fileUpload(bk batchKey, r Record, amount string) {
	r.Amount, _ = strconv.ParseInt(amount, 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	dup := false
	for _, u := range s.uploads[bk] {
		if u.Trace == r.Trace {
			dup = true
		}
	}
	if !dup {
		s.uploads[bk] = append(s.uploads[bk], r)
	} else {
		r.Note += "; repeated upload"
	}
	s.recordLocked(r)
}
