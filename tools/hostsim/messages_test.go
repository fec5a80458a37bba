package hostsim

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/keys"
	"kpos/hal"
)

func (r *rig) do(req acquirer.Request) acquirer.Response {
	r.t.Helper()
	resp, err := r.client.Do(context.Background(), req)
	if err != nil {
		r.t.Fatalf("%v: %v", req.Kind, err)
	}
	return resp
}

func (r *rig) balance(pan string) int64 {
	r.t.Helper()
	b, ok := r.host.Balance(pan)
	if !ok {
		r.t.Fatalf("no account")
	}
	return b
}

func TestDeclineRules(t *testing.T) {
	tests := []struct {
		name string
		req  func(r *rig) acquirer.Request
		code string
	}{
		{"approved", func(r *rig) acquirer.Request { return r.chipSale(100) }, "00"},
		{"trigger 51", func(r *rig) acquirer.Request { return r.chipSale(151) }, "51"},
		{"trigger 55", func(r *rig) acquirer.Request { return r.chipSale(155) }, "55"},
		{"trigger 91", func(r *rig) acquirer.Request { return r.chipSale(191) }, "91"},
		{"insufficient funds", func(r *rig) acquirer.Request { return r.chipSale(1000000 + 100) }, "51"},
		{"over the terminal limit", func(r *rig) acquirer.Request { return r.chipSale(5000000 + 100) }, "61"},
		{"wrong PIN", func(r *rig) acquirer.Request {
			q := r.chipSale(100)
			q.PIN = r.pinBlock("999999", debitPAN)
			return q
		}, "55"},
		{"bad ARQC", func(r *rig) acquirer.Request {
			q := r.chipSale(100)
			q.ICCData, _, _ = iccData(r.t, upIMK, debitPAN, "01", 100, 0x42, true)
			return q
		}, CodeIssuerAuthFailed},
		{"unknown card", func(r *rig) acquirer.Request {
			q := r.chipSale(100)
			q.PAN, q.ICCData, q.PIN = hal.MustPAN("6222020000000000000"), nil, nil
			return q
		}, "14"},
		{"expired card", func(r *rig) acquirer.Request {
			return acquirer.Request{Kind: acquirer.KindSale, Trace: r.nextTrace(), Batch: 1, Amount: 100,
				PAN: hal.MustPAN("6214835555666677773"), Expiry: "2001", Entry: acquirer.EntryStripe,
				Track2: []byte("6214835555666677773=2001101")}
		}, "54"},
		{"stripe sale", func(r *rig) acquirer.Request {
			return acquirer.Request{Kind: acquirer.KindSale, Trace: r.nextTrace(), Batch: 1, Amount: 2500,
				Entry: acquirer.EntryStripe, Track2: []byte("6225880000111122224=28121011234"),
				PIN: r.pinBlock("222222", "6225880000111122224")}
		}, "00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			r.signOn()
			resp := r.do(tt.req(r))
			if resp.Code != tt.code {
				t.Fatalf("code %s, want %s (%v)", resp.Code, tt.code, r.host.Records())
			}
			if zh, en, _ := acquirer.Describe(resp.Code); zh == "" || en == "" {
				t.Fatalf("no text for %s", resp.Code)
			}
		})
	}
}

