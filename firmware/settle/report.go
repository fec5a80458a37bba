package settle

import (
	"strings"

	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/hal"
)

// MethodFigures are one payment method's figures on a report.
type MethodFigures struct {
	journal.MethodTotals
	Fee int64 // the merchant's fee on the method's net, minor units
}

// Report is a settlement's outcome as printed.
type Report struct {
	Batch   journal.ClosedBatch
	Methods []MethodFigures // methods with any activity, in report order
	Fees    int64           // every method's fee
	// Document is the printed report; Printed says whether it came out.
	Document hal.Document
	Printed  bool
	// Resumed is set when the settlement (or its printing) was continued
	// after an interruption.
	Resumed bool
}

var reportNames = map[journal.Method]string{
	journal.Chip: "CHIP", journal.Contactless: "CONTACTLESS", journal.Stripe: "SWIPE",
	journal.QR: "QR", journal.CashMethod: "CASH",
}

func count(s journal.Sum) receipt.Count { return receipt.Count{N: s.Count, Amount: s.Amount} }

// fee is the merchant's fee on a method's net (nothing on a net refund).
func (s *Settler) fee(m journal.Method, net int64) int64 {
	if s.cfg.Fees == nil || net <= 0 {
		return 0
	}
	return s.cfg.Fees(string(m), net)
}

// report lays out cb's settlement report.
func (s *Settler) report(cb journal.ClosedBatch, reprint bool) Report {
	t := cb.Totals
	r := Report{Batch: cb, Printed: cb.Printed && !reprint}
	doc := receipt.SettlementReport{
		MerchantName: s.cfg.MerchantName, MerchantID: s.cfg.MerchantID, TerminalID: s.cfg.TerminalID,
		Account: s.cfg.Account, Batch: cb.Batch, Trace: cb.Trace, Time: cb.Closed, Currency: s.cfg.Currency,
		Domestic: receipt.Family{Debit: count(t.Domestic.Debit), Credit: count(t.Domestic.Credit), Code: cb.Answer.DomesticCode},
		Foreign:  receipt.Family{Debit: count(t.Foreign.Debit), Credit: count(t.Foreign.Credit), Code: cb.Answer.ForeignCode},
		Balanced: cb.Balanced, Uploaded: cb.Uploaded, Reprint: reprint,
		Total: receipt.SettlementRow{Sales: count(t.Sales), Refunds: count(t.Refunds), Voids: count(t.Voids)},
	}
	for _, mt := range t.Methods {
		if mt.Sales.Count == 0 && mt.Refunds.Count == 0 && mt.Voids.Count == 0 {
			continue
		}
		f := MethodFigures{MethodTotals: mt, Fee: s.fee(mt.Method, mt.Net())}
		r.Methods = append(r.Methods, f)
		r.Fees += f.Fee
		name, ok := reportNames[mt.Method]
		if !ok {
			name = strings.ToUpper(string(mt.Method))
		}
		doc.Rows = append(doc.Rows, receipt.SettlementRow{Method: name, Sales: count(mt.Sales),
			Refunds: count(mt.Refunds), Voids: count(mt.Voids), Fee: f.Fee})
	}
	doc.Total.Fee = r.Fees
	r.Document = receipt.BuildSettlement(doc, s.cfg.Width)
	return r
}
