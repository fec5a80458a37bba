// Package receipt lays out what the terminal prints: transaction slips as
// UnionPay acquirers print them (POS签购单, merchant and cardholder
// copies; docs/receipts.md) and the settlement report, as hal.Documents in
// Chinese and English, and renders documents as plain text for screens and
// files.
//
// It works from masked data only: it is given a masked PAN, never the
// digits, so nothing it produces can leak a card number. It knows nothing of
// printers' bytes (that is the driver's) or of how a transaction was run.
package receipt

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kpos/firmware/qr"
	"kpos/firmware/txkind"
	"kpos/hal"
)

// Copy says whose copy is printed.
type Copy int

// The copies.
const (
	MerchantCopy Copy = iota + 1
	CustomerCopy
)

// CVM is how the cardholder was verified, as the slip says it.
type CVM int

// The CVM lines of a UnionPay slip.
const (
	CVMUnstated  CVM = iota // no CVM line: cash, a decline, a balance
	CVMPIN                  // 密码验证: online or offline PIN
	CVMSignature            // the cardholder signs the merchant copy
	CVMNone                 // 免密免签: a small tap or code that needed neither
	CVMDevice               // verified on the customer's phone (CDCVM, a wallet's own PIN)
)

// Receipt is everything a transaction slip shows. It follows the
// POS签购单 that UnionPay acquirers print (China UnionPay's bank card
// acceptance terminal specification, the slip layout annex): merchant,
// terminal and operator; the card masked, with its entry mode; the issuer
// and the acquirer; the transaction type in Chinese and English; batch,
// trace, authorization code, reference number, date and amount; for chip
// and tap the EMV data; the CVM and the cardholder's confirmation.
type Receipt struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	Operator     string // 操作员号; "01", the terminal's default operator, when empty
	Kind         string // "SALE", "VOID", "REFUND", …
	Method       string // "CHIP", "CONTACTLESS", "SWIPE", "QR", "CASH"
	MaskedPAN    string // first 6 / last 4 only; never set for a QR sale
	Issuer       string // 发卡行: the issuer's institution code (field 44) or name
	Acquirer     string // 收单行: the acquirer's institution code
	// Wallet names the wallet of a QR sale, from the scanned code's
	// classification (the terminal's own code is a UnionPay one); OrderNo
	// is the order it paid.
	Wallet   qr.Kind
	OrderNo  string
	AppLabel string
	AID      string
	TC       string // the final cryptogram when it is a TC
	ARQC     string // the cryptogram of an online tap, that has no second GENERATE AC
	TVR      string // hex
	TSI      string // hex
	ATC      string // hex
	Amount   int64  // minor units; a balance inquiry's balance
	Currency string
	Time     time.Time
	Trace    uint32
	Batch    uint32
	// OrigTrace and OrigRRN name the original of a void, refund or
	// completion: 原凭证号, 原参考号.
	OrigTrace uint32
	OrigRRN   string
	AuthCode  string
	RRN       string
	CVM       CVM
	Reprint   bool
	Approved  bool
	Declined  string // the decline text when not approved
}

// kindNames are the slip titles of the kinds, English to Chinese, as the
// one table of transaction kinds (firmware/txkind) declares them.
var kindNames = func() map[string]string {
	m := map[string]string{}
	for _, k := range txkind.All() {
		if k.Receipt.EN != "" {
			m[k.Receipt.EN] = k.Receipt.ZH
		}
	}
	return m
}()

// entryModes are the letters a UnionPay slip prints after the card number:
// I chip (IC), C contactless, S magnetic stripe.
var entryModes = map[string]string{"CHIP": "I", "CONTACTLESS": "C", "SWIPE": "S"}

// WalletName is how a slip names the wallet of a QR sale. An EMVCo
// consumer code is UnionPay's (银联二维码); a kind that is not a wallet has
// no name.
func WalletName(k qr.Kind) string {
	switch k {
	case qr.KindUnionPay, qr.KindEMVCPM:
		return "银联二维码 UNIONPAY QR"
	case qr.KindWeChat:
		return "微信支付 WECHAT PAY"
	case qr.KindAlipay:
		return "支付宝 ALIPAY"
	}
	return ""
}

