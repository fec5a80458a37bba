// Package receipt lays out what the terminal prints: transaction receipts
// (merchant and customer copies) as hal.Documents, in Chinese and English,
// and renders documents as plain text for screens and files.
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

	"kpos/hal"
)

// Copy says whose copy is printed.
type Copy int

// The copies.
const (
	MerchantCopy Copy = iota + 1
	CustomerCopy
)

// Receipt is everything a transaction receipt shows.
type Receipt struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	Kind         string // "SALE", "VOID", "REFUND", …
	Method       string // "CHIP", "CONTACTLESS", "SWIPE", "QR", "CASH"
	MaskedPAN    string // first 6 / last 4 only
	AppLabel     string
	AID          string
	TC           string
	Amount       int64 // minor units
	Currency     string
	Time         time.Time
	Trace        uint32
	Batch        uint32
	AuthCode     string
	RRN          string
	Signature    bool // the CVM asked for a signature
	PINVerified  bool // the cardholder entered a PIN
	Reprint      bool
	Approved     bool
	Declined     string // the decline text when not approved
}

var kindNames = map[string]string{
	"SALE": "消费", "VOID": "消费撤销", "REFUND": "退货", "BALANCE": "余额查询",
	"PREAUTH": "预授权", "PREAUTH COMPLETE": "预授权完成", "PREAUTH VOID": "预授权撤销",
	"PREAUTH COMPLETE VOID": "预授权完成撤销",
	"CASH":                  "现金", "QR": "扫码支付",
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

// Build lays out one copy of r.
func Build(r Receipt, c Copy) hal.Document {
	name := "receipt-customer"
	copyLine := "持卡人存根 CARDHOLDER COPY"
	if c == MerchantCopy {
		name, copyLine = "receipt-merchant", "商户存根 MERCHANT COPY"
	}
	lines := []hal.Line{
		{Text: "POS签购单", Align: hal.AlignCenter, Bold: true, Double: true},
		{Text: copyLine, Align: hal.AlignCenter},
	}
	if r.Reprint {
		lines = append(lines, hal.Line{Text: "重打印 REPRINT", Align: hal.AlignCenter, Bold: true})
	}
	// A label and its value share a line when they fit the narrowest paper
	// (58 mm, 32 columns); otherwise the value goes right-aligned below, so
	// no number is ever split.
	add := func(label, value string) {
		if value == "" {
			return
		}
		if Columns(label)+1+Columns(value) <= NarrowColumns {
			lines = append(lines, hal.Line{Text: label + " " + value})
			return
		}
		lines = append(lines, hal.Line{Text: label}, hal.Line{Text: value, Align: hal.AlignRight})
	}
	add("商户名称 MERCHANT:", r.MerchantName)
	add("商户编号 MID:", r.MerchantID)
	add("终端编号 TID:", r.TerminalID)
	kind := r.Kind
	if zh, ok := kindNames[r.Kind]; ok {
		kind = zh + " " + r.Kind
	}
	lines = append(lines, hal.Line{Text: "交易类型 TYPE:"}, hal.Line{Text: kind, Bold: true, Align: hal.AlignRight})
	add("卡号 CARD NO:", r.MaskedPAN)
	add("方式 ENTRY:", r.Method)
	add("应用 APP:", r.AppLabel)
	add("AID:", r.AID)
	add("TC:", r.TC)
	add("批次号 BATCH:", number(r.Batch))
	add("凭证号 TRACE:", number(r.Trace))
	add("授权码 AUTH:", r.AuthCode)
	add("参考号 REF NO:", r.RRN)
	add("日期时间 DATE/TIME:", r.Time.Format("2006-01-02 15:04:05"))
	cur := r.Currency
	if cur == "" {
		cur = "CNY"
	}
	lines = append(lines, hal.Line{Text: "金额 AMOUNT:"}, hal.Line{Text: cur + " " + Money(r.Amount), Bold: true, Double: true, Align: hal.AlignRight})
	if !r.Approved {
		lines = append(lines, hal.Line{Text: "交易失败 DECLINED", Bold: true})
		if r.Declined != "" {
			lines = append(lines, hal.Line{Text: r.Declined, Bold: true}) // why: its own line, never cut
		}
	}
	if c == MerchantCopy && r.Signature {
		lines = append(lines,
			hal.Line{Text: "持卡人签名 CARDHOLDER SIGNATURE:", Feed: 2},
			hal.Line{Text: "______________________________"},
			hal.Line{Text: "本人确认以上交易，"},
			hal.Line{Text: "同意将其记入本卡账户"},
			hal.Line{Text: "I ACKNOWLEDGE SATISFACTORY"},
			hal.Line{Text: "RECEIPT OF GOODS/SERVICES"})
	} else if c == MerchantCopy && r.PINVerified {
		lines = append(lines, hal.Line{Text: "密码验证 免签名"}, hal.Line{Text: "PIN VERIFIED, NO SIGNATURE"})
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