func TestVoidRefundBalance(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	sale := r.chipSale(3000)
	sr := r.do(sale)
	if !sr.Approved() || r.balance(debitPAN) != 1000000-3000 {
		t.Fatalf("sale %+v", sr)
	}
	bal := r.do(acquirer.Request{Kind: acquirer.KindBalance, Trace: r.nextTrace(), Batch: 1, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", Entry: acquirer.EntryChip, PIN: r.pinBlock(debitPIN, debitPAN)})
	if bal.Code != "00" || bal.Balance != 1000000-3000 {
		t.Fatalf("balance %+v", bal)
	}
	void := acquirer.Request{Kind: acquirer.KindVoid, Trace: r.nextTrace(), Batch: 1, Amount: 3000, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", Entry: acquirer.EntryChip, OrigTrace: sale.Trace, OrigRRN: sr.RRN, OrigAuth: sr.AuthCode}
	if vr := r.do(void); vr.Code != "00" || r.balance(debitPAN) != 1000000 {
		t.Fatalf("void %+v, balance %d", vr, r.balance(debitPAN))
	}
	// A second void of the same sale is refused.
	void.Trace = r.nextTrace()
	if vr := r.do(void); vr.Code != "12" {
		t.Fatalf("second void %+v", vr)
	}
	// Refund of another sale, partly, then beyond what is left.
	sale2 := r.chipSale(5000)
	s2 := r.do(sale2)
	refund := acquirer.Request{Kind: acquirer.KindRefund, Trace: r.nextTrace(), Batch: 1, Amount: 2000, PAN: hal.MustPAN(debitPAN),
		Expiry: "3012", Entry: acquirer.EntryManual, OrigRRN: s2.RRN, OrigTrace: sale2.Trace, OrigDate: "1122"}
	if rr := r.do(refund); rr.Code != "00" || r.balance(debitPAN) != 1000000-3000 {
		t.Fatalf("refund %+v balance %d", rr, r.balance(debitPAN))
	}
	// The refund advice sent again (no answer the first time) is recognised.
	if rr := r.do(refund); rr.Code != "00" || r.balance(debitPAN) != 1000000-3000 {
		t.Fatalf("repeated refund %+v balance %d", rr, r.balance(debitPAN))
	}
	refund.Trace, refund.Amount = r.nextTrace(), 4000
	if rr := r.do(refund); rr.Code != "13" {
		t.Fatalf("over-refund %+v", rr)
	}
	recs := r.records("authorization")
	if !recs[0].Voided {
		t.Fatalf("voided sale not marked: %+v", recs[0])
	}
}

func TestPreAuthorization(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	pa := r.chipSale(10000)
	pa.Kind = acquirer.KindPreAuth
	par := r.do(pa)
	if par.Code != "00" || r.balance(debitPAN) != 1000000-10000 {
		t.Fatalf("pre-auth %+v", par)
	}
	comp := acquirer.Request{Kind: acquirer.KindPreAuthComplete, Trace: r.nextTrace(), Batch: 1, Amount: 8000,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", Entry: acquirer.EntryManual, OrigTrace: pa.Trace, OrigAuth: par.AuthCode, OrigDate: "1122"}
	if cr := r.do(comp); cr.Code != "00" || r.balance(debitPAN) != 1000000-8000 {
		t.Fatalf("completion %+v balance %d", cr, r.balance(debitPAN))
	}
	// A second pre-authorization, released by a pre-authorization void.
	pa2 := r.chipSale(7000)
	pa2.Kind = acquirer.KindPreAuth
	p2 := r.do(pa2)
	pv := acquirer.Request{Kind: acquirer.KindPreAuthVoid, Trace: r.nextTrace(), Batch: 1, Amount: 7000,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", Entry: acquirer.EntryManual, OrigTrace: pa2.Trace, OrigAuth: p2.AuthCode}
	if vr := r.do(pv); vr.Code != "00" || r.balance(debitPAN) != 1000000-8000 {
		t.Fatalf("pre-auth void %+v balance %d", vr, r.balance(debitPAN))
	}
	// Completing a released pre-authorization is refused.
	comp.Trace, comp.OrigTrace = r.nextTrace(), pa2.Trace
	if cr := r.do(comp); cr.Code != "25" {
		t.Fatalf("completion of a void pre-auth %+v", cr)
	}
}

func TestQRPayments(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	// Consumer-presented: the terminal scanned the customer's code.
	cp := acquirer.Request{Kind: acquirer.KindQRSale, Trace: r.nextTrace(), Batch: 1, Amount: 1288, QRCode: "6212345678901234567", Time: fixedNow}
	if resp := r.do(cp); !resp.Approved() {
		t.Fatalf("consumer-presented %+v", resp)
	}
	cp.Trace, cp.QRCode = r.nextTrace(), "not a payment code"
	if resp := r.do(cp); resp.Code != "14" {
		t.Fatalf("foreign code %+v", resp)
	}
	// Merchant-presented: open an order, query while unpaid, pay, query.
	order := acquirer.Request{Kind: acquirer.KindQRSale, Trace: r.nextTrace(), Batch: 1, Amount: 4200, Time: fixedNow}
	or := r.do(order)
	if or.Code != "09" || or.QRPayload == "" {
		t.Fatalf("order %+v", or)
	}
	query := acquirer.Request{Kind: acquirer.KindQRQuery, Trace: r.nextTrace(), Batch: 1, OrigTrace: order.Trace}
	if q := r.do(query); q.Code != "09" {
		t.Fatalf("unpaid query %+v", q)
	}
	if !r.host.PayQR(or.QRPayload) || r.host.PayQR(or.QRPayload) {
		t.Fatal("PayQR must pay an open order exactly once")
	}
	query.Trace = r.nextTrace()
	if q := r.do(query); q.Code != "00" || q.RRN == "" {
		t.Fatalf("paid query %+v", q)
	}
}

func TestSettlementAndBatchUpload(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	var items []acquirer.Request
	var dom acquirer.Totals
	for _, amt := range []int64{1000, 2000, 3000} {
		q := r.chipSale(amt)
		resp := r.do(q)
		q.OrigRRN, q.OrigAuth = resp.RRN, resp.AuthCode
		items = append(items, q)
		dom.DebitAmount += amt
		dom.DebitCount++
	}
	ctx := context.Background()
	res, err := r.client.Settle(ctx, acquirer.Settlement{Trace: r.nextTrace(), Batch: 1, Domestic: dom})
	if err != nil || !res.Balanced {
		t.Fatalf("balanced settlement: %+v %v", res, err)
	}
	// The terminal lost a transaction: unbalanced, then the batch upload.
	short := dom
	short.DebitAmount -= 3000
	short.DebitCount--
	res, err = r.client.Settle(ctx, acquirer.Settlement{Trace: r.nextTrace(), Batch: 1, Domestic: short})
	if err != nil || res.Balanced || res.DomesticRecon != acquirer.ReconUnbalanced {
		t.Fatalf("unbalanced settlement: %+v %v", res, err)
	}
	if err := r.client.UploadBatch(ctx, items); err != nil {
		t.Fatal(err)
	}
	if n := len(r.records("batch-upload")); n != 3 {
		t.Fatalf("%d items uploaded", n)
	}
	if e := r.records("batch-upload-end"); len(e) != 1 || e[0].Note == "" {
		t.Fatalf("upload end %+v", e)
	}
	st := r.records("settlement")
	if len(st) != 2 || !st[0].Balanced || st[1].Balanced {
		t.Fatalf("settlements %+v", st)
	}
}

func TestSignOffAndOn(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	ctx := context.Background()
	if err := r.client.SignOff(ctx, r.nextTrace(), 1); err != nil {
		t.Fatal(err)
	}
	// Without working keys at the host the MAC cannot be checked: the
	// answer carries no valid MAC, so the terminal sees no valid answer.
	if _, err := r.client.Do(ctx, r.chipSale(100)); !errors.Is(err, acquirer.ErrNoAnswer) {
		t.Fatalf("sale after sign-off: %v", err)
	}
	r.signOn()
	if resp := r.do(r.chipSale(100)); !resp.Approved() {
		t.Fatalf("sale after new sign-on %+v", resp)
	}
	if n := len(r.records("sign-on")); n != 2 {
		t.Fatalf("%d sign-ons", n)
	}
}

func TestSignOnRefusedForUnknownTerminal(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.TID = "87654321" })
	err := r.client.SignOn(context.Background(), 1, 1)
	var ce *acquirer.CodeError
	if !errors.As(err, &ce) || ce.Code != "97" || !errors.Is(err, acquirer.ErrDeclined) {
		t.Fatalf("err %v", err)
	}
}

func TestSignOnRefusesKeysUnderAnotherTMK(t *testing.T) {
	r := newRig(t, nil)
	other := mustHex(t, "33333333333333334444444444444444") // TEST KEY, not the terminal's
	kcv, _ := keys.CheckValue(keys.AlgTDES, other)
	if err := r.ks.InstallTMK(other, kcv[:3]); err != nil {
		t.Fatal(err)
	}
	err := r.client.SignOn(context.Background(), 1, 1)
	if !errors.Is(err, acquirer.ErrKeys) {
		t.Fatalf("err %v, want ErrKeys", err)
	}
	if r.ks.Ready() == nil {
		t.Fatal("working keys installed although their check values failed")
	}
}

func TestActivationAndBinding(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.TID, c.MID = "", "" })
	ctx := context.Background()
	const serial, kcode = "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"
	if _, err := r.client.Activate(ctx, r.nextTrace(), serial, "Z9222ZC3ZQWRCE9G"); !isCode(err, "K1") {
		t.Fatalf("wrong K code: %v", err)
	}
	ch, err := r.client.Activate(ctx, r.nextTrace(), serial, kcode)
	if err != nil || ch.PhoneMasked != "139****9000" || ch.Expires.IsZero() {
		t.Fatalf("challenge %+v %v", ch, err)
	}
	otp, ok := r.host.LastOTP(serial)
	if !ok || len(otp) != 6 {
		t.Fatalf("OTP %q %v", otp, ok)
	}
	_, err = r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, wrongOTP(otp))
	var ce *acquirer.CodeError
	if !errors.As(err, &ce) || ce.Code != "K4" || ce.TriesLeft != 2 {
		t.Fatalf("wrong OTP: %v", err)
	}
	b, err := r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, otp)
	if err != nil {
		t.Fatal(err)
	}
	if b.TID != "12345679" || b.MID != "898320154110002" || b.MerchantName != "测试便利店 KPOS Corner Store" ||
		b.Params.TxnLimit != 2000000 || b.Params.FeeBP["qr"] != 30 || b.Params.AcquirerIIN != "48020000" || b.Expiry.Year() != 2030 {
		t.Fatalf("binding %+v", b)
	}
	// The terminal installs the TMK under the transport key (check value
	// verified) and signs on with its new identity.
	ks, err := keys.Open(filepath.Join(t.TempDir(), "k"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InstallTMKUnderTransport(b.EncTMK, b.KCV, keys.DeriveTransportKey(kcode, serial)); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	bound := acquirer.NewClient(acquirer.Config{Addr: r.addr, TPDU: tpdu, Header: hdr, TID: b.TID, MID: b.MID, Now: func() time.Time { return fixedNow }}, r.link, ks)
	if err := bound.SignOn(ctx, 1, 1); err != nil {
		t.Fatal(err)
	}
	st, err := bound.CheckBinding(ctx, 2, serial, kcode)
	if err != nil || st.Status != "valid" {
		t.Fatalf("status %+v %v", st, err)
	}
	if p, err := bound.DownloadParams(ctx, 3, 1); err != nil || p.DailyLimit != 5000000 || len(p.Methods) != 3 {
		t.Fatalf("params %+v %v", p, err)
	}
	acct, err := bound.VerifyAccount(ctx, 4, hal.MustPAN(debitPAN))
	if err != nil || acct.Reference == "" || acct.HolderMasked == "" {
		t.Fatalf("account %+v %v", acct, err)
	}
	if _, err := bound.VerifyAccount(ctx, 5, hal.MustPAN("6222020000000000000")); !isCode(err, "14") {
		t.Fatalf("unknown account: %v", err)
	}
	r.host.Revoke(serial)
	if st, err := bound.CheckBinding(ctx, 6, serial, kcode); err != nil || st.Status != "revoked" || st.Reason == "" {
		t.Fatalf("revoked status %+v %v", st, err)
	}
}

func TestActivationLockoutAndExpiry(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.TID, c.MID = "", "" })
	ctx := context.Background()
	const serial, kcode = "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"
	if _, err := r.client.Activate(ctx, r.nextTrace(), serial, kcode); err != nil {
		t.Fatal(err)
	}
	otp, _ := r.host.LastOTP(serial)
	codes := []string{"K4", "K4", "K5"}
	for i, want := range codes {
		if _, err := r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, wrongOTP(otp)); !isCode(err, want) {
			t.Fatalf("try %d: %v, want %s", i+1, err, want)
		}
	}
	// Locked: even the right code and a new activation are refused.
	if _, err := r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, otp); !isCode(err, "K6") && !isCode(err, "K5") {
		t.Fatalf("after lockout: %v", err)
	}
	if _, err := r.client.Activate(ctx, r.nextTrace(), serial, kcode); !isCode(err, "K5") {
		t.Fatalf("activation while locked: %v", err)
	}
	if _, err := r.client.Activate(ctx, r.nextTrace(), "KPOS-SIM-0003", "Z9222ZDCQP7DCLPD"); !isCode(err, "K2") {
		t.Fatalf("expired K code: %v", err)
	}
}

