package hostsim

import (
	"testing"

	"kpos/firmware/acquirer"
	"kpos/hal"
)

// TestRuleBookAtTheHost: the host refuses a void after a partial refund,
// gives a voided or reversed sale's room back to the daily limit, checks a
// completion against the limits, and voids a completion.
func TestRuleBookAtTheHost(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	sale := r.chipSale(3000)
	sr := r.do(sale)
	refund := acquirer.Request{Kind: acquirer.KindRefund, Trace: r.nextTrace(), Batch: 1, Amount: 1000, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", Entry: acquirer.EntryManual, OrigRRN: sr.RRN, OrigTrace: sale.Trace, OrigDate: "1122"}
	if rr := r.do(refund); rr.Code != "00" {
		t.Fatalf("refund %+v", rr)
	}
	void := acquirer.Request{Kind: acquirer.KindVoid, Trace: r.nextTrace(), Batch: 1, Amount: 3000, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", Entry: acquirer.EntryManual, OrigTrace: sale.Trace, OrigRRN: sr.RRN, OrigAuth: sr.AuthCode}
	if vr := r.do(void); vr.Code != "12" {
		t.Fatalf("void after a partial refund: %+v", vr)
	}

	// The test terminal's limits: CNY 50000.00 a sale, CNY 200000.00 a day.
	// QR sales fill the day (the 3000 chip sale above counts too).
	qr := func(amount int64) (acquirer.Request, acquirer.Response) {
		req := acquirer.Request{Kind: acquirer.KindQRSale, Trace: r.nextTrace(), Batch: 1, Amount: amount, QRCode: "6212345678901234567", Time: fixedNow}
		return req, r.do(req)
	}
	var last acquirer.Request
	var lastResp acquirer.Response
	for _, a := range []int64{5000000, 5000000, 5000000, 5000000 - 3000} {
		if last, lastResp = qr(a); lastResp.Code != "00" {
			t.Fatalf("QR sale of %d: %+v", a, lastResp)
		}
	}
	if _, resp := qr(10000); resp.Code != "61" {
		t.Fatalf("over the daily limit: %+v", resp)
	}
	qv := acquirer.Request{Kind: acquirer.KindVoid, Trace: r.nextTrace(), Batch: 1, Amount: last.Amount, Entry: acquirer.EntryQR,
		OrigTrace: last.Trace, OrigRRN: lastResp.RRN, OrigAuth: lastResp.AuthCode}
	if vr := r.do(qv); vr.Code != "00" {
		t.Fatalf("QR void %+v", vr)
	}
	if _, resp := qr(10000); resp.Code != "00" {
		t.Fatalf("after a void the day has room: %+v", resp)
	}

	// A pre-authorization is held to the day's room as well.
	pa := r.chipSale(4990000)
	pa.Kind = acquirer.KindPreAuth
	par := r.do(pa)
	if par.Code != "61" {
		t.Fatalf("pre-auth over the daily limit: %+v", par)
	}
}

func TestCompletionVoidAtTheHost(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	pa := r.chipSale(10000)
	pa.Kind = acquirer.KindPreAuth
	par := r.do(pa)
	comp := acquirer.Request{Kind: acquirer.KindPreAuthComplete, Trace: r.nextTrace(), Batch: 1, Amount: 11501,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", Entry: acquirer.EntryManual, OrigTrace: pa.Trace, OrigAuth: par.AuthCode, OrigDate: "1122"}
	if cr := r.do(comp); cr.Code != "13" {
		t.Fatalf("completion above 115 %%: %+v", cr)
	}
	comp.Trace, comp.Amount = r.nextTrace(), 11500
	cr := r.do(comp)
	if cr.Code != "00" || r.balance(debitPAN) != 1000000-11500 {
		t.Fatalf("completion %+v balance %d", cr, r.balance(debitPAN))
	}
	cv := acquirer.Request{Kind: acquirer.KindCompletionVoid, Trace: r.nextTrace(), Batch: 1, Amount: 11500,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", Entry: acquirer.EntryManual, OrigTrace: comp.Trace, OrigRRN: cr.RRN, OrigAuth: cr.AuthCode}
	if vr := r.do(cv); vr.Code != "00" || r.balance(debitPAN) != 1000000-10000 {
		t.Fatalf("completion void %+v balance %d (the hold is back)", vr, r.balance(debitPAN))
	}
	cv.Trace = r.nextTrace()
	if vr := r.do(cv); vr.Code != "12" {
		t.Fatalf("second completion void %+v", vr)
	}
	// The pre-authorization is open again: completed anew.
	comp.Trace, comp.Amount = r.nextTrace(), 9000
	if cr := r.do(comp); cr.Code != "00" || r.balance(debitPAN) != 1000000-9000 {
		t.Fatalf("second completion %+v balance %d", cr, r.balance(debitPAN))
	}
	recs := r.records("authorization")
	if !recs[len(recs)-4].Voided {
		t.Fatalf("voided completion not marked: %+v", recs[len(recs)-4])
	}
}
