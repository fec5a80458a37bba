package receipt

import (
	"fmt"
	"strings"
	"time"

	"kpos/hal"
)

// Count is a number of transactions and their amount in minor units.
type Count struct {
	N      int
	Amount int64
}

// SettlementRow is one payment method's line block on a settlement report
// (or the total's).
type SettlementRow struct {
	Method  string // "CHIP", "CONTACTLESS", "SWIPE", "QR", "CASH", or "TOTAL"
	Sales   Count
	Refunds Count
	Voids   Count
	Fee     int64 // merchant fee in minor units
}

// Net is sales minus refunds.
func (r SettlementRow) Net() int64 { return r.Sales.Amount - r.Refunds.Amount }

// Family is one card family's figures as reconciled with the host.
type Family struct {
	Debit  Count
	Credit Count
	Code   string // the host's reconciliation code: "1" balanced, "2" unbalanced, "3" error
}

// SettlementReport is everything a settlement report shows. The account is
// given masked; digits between the first six and the last four are starred
// again here should a full number slip through.
type SettlementReport struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	Account      string // the merchant's settlement account, masked
	Batch        uint32
	Trace        uint32 // of the settlement request
	Time         time.Time
	Currency     string // "CNY" when empty
	Rows         []SettlementRow
	Total        SettlementRow
	Domestic     Family
	Foreign      Family
	Balanced     bool
	Uploaded     int // transactions uploaded after an unbalanced answer
	Reprint      bool
}

var methodNames = map[string]string{
	"CHIP": "芯片卡", "CONTACTLESS": "非接卡", "SWIPE": "磁条卡", "QR": "扫码", "CASH": "现金", "TOTAL": "合计",
}

// maskAccount stars every digit of s but the first six and last four.
func maskAccount(s string) string {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits <= 10 {
		return s
	}
	var b strings.Builder
	i := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if i >= 6 && i < digits-4 {
				r = '*'
			}
			i++
		}
		b.WriteRune(r)
	}
	return b.String()
}

// reportWidth is the paper's width in columns: 32 (58 mm) or 48 (80 mm).
func reportWidth(w int) int {
	if w >= 48 {
		return 48
	}
	return 32
}

// padLeft right-aligns s in a field w columns wide.
func padLeft(s string, w int) string {
	return strings.Repeat(" ", max(0, w-Columns(s))) + s
}

// columns lays out label at the left and the values right-aligned, the
// count in a field of its own before the amount, in width columns; when they
// do not fit on one line the values go on a second line.
func columns(label, count, amount string, width int) []string {
	cw, aw := 5, 12
	if width >= 48 {
		cw, aw = 8, 17
	}
	return kv(label, padLeft(count, cw)+" "+padLeft(amount, aw), width)
}

// kv lays out label at the left and value at the right margin, on two lines
// when one is too narrow.
func kv(label, value string, width int) []string {
	gap := width - Columns(label) - Columns(value)
	if gap >= 1 {
		return []string{label + strings.Repeat(" ", gap) + value}
	}
	return []string{label, padLeft(value, width)}
}

