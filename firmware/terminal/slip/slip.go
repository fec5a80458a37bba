// Package slip is what a transaction's slip and its screens say, from the
// journal and the card: the receipt of a journaled transaction (so that a
// reprint is the slip first printed), the facts of a transaction in
// progress (Facts: how the cardholder was verified, the cryptogram, TVR
// and TSI, the wallet and order) and its receipt built the way a reprint
// builds it, the names of the payment methods and cryptograms, why a card
// declined offline and its decline slip, which journaled transactions have
// a slip to reprint, and the two copies printed with a pause to tear off
// the first. Layout is firmware/receipt's.
package slip

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"kpos/firmware/emv/status"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/receipt"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// ScreenTearOff asks the merchant to tear off the merchant copy before the
// cardholder's is printed.
const ScreenTearOff = "tear-off"

// PrintCopies prints the merchant copy, then pauses (ScreenTearOff) until
// a key or pause before the cardholder copy, so the two do not come out as
// one strip.
func PrintCopies(ctx context.Context, p *panel.Panel, r receipt.Receipt, pause time.Duration) error {
	if err := p.PrintWhole(ctx, receipt.Build(r, receipt.MerchantCopy)); err != nil {
		return err
	}
	_ = p.UI.Show(ctx, ScreenTearOff, "请撕下商户存根 Tear off the merchant copy", "按任意键打印持卡人存根 Any key: cardholder copy")
	p.AnyKey(ctx, pause)
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.PrintWhole(ctx, receipt.Build(r, receipt.CustomerCopy))
}

// CryptogramKind names a cryptogram by its CID (EMV Book 3, 9F27 bits 8-7):
// a TC, an ARQC (a tap's, that has no second GENERATE AC) or an AAC.
func CryptogramKind(cid byte) string {
	switch cid & 0xC0 {
	case 0x40:
		return "TC"
	case 0x80:
		return "ARQC"
	}
	return "AAC"
}

// OrderRef is the host's order reference: the last path element of the
// payload it issued.
func OrderRef(payload string) string {
	if i := strings.LastIndexByte(payload, '/'); i >= 0 {
		return payload[i+1:]
	}
	return payload
}

func Hex(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// Receipt is the receipt of a journaled transaction, for the merchant
// name, mid and tid: what the slip printed, from the journal alone.
func Receipt(x journal.Txn, name, mid, tid string) receipt.Receipt {
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
	r := receipt.Receipt{MerchantName: name, MerchantID: mid, TerminalID: tid, Kind: kind, Method: MethodNames[x.Method],
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

// MethodNames are the payment methods as receipts and screens name them.
var MethodNames = map[journal.Method]string{journal.Chip: "CHIP", journal.Contactless: "CONTACTLESS", journal.Stripe: "SWIPE",
	journal.QR: "QR", journal.CashMethod: "CASH"}

// cardDeclines are the reasons a card's offline decline (an AAC from the
// first GENERATE AC) is explained by, in the order they are looked for in
// the Terminal Verification Results (EMV Book 3, Annex C5). The kernel keeps
// the EMV order (cardholder verification, then terminal risk management and
// terminal action analysis): these bits were set on the way and tell the
// counter why the card ended it. The first one set names the decline.
var cardDeclines = []struct {
	bit    status.Bit
	zh, en string
}{
	{status.TVRExpiredApplication, "卡片已过期", "Card expired"},
	{status.TVRApplicationNotYetEffective, "卡片未生效", "Card not yet valid"},
	{status.TVRServiceNotAllowed, "此卡不支持该交易", "Service not allowed for this card"},
	{status.TVRPINTryLimitExceeded, "密码错误次数超限", "PIN tries exceeded"},
	{status.TVRCardOnExceptionFile, "卡片已列入黑名单", "Card on the exception file"},
	{status.TVRSDAFailed, "卡片认证失败", "Card authentication failed"},
	{status.TVRDDAFailed, "卡片认证失败", "Card authentication failed"},
	{status.TVRCDAFailed, "卡片认证失败", "Card authentication failed"},
}

// DeclineReason says why the card declined, from its TVR, for the
// screen (under the title 交易失败 Declined) and the slip: the reason when
// the TVR names one, else "卡片拒绝 Declined by card".
func DeclineReason(tvr [5]byte) (screen, slip string) {
	for _, d := range cardDeclines {
		if status.TVR(tvr).Has(d.bit) {
			return d.zh + " " + d.en, d.zh + " " + d.en
		}
	}
	return "卡片拒绝 Declined by card", "卡片拒绝 DECLINED BY CARD"
}

// MerchantCode is the merchant-presented code of an order on paper, for a
// customer who scans from paper: the merchant, the terminal, the amount and
// the code.
func MerchantCode(name, tid string, amount int64, payload string) hal.Document {
	return hal.Document{Name: "merchant-qr", Lines: []hal.Line{
		{Text: name, Align: hal.AlignCenter, Bold: true},
		{Text: "终端 TID " + tid, Align: hal.AlignCenter},
		{Text: ui.Money(amount), Align: hal.AlignCenter, Double: true},
		{QR: payload, Align: hal.AlignCenter},
		{Text: "请扫码付款 Scan to pay", Align: hal.AlignCenter, Feed: 3, Cut: true},
	}}
}
