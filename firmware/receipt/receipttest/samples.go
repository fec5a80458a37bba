// Package receipttest holds one sample of every slip kind the terminal
// prints, for golden-file tests: the text and the printer bytes of each are
// compared with testdata/receipts. The card numbers are test PANs, given
// masked as the terminal gives them.
package receipttest

import (
	"time"

	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/hal"
)

// Slip is one slip kind as printed: its documents in print order (the
// merchant copy, then the cardholder's).
type Slip struct {
	Name string
	Docs []hal.Document
}

// base is a chip sale, approved online with a PIN.
func base() receipt.Receipt {
	return receipt.Receipt{
		MerchantName: "测试商户 KPOS Test Shop", MerchantID: "898320154110002", TerminalID: "12345678", Operator: "01",
		Kind: "SALE", Method: "CHIP", MaskedPAN: hal.MustPAN("6222021234567890128").Masked(),
		Issuer: "01020000", Acquirer: "48020000",
		AppLabel: "UnionPay Debit", AID: "A000000333010101", TC: "1A2B3C4D5E6F7081",
		TVR: "0000008000", TSI: "E800", ATC: "002A",
		Amount: 123456, Time: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC),
		Trace: 42, Batch: 1, AuthCode: "123456", RRN: "112233445566", CVM: receipt.CVMPIN, Approved: true,
	}
}

func both(r receipt.Receipt) []hal.Document {
	return []hal.Document{receipt.Build(r, receipt.MerchantCopy), receipt.Build(r, receipt.CustomerCopy)}
}

// Slips returns every slip kind.
func Slips() []Slip {
	var out []Slip
	add := func(name string, docs ...hal.Document) { out = append(out, Slip{Name: name, Docs: docs}) }

	add("sale-chip", both(base())...)

	tap := base()
	tap.Method, tap.MaskedPAN, tap.AppLabel = "CONTACTLESS", hal.MustPAN("6214835555666677773").Masked(), "UnionPay Credit"
	tap.TC, tap.ARQC, tap.TVR, tap.TSI, tap.ATC = "", "9F8E7D6C5B4A3928", "0000000000", "0000", "0007"
	tap.Amount, tap.CVM, tap.Issuer = 1500, receipt.CVMNone, "03080000"
	add("sale-tap", both(tap)...)

	swipe := base()
	swipe.Method, swipe.MaskedPAN = "SWIPE", hal.MustPAN("6228480011223344554").Masked()
	swipe.AID, swipe.AppLabel, swipe.TC, swipe.TVR, swipe.TSI, swipe.ATC = "", "", "", "", "", ""
	swipe.Issuer, swipe.CVM, swipe.Amount = "01030000", receipt.CVMSignature, 8800
	add("sale-swipe", both(swipe)...)

	for _, w := range []struct {
		name  string
		kind  qr.Kind
		order string
	}{
		{"qr-unionpay", qr.KindUnionPay, "20261122103000000042"},
		{"qr-wechat", qr.KindWeChat, "4200001234202611220042"},
		{"qr-alipay", qr.KindAlipay, "2026112222001400420042"},
	} {
		r := base()
		r.Kind, r.Method, r.MaskedPAN, r.Wallet, r.OrderNo = "SALE", "QR", "", w.kind, w.order
		r.AID, r.AppLabel, r.TC, r.TVR, r.TSI, r.ATC, r.Issuer = "", "", "", "", "", "", ""
		r.CVM, r.Amount = receipt.CVMDevice, 2000
		add(w.name, both(r)...)
	}

	void := base()
	void.Kind, void.Trace, void.OrigTrace, void.AuthCode, void.RRN = "VOID", 43, 42, "123456", "112233445567"
	void.AID, void.AppLabel, void.TC, void.TVR, void.TSI, void.ATC = "", "", "", "", "", ""
	void.Method, void.CVM = "", receipt.CVMSignature
	add("void", both(void)...)

	refund := base()
	refund.Kind, refund.Trace, refund.OrigRRN, refund.Amount = "REFUND", 44, "112233445566", 234
	refund.AuthCode, refund.RRN, refund.TC, refund.CVM = "", "112233445568", "", receipt.CVMSignature
	refund.TVR, refund.TSI, refund.ATC = "0000000000", "E800", "002B"
	add("refund", both(refund)...)

	pre := base()
	pre.Kind, pre.Trace, pre.Amount, pre.AuthCode, pre.RRN = "PREAUTH", 45, 500000, "654321", "112233445569"
	pre.TC, pre.ATC = "2B3C4D5E6F708192", "002C"
	add("preauth", both(pre)...)

	pvoid := base()
	pvoid.Kind, pvoid.Trace, pvoid.OrigTrace, pvoid.Amount, pvoid.AuthCode, pvoid.RRN = "PREAUTH VOID", 50, 45, 500000, "654321", "112233445573"
	pvoid.Method, pvoid.AID, pvoid.AppLabel, pvoid.TC, pvoid.TVR, pvoid.TSI, pvoid.ATC = "", "", "", "", "", "", ""
	pvoid.CVM = receipt.CVMSignature
	add("preauth-void", both(pvoid)...)

	comp := base()
	comp.Kind, comp.Trace, comp.OrigTrace, comp.Amount, comp.AuthCode, comp.RRN = "PREAUTH COMPLETE", 46, 45, 480000, "654321", "112233445570"
	comp.Method, comp.AID, comp.AppLabel, comp.TC, comp.TVR, comp.TSI, comp.ATC = "", "", "", "", "", "", ""
	comp.CVM = receipt.CVMSignature
	add("completion", both(comp)...)

	cvoid := comp
	cvoid.Kind, cvoid.Trace, cvoid.OrigTrace, cvoid.RRN = "PREAUTH COMPLETE VOID", 47, 46, "112233445571"
	add("completion-void", both(cvoid)...)

	bal := base()
	bal.Kind, bal.Trace, bal.Amount, bal.AuthCode, bal.RRN = "BALANCE", 48, 1000000, "", "112233445572"
	bal.ARQC = "3C4D5E6F70819203"
	add("balance", receipt.Build(bal, receipt.CustomerCopy))

	decline := base()
	decline.Approved, decline.Declined, decline.Trace, decline.Batch = false, "卡片已过期 CARD EXPIRED", 0, 0
	decline.TC, decline.AuthCode, decline.RRN, decline.CVM, decline.TVR = "", "", "", receipt.CVMUnstated, "0040000000"
	add("decline", receipt.Build(decline, receipt.CustomerCopy))

	re := base()
	re.Reprint = true
	add("reprint", receipt.Build(re, receipt.MerchantCopy))

	add("settlement", receipt.BuildSettlement(Settlement(), receipt.NarrowColumns))
	st := Settlement()
	st.Reprint = true
	add("settlement-reprint", receipt.BuildSettlement(st, receipt.NarrowColumns))
	return out
}