// BuildSettlement lays out a settlement report for paper width columns wide
// (32 or 48): merchant and terminal, batch, time, the settlement account,
// each payment method's sales, refunds, voids and fee, the totals and net,
// the host's reconciliation per card family, and whether the batch balanced.
func BuildSettlement(r SettlementReport, width int) hal.Document {
	width = reportWidth(width)
	rule := strings.Repeat("-", width)
	cur := r.Currency
	if cur == "" {
		cur = "CNY"
	}
	lines := []hal.Line{
		{Text: "结算单", Align: hal.AlignCenter, Bold: true, Double: true},
		{Text: "SETTLEMENT REPORT", Align: hal.AlignCenter, Bold: true},
	}
	if r.Reprint {
		lines = append(lines, hal.Line{Text: "重打印 REPRINT", Align: hal.AlignCenter, Bold: true})
	}
	text := func(ls ...string) {
		for _, s := range ls {
			lines = append(lines, hal.Line{Text: s})
		}
	}
	bold := func(ls ...string) {
		for _, s := range ls {
			lines = append(lines, hal.Line{Text: s, Bold: true})
		}
	}
	add := func(label, value string) {
		if value != "" {
			text(kv(label, value, width)...)
		}
	}
	add("商户名称 MERCHANT:", r.MerchantName)
	add("商户编号 MID:", r.MerchantID)
	add("终端编号 TID:", r.TerminalID)
	add("结算账户 ACCOUNT:", maskAccount(r.Account))
	add("批次号 BATCH:", fmt.Sprintf("%06d", r.Batch))
	if r.Trace != 0 {
		add("凭证号 TRACE:", fmt.Sprintf("%06d", r.Trace))
	}
	if !r.Time.IsZero() {
		add("日期时间 DATE/TIME:", r.Time.Format("2006-01-02 15:04:05"))
	}
	add("币种 CURRENCY:", cur)
	text(rule)
	countHead := "笔数"
	if width >= 48 {
		countHead = "笔数 NO."
	}
	bold(columns("类型 TYPE", countHead, "金额 AMOUNT", width)...)
	block := func(row SettlementRow, total bool) {
		name := row.Method
		if zh, ok := methodNames[row.Method]; ok {
			name = zh + " " + row.Method
		}
		bold(name)
		for _, c := range []struct {
			label string
			n     Count
		}{{" 消费 SALES", row.Sales}, {" 退货 REFUNDS", row.Refunds}, {" 撤销 VOIDS", row.Voids}} {
			text(columns(c.label, fmt.Sprint(c.n.N), Money(c.n.Amount), width)...)
		}
		if row.Fee != 0 || total {
			text(columns(" 手续费 FEES", "", Money(row.Fee), width)...)
		}
		if total {
			bold(columns(" 净额 NET", "", Money(row.Net()), width)...)
			bold(columns(" 应结 PAYABLE", "", Money(row.Net()-row.Fee), width)...)
		}
	}
	for _, row := range r.Rows {
		block(row, false)
	}
	text(rule)
	total := r.Total
	total.Method = "TOTAL"
	block(total, true)
	text(rule)
	family := func(name string, f Family) {
		bold(name)
		text(columns(" 借记 DEBITS", fmt.Sprint(f.Debit.N), Money(f.Debit.Amount), width)...)
		text(columns(" 贷记 CREDITS", fmt.Sprint(f.Credit.N), Money(f.Credit.Amount), width)...)
		text(kv(" 对账 RECON", reconText(f.Code), width)...)
	}
	family("内卡 DOMESTIC", r.Domestic)
	family("外卡 FOREIGN", r.Foreign)
	text(rule)
	if r.Balanced {
		lines = append(lines,
			hal.Line{Text: "对账平", Align: hal.AlignCenter, Bold: true, Double: true},
			hal.Line{Text: "BALANCED", Align: hal.AlignCenter, Bold: true})
	} else {
		lines = append(lines,
			hal.Line{Text: "对账不平", Align: hal.AlignCenter, Bold: true, Double: true},
			hal.Line{Text: "UNBALANCED", Align: hal.AlignCenter, Bold: true},
			hal.Line{Text: fmt.Sprintf("已上送 UPLOADED: %d", r.Uploaded), Align: hal.AlignCenter})
	}
	lines = append(lines, hal.Line{Text: "批次已结 BATCH CLOSED", Align: hal.AlignCenter, Feed: 3, Cut: true})
	return hal.Document{Name: "settlement-report", Lines: lines}
}

func reconText(code string) string {
	switch code {
	case "1":
		return "平 BALANCED"
	case "2":
		return "不平 UNBALANCED"
	case "3":
		return "出错 ERROR"
	case "", "0":
		return "-"
	}
	return code
}
