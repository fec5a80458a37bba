package terminal

import (
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/slip"
)

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
		sl.CryptogramKind = slip.CryptogramKind(crypt)
		if sl.CryptogramKind == "AAC" && s.final.Decision == emv.Approved {
			// An approved transaction's final cryptogram is a TC whatever
			// its CID was reported as (only a tap's is its ARQC).
			sl.CryptogramKind = "TC"
		}
		tvr, tsi := s.first.TVR, s.first.TSI
		if len(s.final.Cryptogram) > 0 {
			tvr, tsi = s.final.TVR, s.final.TSI
		}
		sl.TVR, sl.TSI = slip.Hex(tvr[:]), slip.Hex(tsi[:])
		sl.ATC = slip.Hex(s.first.ATC)
	}
	if s.method == journal.QR {
		sl.Wallet, sl.OrderNo = int(s.code.Kind), s.resp.RRN
		switch {
		case s.merchantQR:
			// The terminal's own code is a UnionPay one; the order is the
			// host's, named in the code the customer paid.
			sl.Wallet, sl.OrderNo = int(qr.KindUnionPay), slip.OrderRef(s.resp.QRPayload)
		case s.code.Kind == 0 && s.orig.Trace != 0:
			// A void of a QR sale: the original's wallet and order.
			sl.Wallet, sl.OrderNo = s.orig.Slip.Wallet, s.orig.Slip.OrderNo
		}
	}
	return sl
}

// slipReceipt is the receipt of a journaled transaction: what the slip
// printed, from the journal alone.
func (t *Terminal) slipReceipt(x journal.Txn) receipt.Receipt {
	name, mid, tid := t.identity()
	return slip.Receipt(x, name, mid, tid)
}