func TestCAKeyDownload(t *testing.T) {
	capks, err := LoadCAKeys("../../testdata/emv/capk-test.toml")
	if err != nil {
		t.Fatal(err)
	}
	host, err := New(Config{DataDir: "../../testdata/host", CAKeys: capks, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	r.host = host
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := pipeLink(ctx, host)
	client := acquirer.NewClient(acquirer.Config{Addr: "host", TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}}, cl, r.ks)
	got, err := client.DownloadCAKeys(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(capks) || len(got) == 0 || got[0].Index != 0xE1 || len(got[0].Modulus) == 0 {
		t.Fatalf("%d keys of %d: %+v", len(got), len(capks), got)
	}
	if n := len(host.Records()); n != len(capks)+2 {
		t.Fatalf("%d records", n)
	}
}

func isCode(err error, code string) bool {
	var ce *acquirer.CodeError
	return errors.As(err, &ce) && ce.Code == code
}

func wrongOTP(otp string) string {
	b := []byte(otp)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestIssuerScriptsAndTraceReuse(t *testing.T) {
	data, err := LoadData("../../testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	for i := range data.Cards {
		if data.Cards[i].PAN == debitPAN {
			data.Cards[i].Script72 = "720E9F180400000001860580CA9F3600" // test script: one command
		}
	}
	host, err := New(Config{Data: data, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	r.host = host
	r.client = acquirer.NewClient(acquirer.Config{Addr: startHost(t, host, nil), TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0},
		TID: testTID, MID: testMID, Now: func() time.Time { return fixedNow }}, r.link, r.ks)
	r.signOn()
	sale := r.chipSale(777)
	resp := r.do(sale)
	objs, err := tlv.Parse(resp.ICCData)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tlv.Find(objs, 0x91); !ok {
		t.Fatal("no ARPC")
	}
	if s, ok := tlv.Find(objs, 0x72); !ok || len(s.Value) != 14 {
		t.Fatalf("issuer script missing: %X", resp.ICCData)
	}
	// Another sale on a trace already used in the batch is refused.
	other := r.chipSale(778)
	other.Trace = sale.Trace
	if resp := r.do(other); resp.Code != "94" {
		t.Fatalf("trace reuse %+v", resp)
	}
	if r.balance(debitPAN) != 1000000-777 {
		t.Fatal("the refused request moved money")
	}
}

func TestHostAsksForSignOnAndTotals(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	r.host.Require(testTID, acquirer.RequireSignOn)
	if resp := r.do(r.chipSale(100)); resp.Requirement != acquirer.RequireSignOn {
		t.Fatalf("requirement %d", resp.Requirement)
	}
	if resp := r.do(r.chipSale(200)); resp.Requirement != acquirer.RequireNone {
		t.Fatalf("requirement %d after it was delivered", resp.Requirement)
	}
	dom, foreign := r.host.Totals(testTID, 1)
	if dom != (acquirer.Totals{DebitAmount: 300, DebitCount: 2}) || foreign != (acquirer.Totals{}) {
		t.Fatalf("totals %+v %+v", dom, foreign)
	}
}

func TestKCodeBindsOnceAndConfirmationRepeats(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.TID, c.MID = "", "" })
	ctx := context.Background()
	const serial, kcode = "KPOS-SIM-0002", "Z9222ZC3ZQWRCE9F"
	if _, err := r.client.Activate(ctx, r.nextTrace(), serial, kcode); err != nil {
		t.Fatal(err)
	}
	otp, _ := r.host.LastOTP(serial)
	first, err := r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, otp)
	if err != nil {
		t.Fatal(err)
	}
	// The answer was lost; the terminal sends the same code again.
	again, err := r.client.ConfirmActivation(ctx, r.nextTrace(), serial, kcode, otp)
	if err != nil || string(again.EncTMK) != string(first.EncTMK) || again.TID != first.TID {
		t.Fatalf("repeated confirmation %+v %v", again, err)
	}
	if _, err := r.client.Activate(ctx, r.nextTrace(), serial, kcode); !isCode(err, "K1") {
		t.Fatalf("second binding with a used K code: %v", err)
	}
}

func TestRevokedTerminalGetsACleanDecline(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	r.host.Revoke(testSerial)
	resp, err := r.client.Do(context.Background(), r.chipSale(100))
	if err != nil || resp.Code != "58" {
		t.Fatalf("sale by a revoked terminal: %+v %v", resp, err)
	}
	if r.balance(debitPAN) != 1000000 {
		t.Fatal("money moved")
	}
}

func TestRevokedTerminalMayStillReverse(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	sale := r.chipSale(100)
	r.do(sale)
	r.host.Revoke(testSerial)
	if rr, err := r.client.Reverse(context.Background(), sale, acquirer.CauseCardDeclined); err != nil || rr.Code != "00" {
		t.Fatalf("reversal after revocation: %+v %v", rr, err)
	}
	if r.balance(debitPAN) != 1000000 {
		t.Fatal("not reversed")
	}
}

func TestOfflineAdviceIsBookedOnce(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	const pan = "6228480011223344554" // multi-app, CNY 3000.00
	icc, _, _ := iccData(t, upIMK, pan, "01", 350000, 9, false)
	adv := acquirer.Request{Kind: acquirer.KindOfflineAdvice, Trace: r.nextTrace(), Batch: 1, Amount: 350000,
		PAN: hal.MustPAN(pan), Expiry: "3012", PANSeq: "01", Entry: acquirer.EntryChip, ICCData: icc, Time: fixedNow}
	for i := 0; i < 2; i++ {
		if resp := r.do(adv); resp.Code != "00" {
			t.Fatalf("advice %d: %+v", i+1, resp)
		}
	}
	if got := r.balance(pan); got != 300000-350000 {
		t.Fatalf("balance %d: an offline approval is booked once, even past the balance", got)
	}
	if dom, _ := r.host.Totals(testTID, 1); dom.DebitCount != 1 || dom.DebitAmount != 350000 {
		t.Fatalf("totals %+v", dom)
	}
}
