package terminal

import (
	"context"

	"kpos/firmware/emv"
	"kpos/firmware/receipt"
)

// cardDeclines are the reasons a card's offline decline (an AAC from the
// first GENERATE AC) is explained by, in the order they are looked for in
// the Terminal Verification Results (EMV Book 3, Annex C5). The kernel keeps
// the EMV order (cardholder verification, then terminal risk management and
// terminal action analysis): these bits were set on the way and tell the
// counter why the card ended it. The first one set names the decline.
var cardDeclines = []struct {
	bit    emv.Bit
	zh, en string
}{
	{emv.TVRExpiredApplication, "卡片已过期", "Card expired"},
	{emv.TVRApplicationNotYetEffective, "卡片未生效", "Card not yet valid"},
	{emv.TVRServiceNotAllowed, "此卡不支持该交易", "Service not allowed for this card"},
	{emv.TVRPINTryLimitExceeded, "密码错误次数超限", "PIN tries exceeded"},
	{emv.TVRCardOnExceptionFile, "卡片已列入黑名单", "Card on the exception file"},
	{emv.TVRSDAFailed, "卡片认证失败", "Card authentication failed"},
	{emv.TVRDDAFailed, "卡片认证失败", "Card authentication failed"},
	{emv.TVRCDAFailed, "卡片认证失败", "Card authentication failed"},
}

// cardDeclineReason says why the card declined, from its TVR, for the
// screen (under the title 交易失败 Declined) and the slip: the reason when
// the TVR names one, else "卡片拒绝 Declined by card".
func cardDeclineReason(tvr [5]byte) (screen, slip string) {
	for _, d := range cardDeclines {
		if emv.TVR(tvr).Has(d.bit) {
			return d.zh + " " + d.en, d.zh + " " + d.en
		}
	}
	return "卡片拒绝 Declined by card", "卡片拒绝 DECLINED BY CARD"
}

// printDeclineSlip prints the customer's slip of a sale the card declined
// offline, with the reason. Nothing was sent or journaled, so it carries no
// trace number; a printer fault only loses the slip.
func (s *sale) printDeclineSlip(ctx context.Context, reason string) {
	r := s.receipt()
	r.Approved, r.Declined, r.TC, r.ARQC, r.CVM = false, reason, "", "", receipt.CVMUnstated
	if err := s.t.panel.PrintWhole(ctx, receipt.Build(r, receipt.CustomerCopy)); err != nil {
		s.t.log.Warn("decline slip not printed", "err", err)
	}
}