// NarrowColumns is the width of 58 mm paper in ASCII columns, the narrowest
// the terminal supports; documents are laid out to fit it.
const NarrowColumns = 32

// number formats a batch or trace number, "" (left off) when there is none:
// a card's offline decline was never numbered.
func number(n uint32) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%06d", n)
}

// Money formats minor units as "12.34".
func Money(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

// Build lays out one copy of r: a POS签购单, or for a balance inquiry the
// 余额查询 slip (the balance as 余额, no cryptogram, nothing to confirm).
func Build(r Receipt, c Copy) hal.Document {
	name := "receipt-customer"
	copyLine := "持卡人存根 CARDHOLDER COPY"
	if c == MerchantCopy {
		name, copyLine = "receipt-merchant", "商户存根 MERCHANT COPY"
	}
	balance := r.Kind == txkind.Balance.Receipt.EN
	title := "POS签购单"
	if balance {
		title = "余额查询"
	}
	lines := []hal.Line{
		{Text: title, Align: hal.AlignCenter, Bold: true, Double: true},
		{Text: copyLine, Align: hal.AlignCenter},
	}
	if r.Reprint {
		lines = append(lines, hal.Line{Text: "重打印 REPRINT", Align: hal.AlignCenter, Bold: true})
	}
	rule := func() { lines = append(lines, hal.Line{Text: strings.Repeat("-", NarrowColumns)}) }
	text := func(ls ...string) {
		for _, s := range ls {
			lines = append(lines, hal.Line{Text: s})
		}
	}
	// A label and its value share a line when they fit the narrowest paper
	// (58 mm, 32 columns); otherwise the value goes right-aligned below, so
	// no number is ever split.
	add := func(label, value string) {
		if value == "" {
			return
		}
		if Columns(label)+1+Columns(value) <= NarrowColumns {
			text(label + " " + value)
			return
		}
		lines = append(lines, hal.Line{Text: label}, hal.Line{Text: value, Align: hal.AlignRight})
	}
	rule()
	add("商户名称 MERCHANT:", r.MerchantName)
	add("商户编号 MID:", r.MerchantID)
	add("终端编号 TID:", r.TerminalID)
	op := r.Operator
	if op == "" {
		op = "01"
	}
	add("操作员号 OPERATOR:", op)
	rule()
	if r.Method == "QR" {
		// The customer's code is a bearer credential: it is not a card
		// number and is never printed as one, masked or not.
		add("支付方式 WALLET:", WalletName(r.Wallet))
		add("订单号 ORDER NO:", r.OrderNo)
	} else if r.MaskedPAN != "" {
		card := r.MaskedPAN
		if m := entryModes[r.Method]; m != "" {
			card += " " + m
		}
		lines = append(lines, hal.Line{Text: "卡号 CARD NO:"}, hal.Line{Text: card, Bold: true, Align: hal.AlignRight})
	}
	add("发卡行 ISSUER:", r.Issuer)
	add("收单行 ACQUIRER:", r.Acquirer)
	kind := r.Kind
	if zh, ok := kindNames[r.Kind]; ok {
		kind = zh + " " + r.Kind
	}
	lines = append(lines, hal.Line{Text: "交易类型 TYPE:"}, hal.Line{Text: kind, Bold: true, Align: hal.AlignRight})
	if r.Method == "CASH" {
		add("方式 METHOD:", "现金 CASH")
	}
	add("批次号 BATCH:", number(r.Batch))
	add("凭证号 TRACE:", number(r.Trace))
	add("原凭证号 ORIG TRACE:", number(r.OrigTrace))
	add("原参考号 ORIG REF NO:", r.OrigRRN)
	add("授权码 AUTH:", r.AuthCode)
	add("参考号 REF NO:", r.RRN)
	add("日期时间 DATE/TIME:", r.Time.Format("2006-01-02 15:04:05"))
	cur := r.Currency
	if cur == "" {
		cur = "CNY"
	}
	amountLabel := "金额 AMOUNT:"
	if balance {
		amountLabel = "余额 BALANCE:"
	}
	lines = append(lines, hal.Line{Text: amountLabel}, hal.Line{Text: cur + " " + Money(r.Amount), Bold: true, Double: true, Align: hal.AlignRight})
	if !r.Approved {
		lines = append(lines, hal.Line{Text: "交易失败 DECLINED", Bold: true})
		if r.Declined != "" {
			lines = append(lines, hal.Line{Text: r.Declined, Bold: true}) // why: its own line, never cut
		}
	}
	// The EMV data of a chip or tap, as UnionPay slips print them under
	// 备注: a balance inquiry's cryptogram authorizes nothing and is left off.
	if r.AID != "" {
		rule()
		add("AID:", r.AID)
		add("APP LABEL:", r.AppLabel)
		if !balance {
			add("TC:", r.TC)
			add("ARQC:", r.ARQC)
		}
		if r.TVR != "" || r.TSI != "" {
			text(strings.TrimSpace("TVR: " + r.TVR + "  TSI: " + r.TSI))
		}
		add("ATC:", r.ATC)
	}
	rule()
	cvm := r.CVM
	if balance {
		cvm = CVMUnstated // nothing was charged: nothing to verify on paper
	}
	switch cvm {
	case CVMPIN:
		text("密码验证 免签名", "PIN VERIFIED, NO SIGNATURE")
	case CVMNone:
		text("免密免签", "NO PIN, NO SIGNATURE REQUIRED")
	case CVMDevice:
		text("手机验证 免签名", "VERIFIED ON PHONE, NO SIGNATURE")
	case CVMSignature:
		if c == MerchantCopy {
			lines = append(lines,
				hal.Line{Text: "持卡人签名 CARDHOLDER SIGNATURE:", Feed: 2},
				hal.Line{Text: "______________________________"})
		}
	}
	// The cardholder's confirmation is on every slip that moved money on an
	// account, signed or not; a balance, a decline or cash moved none.
	if r.Approved && !balance && (r.MaskedPAN != "" || r.Method == "QR") {
		text("本人确认以上交易，", "同意将其记入本卡账户",
			"I ACKNOWLEDGE SATISFACTORY", "RECEIPT OF RELATIVE", "GOODS/SERVICES")
	}
	lines = append(lines, hal.Line{Text: "", Feed: 3, Cut: true})
	return hal.Document{Name: name, Lines: lines}
}

// Text renders a document as plain text width columns wide (CJK characters
// count two), QR codes as "[QR payload]". It is what the sim board shows and
// saves.
func Text(doc hal.Document, width int) string {
	var b strings.Builder
	for _, l := range doc.Lines {
		text := l.Text
		if l.QR != "" {
			text = "[QR " + l.QR + "]"
		}
		for _, part := range wrap(text, width) {
			pad := 0
			switch l.Align {
			case hal.AlignCenter:
				pad = (width - Columns(part)) / 2
			case hal.AlignRight:
				pad = width - Columns(part)
			}
			if pad > 0 {
				b.WriteString(strings.Repeat(" ", pad))
			}
			b.WriteString(part)
			b.WriteByte('\n')
		}
		for i := 0; i < l.Feed; i++ {
			b.WriteByte('\n')
		}
		if l.Cut {
			b.WriteString(strings.Repeat("-", width) + "\n")
		}
	}
	return b.String()
}

// Columns returns the printed width of s, CJK and other wide characters
// counting two.
func Columns(s string) int {
	n := 0
	for _, r := range s {
		n += runeColumns(r)
	}
	return n
}

func runeColumns(r rune) int {
	if r >= 0x1100 && (r <= 0x115F || (r >= 0x2E80 && r <= 0xA4CF) || (r >= 0xAC00 && r <= 0xD7A3) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) || (r >= 0xFF00 && r <= 0xFF60) ||
		(r >= 0xFFE0 && r <= 0xFFE6)) {
		return 2
	}
	return 1
}

// wrap splits s into lines of at most width columns.
func wrap(s string, width int) []string {
	if width <= 0 || Columns(s) <= width {
		return []string{s}
	}
	var out []string
	var cur strings.Builder
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		w := runeColumns(r)
		if n+w > width {
			out = append(out, cur.String())
			cur.Reset()
			n = 0
		}
		cur.WriteRune(r)
		n += w
		s = s[size:]
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
