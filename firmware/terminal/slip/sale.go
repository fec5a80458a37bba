package slip

import (
	"errors"
	"fmt"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/firmware/txkind"
	"kpos/hal"
)

// Facts are what a transaction in progress knows that its slip prints.
type Facts struct {
	Kind       *txkind.Kind
	Method     journal.Method
	Masked     string // the card number masked, or the original's when no card was read
	Amount     int64
	Started    time.Time
	Trace      uint32
	Batch      uint32
	Wallet     qr.Kind // the customer's payment code's wallet (0: none scanned)
	MerchantQR bool    // the customer scanned the terminal's code
	First      emv.FirstResult
	Final      emv.FinalResult
	PINOnline  bool // a PIN block went to the host
	OrigRRN    string
	Resp       acquirer.Response
	// AcquirerIIN names the acquirer when the host's answer does not (the
	// binding's; "" without one).
	AcquirerIIN string
	Orig        journal.Txn // the original of a void, refund or completion
}

// CVM is how the slip says the cardholder was verified.
func (f *Facts) CVM() receipt.CVM {
	switch {
	case f.Method == journal.CashMethod:
		return receipt.CVMUnstated
	case f.Method == journal.QR && (f.Wallet != 0 || f.MerchantQR), f.First.CVM == emv.CVMCDCVM:
		return receipt.CVMDevice // the wallet verified its owner on the phone
	case f.PINOnline, f.First.CVM == emv.CVMOfflinePIN:
		return receipt.CVMPIN
	case f.First.Signature:
		return receipt.CVMSignature
	case len(f.First.Card.AID) > 0:
		return receipt.CVMNone // chip or tap that asked for no CVM
	}
	return receipt.CVMSignature // a stripe without PIN, or no card read (void, completion)
}

// Record is what the slip prints that only the slip needs, as the journal
// keeps it for a reprint.
func (f *Facts) Record() journal.Slip {
	crypt := f.Final.CID
	if len(f.Final.Cryptogram) == 0 {
		crypt = f.First.CID
	}
	sl := journal.Slip{CVM: int(f.CVM()), OrigRRN: f.OrigRRN,
		Issuer: f.Resp.IssuerID, Acquirer: f.Resp.AcquirerID}
	if sl.Acquirer == "" {
		sl.Acquirer = f.AcquirerIIN
	}
	if len(f.First.Card.AID) > 0 {
		sl.CryptogramKind = CryptogramKind(crypt)
		if sl.CryptogramKind == "AAC" && f.Final.Decision == emv.Approved {
			// An approved transaction's final cryptogram is a TC whatever
			// its CID was reported as (only a tap's is its ARQC).
			sl.CryptogramKind = "TC"
		}
		tvr, tsi := f.First.TVR, f.First.TSI
		if len(f.Final.Cryptogram) > 0 {
			tvr, tsi = f.Final.TVR, f.Final.TSI
		}
		sl.TVR, sl.TSI = Hex(tvr[:]), Hex(tsi[:])
		sl.ATC = Hex(f.First.ATC)
	}
	if f.Method == journal.QR {
		sl.Wallet, sl.OrderNo = int(f.Wallet), f.Resp.RRN
		switch {
		case f.MerchantQR:
			// The terminal's own code is a UnionPay one; the order is the
			// host's, named in the code the customer paid.
			sl.Wallet, sl.OrderNo = int(qr.KindUnionPay), OrderRef(f.Resp.QRPayload)
		case f.Wallet == 0 && f.Orig.Trace != 0:
			// A void of a QR sale: the original's wallet and order.
			sl.Wallet, sl.OrderNo = f.Orig.Slip.Wallet, f.Orig.Slip.OrderNo
		}
	}
	return sl
}

// Receipt is the receipt of the transaction, for the merchant name, mid
// and tid: built as a reprint builds it from the journal, so the two agree.
func (f *Facts) Receipt(name, mid, tid string) receipt.Receipt {
	masked := f.Masked
	if f.Method == journal.QR {
		masked = "" // the slip names the wallet, never the customer's code
	}
	c := f.First.Card
	x := journal.Txn{Kind: journal.Kind(f.Kind.Name), Method: f.Method, MaskedPAN: masked, AID: Hex(c.AID), AppLabel: c.Label,
		TC: Hex(f.Final.Cryptogram), Amount: f.Amount, Created: f.Started, Trace: f.Trace, Batch: f.Batch,
		OrigTrace: f.Orig.Trace, AuthCode: f.Resp.AuthCode, RRN: f.Resp.RRN, Slip: f.Record()}
	if len(f.Final.Cryptogram) == 0 {
		x.TC = Hex(f.First.Cryptogram)
	}
	r := Receipt(x, name, mid, tid)
	r.Kind = f.Kind.Receipt.EN
	return r
}

// DeclineSlip is the customer's slip of a sale the card declined offline,
// with the reason. Nothing was sent or journaled, so it carries no trace
// number.
func (f *Facts) DeclineSlip(name, mid, tid, reason string) hal.Document {
	r := f.Receipt(name, mid, tid)
	r.Approved, r.Declined, r.TC, r.ARQC, r.CVM = false, reason, "", "", receipt.CVMUnstated
	return receipt.Build(r, receipt.CustomerCopy)
}

// Printable reports whether x has a receipt.
func Printable(x journal.Txn) bool {
	return x.State == journal.Completed && x.Kind != journal.Balance || x.State == journal.Voided
}

// Reprint is the receipt of a journaled transaction, as a reprint.
func Reprint(x journal.Txn, name, mid, tid string) receipt.Receipt {
	r := Receipt(x, name, mid, tid)
	r.Reprint = true
	return r
}

// Reprintable finds the journaled transaction of trace whose slip may be
// printed again (trace 0: the last that has one), or says why there is
// none; window says when trace was archived ("" when err is not that).
func Reprintable(j *journal.Journal, trace uint32, window func(err error, trace uint64) string) (journal.Txn, string, error) {
	if trace == 0 {
		last, err := j.LastWhere(Printable)
		if errors.Is(err, journal.ErrNotFound) {
			return journal.Txn{}, "没有可重打的凭条 No receipt to reprint", nil
		}
		if err != nil {
			return journal.Txn{}, "", fmt.Errorf("slip: %w", err)
		}
		trace = last.Trace
	}
	x, err := j.Get(trace)
	if msg := window(err, uint64(trace)); msg != "" {
		return journal.Txn{}, msg, nil
	}
	if errors.Is(err, journal.ErrNotFound) || (err == nil && !Printable(x)) {
		return journal.Txn{}, fmt.Sprintf("无此凭条 No receipt for trace %06d", trace), nil
	}
	if err != nil {
		return journal.Txn{}, "", fmt.Errorf("slip: %w", err)
	}
	return x, "", nil
}
