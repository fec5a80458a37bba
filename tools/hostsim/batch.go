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
	f60, err := acquirer.ParseField60(acquirer.FieldString(m, 60))
	f48, err2 := acquirer.ParseField48(acquirer.FieldString(m, 48))
	if err != nil || err2 != nil {
		a, err := s.reply(m, "30")
		return withMAC(a), tk, err
	}
	trace, _ := strconv.ParseUint(acquirer.FieldString(m, 11), 10, 32)
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
	s.recordLocked(Record{Type: "settlement", MTI: "0500", TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace),
		Amount: f48.Domestic.DebitAmount + f48.Foreign.DebitAmount, Code: "00", Balanced: balanced,
		Note: fmt.Sprintf("terminal %+v/%+v host %+v/%+v", f48.Domestic, f48.Foreign, dom, foreign)})
	s.mu.Unlock()
	ans, err := acquirer.BuildResponse(s.codec, m, acquirer.Response{Code: "00"}, s.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	if err := ans.Field(48, out.String()); err != nil {
		return nil, nil, err
	}
	return &answer{msg: ans, mac: true}, tk, nil
}

// batchUpload records the transactions a terminal uploads after an
// unbalanced settlement, and the end of the upload.
func (s *Server) batchUpload(m *iso8583.Message, body []byte) (*answer, *termState, error) {
	tk, refusal, err := s.macChecked(m, body, "batch-upload")
	if refusal != nil || err != nil {
		return refusal, tk, err
	}
	f60, err := acquirer.ParseField60(acquirer.FieldString(m, 60))
	if err != nil {
		a, err := s.reply(m, "30")
		return withMAC(a), tk, err
	}
	trace, _ := strconv.ParseUint(acquirer.FieldString(m, 11), 10, 32)
	amount, _ := strconv.ParseInt(acquirer.FieldString(m, 4), 10, 64)
	bk := batchKey{tk.rec.TID, f60.Batch}
	s.mu.Lock()
	if f60.NetCode == acquirer.NetUploadEnd {
		n := len(s.uploads[bk])
		note := fmt.Sprintf("%d transactions uploaded", n)
		if c := acquirer.FieldString(m, 48); c != "" {
			note += "; terminal counted " + c
		}
		s.recordLocked(Record{Type: "batch-upload-end", MTI: "0320", TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace), Code: "00", Note: note})
	} else {
		r := Record{Type: "batch-upload", MTI: "0320", TID: tk.rec.TID, Batch: f60.Batch, Trace: uint32(trace),
			Amount: amount, PAN: masked(acquirer.FieldString(m, 2)), Code: "00", Note: "processing code " + acquirer.FieldString(m, 3)}
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
	s.mu.Unlock()
	ans, err := acquirer.BuildResponse(s.codec, m, acquirer.Response{Code: "00"}, s.cfg.Now())
	if err != nil {
		return nil, nil, err
	}
	return &answer{msg: ans, mac: true}, tk, nil
}
