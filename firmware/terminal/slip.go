package terminal

import (
	"context"
	"encoding/hex"
	"strings"

	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/firmware/txkind"
)

// ScreenTearOff asks the merchant to tear off the merchant copy before the
// cardholder's is printed.
const ScreenTearOff = "tear-off"

// printCopies prints the merchant copy, then pauses (ScreenTearOff) until a
// key or TearOffTimeout before the cardholder copy, so the two do not come
// out as one strip.
func (t *Terminal) printCopies(ctx context.Context, r receipt.Receipt) error {
	if err := t.panel.PrintWhole(ctx, receipt.Build(r, receipt.MerchantCopy)); err != nil {
		return err
	}
	_ = t.ui.Show(ctx, ScreenTearOff, "请撕下商户存根 Tear off the merchant copy", "按任意键打印持卡人存根 Any key: cardholder copy")
	t.panel.AnyKey(ctx, t.cfg.TearOffTimeout)
	if err := ctx.Err(); err != nil {
		return err
	}
	return t.panel.PrintWhole(ctx, receipt.Build(r, receipt.CustomerCopy))
}

// cryptogramKind names a cryptogram by its CID (EMV Book 3, 9F27 bits 8-7):
// a TC, an ARQC (a tap's, that has no second GENERATE AC) or an AAC.
func cryptogramKind(cid byte) string {
	switch cid & 0xC0 {
	case 0x40:
		return "TC"
	case 0x80:
		return "ARQC"
	}
	return "AAC"
}

// slipCVM is how the slip says the cardholder was verified.
func (s *sale) slipCVM() receipt.CVM {
	switch {
	case s.method == journal.CashMethod:
		return receipt.CVMUnstated
	case s.method == journal.QR && (s.code.Kind != 0 || s.merchantQR), s.first.CVM == emv.CVMCDCVM:
		return receipt.CVMDevice // the wallet verified its owner on the phone
	case s.request.PIN != nil, s.first.CVM == emv.CVMOfflinePIN:
		return receipt.CVMPIN
	case s.first.Signature:
		return receipt.CVMSignature
	case len(s.first.Card.AID) > 0:
		return receipt.CVMNone // chip or tap that asked for no CVM
	}
	return receipt.CVMSignature // a stripe without PIN, or no card read (void, completion)
}

// slipRecord is what the slip prints that only the slip needs, as the
// journal keeps it for a reprint.
func (s *sale) slipRecord() journal.Slip {
	crypt := s.final.CID
	if len(s.final.Cryptogram) == 0 {
		crypt = s.first.CID
	}
	sl := journal.Slip{CVM: int(s.slipCVM()), OrigRRN: s.origRRN,
		Issuer: s.resp.IssuerID, Acquirer: s.resp.AcquirerID}
	if sl.Acquirer == "" && s.t.binding != nil {
		sl.Acquirer = s.t.binding.Record().AcquirerIIN
	}
	if len(s.first.Card.AID) > 0 {
		sl.CryptogramKind = cryptogramKind(crypt)
		if sl.CryptogramKind == "AAC" && s.final.Decision == emv.Approved {
			// An approved transaction's final cryptogram is a TC whatever
			// its CID was reported as (only a tap's is its ARQC).
			sl.CryptogramKind = "TC"
		}
		tvr, tsi := s.first.TVR, s.first.TSI
		if len(s.final.Cryptogram) > 0 {
			tvr, tsi = s.final.TVR, s.final.TSI
		}
		sl.TVR, sl.TSI = hexUpper(tvr[:]), hexUpper(tsi[:])
		sl.ATC = hexUpper(s.first.ATC)
	}
	if s.method == journal.QR {
		sl.Wallet, sl.OrderNo = int(s.code.Kind), s.resp.RRN
		switch {
		case s.merchantQR:
			// The terminal's own code is a UnionPay one; the order is the
			// host's, named in the code the customer paid.
			sl.Wallet, sl.OrderNo = int(qr.KindUnionPay), orderRef(s.resp.QRPayload)
		case s.code.Kind == 0 && s.orig.Trace != 0:
			// A void of a QR sale: the original's wallet and order.
			sl.Wallet, sl.OrderNo = s.orig.Slip.Wallet, s.orig.Slip.OrderNo
		}
	}
	return sl
}

// orderRef is the host's order reference: the last path element of the
// payload it issued.
func orderRef(payload string) string {
	if i := strings.LastIndexByte(payload, '/'); i >= 0 {
		return payload[i+1:]
	}
	return payload
}

func hexUpper(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// slipReceipt is the receipt of a journaled transaction: what the slip
// printed, from the journal alone.
func (t *Terminal) slipReceipt(x journal.Txn) receipt.Receipt {
	name, mid, tid := t.identity()
	kind := ""
	if k := txkind.Named(string(x.Kind)); k != nil {
		kind = k.Receipt.EN
	}
	if kind == "" {
		kind = strings.ToUpper(string(x.Kind))
	}
	sl := x.Slip
	cvm := receipt.CVM(sl.CVM)
	if cvm == receipt.CVMUnstated && x.Method != journal.CashMethod {
		switch { // a record journaled before slips were kept
		case x.PINVerified:
			cvm = receipt.CVMPIN
		case x.Signature:
			cvm = receipt.CVMSignature
		}
	}
	r := receipt.Receipt{MerchantName: name, MerchantID: mid, TerminalID: tid, Kind: kind, Method: methodNames[x.Method],
		MaskedPAN: x.MaskedPAN, AppLabel: x.AppLabel, AID: x.AID, Amount: x.Amount, Time: x.Created,
		Trace: x.Trace, Batch: x.Batch, OrigTrace: x.OrigTrace, OrigRRN: sl.OrigRRN, AuthCode: x.AuthCode, RRN: x.RRN,
		Issuer: sl.Issuer, Acquirer: sl.Acquirer, Wallet: qr.Kind(sl.Wallet), OrderNo: sl.OrderNo,
		TVR: sl.TVR, TSI: sl.TSI, ATC: sl.ATC, CVM: cvm, Approved: true}
	if sl.CryptogramKind == "ARQC" {
		r.ARQC = x.TC
	} else if sl.CryptogramKind == "TC" || sl.CryptogramKind == "" {
		r.TC = x.TC
	}
	return r
}