// Settlement is a balanced day: chip, tap and QR sales, a refund and a void.
func Settlement() receipt.SettlementReport {
	chip := receipt.SettlementRow{Method: "CHIP", Sales: receipt.Count{N: 3, Amount: 135634}, Refunds: receipt.Count{N: 1, Amount: 234}, Voids: receipt.Count{N: 1, Amount: 123456}, Fee: 542}
	tap := receipt.SettlementRow{Method: "CONTACTLESS", Sales: receipt.Count{N: 1, Amount: 1500}, Fee: 6}
	qrRow := receipt.SettlementRow{Method: "QR", Sales: receipt.Count{N: 3, Amount: 6000}, Fee: 24}
	total := receipt.SettlementRow{Method: "TOTAL",
		Sales:   receipt.Count{N: 7, Amount: 143134},
		Refunds: receipt.Count{N: 1, Amount: 234},
		Voids:   receipt.Count{N: 1, Amount: 123456},
		Fee:     572}
	return receipt.SettlementReport{
		MerchantName: "测试商户 KPOS Test Shop", MerchantID: "898320154110002", TerminalID: "12345678",
		Account: "6222 **** **** 0128", Batch: 1, Trace: 49, Time: time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC),
		Rows: []receipt.SettlementRow{chip, tap, qrRow}, Total: total,
		Domestic: receipt.Family{Debit: receipt.Count{N: 6, Amount: 141634}, Credit: receipt.Count{N: 1, Amount: 1500}, Code: "1"},
		Foreign:  receipt.Family{Code: "1"},
		Balanced: true,
	}
}
