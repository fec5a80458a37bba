package receipt

import (
	"strings"
	"testing"
	"time"
)

func sampleReport() SettlementReport {
	return SettlementReport{
		MerchantName: "测试商户 KPOS Test Shop", MerchantID: "898320154110001", TerminalID: "12345678",
		Account: "6222021234567890128", Batch: 7, Trace: 123,
		Time: time.Date(2026, 11, 22, 23, 0, 5, 0, time.UTC),
		Rows: []SettlementRow{
			{Method: "CHIP", Sales: Count{3, 123456}, Refunds: Count{1, 10000}, Voids: Count{1, 2500}, Fee: 674},
			{Method: "CASH", Sales: Count{2, 5000}},
		},
		Total:    SettlementRow{Sales: Count{5, 128456}, Refunds: Count{1, 10000}, Voids: Count{1, 2500}, Fee: 674},
		Domestic: Family{Debit: Count{3, 123456}, Credit: Count{1, 10000}, Code: "1"},
		Foreign:  Family{Code: "1"},
		Balanced: true,
	}
}

func TestBuildSettlement(t *testing.T) {
	unbalanced := sampleReport()
	unbalanced.Balanced, unbalanced.Uploaded, unbalanced.Domestic.Code = false, 4, "2"
	reprint := sampleReport()
	reprint.Reprint = true
	tests := []struct {
		name    string
		r       SettlementReport
		width   int
		want    []string
		notWant []string
	}{
		{"balanced 58 mm", sampleReport(), 32,
			[]string{"结算单", "SETTLEMENT REPORT", "898320154110001", "12345678", "622202*********0128", "000007",
				"2026-11-22 23:00:05", "芯片卡 CHIP", "现金 CASH", "1234.56", "100.00", "25.00", "6.74",
				"1184.56", "1177.82", "对账平", "BALANCED", "内卡 DOMESTIC", "平 BALANCED"},
			[]string{"6222021234567890128", "UNBALANCED", "REPRINT", "非接卡"}},
		{"balanced 80 mm", sampleReport(), 48,
			[]string{"笔数 NO.", "1184.56", "对账平"}, []string{"6222021234567890128"}},
		{"unbalanced", unbalanced, 32,
			[]string{"对账不平", "UNBALANCED", "已上送 UPLOADED: 4", "不平 UNBALANCED"}, []string{"对账平\n"}},
		{"reprint", reprint, 32, []string{"重打印 REPRINT"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := BuildSettlement(tc.r, tc.width)
			if doc.Name != "settlement-report" {
				t.Errorf("name %q", doc.Name)
			}
			for _, l := range doc.Lines {
				w := Columns(l.Text)
				if l.Double {
					w *= 2
				}
				if w > tc.width {
					t.Errorf("line %q is %d columns on %d-column paper", l.Text, w, tc.width)
				}
			}
			if last := doc.Lines[len(doc.Lines)-1]; !last.Cut {
				t.Errorf("report does not end with a cut")
			}
			text := Text(doc, tc.width)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("report lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(text, w) {
					t.Errorf("report shows %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestColumnsAlignAmounts(t *testing.T) {
	for _, width := range []int{32, 48} {
		a := columns(" 消费 SALES", "3", "1234.56", width)
		b := columns(" 退货 REFUNDS", "12", "9.00", width)
		if len(a) != 1 || len(b) != 1 {
			t.Fatalf("%d columns: rows do not fit on one line: %q %q", width, a, b)
		}
		if Columns(a[0]) != width || Columns(b[0]) != width {
			t.Errorf("%d columns: rows are %d and %d wide", width, Columns(a[0]), Columns(b[0]))
		}
		// Counts end in the same column.
		ia := strings.Index(a[0], "3 ")
		ib := strings.Index(b[0], "12 ")
		if Columns(a[0][:ia+1]) != Columns(b[0][:ib+2]) {
			t.Errorf("%d columns: counts not aligned:\n%s\n%s", width, a[0], b[0])
		}
	}
	long := columns(" 一个很长很长很长很长的标签 LONG LABEL", "1", "1.00", 32)
	if len(long) != 2 || Columns(long[1]) != 32 {
		t.Errorf("a label too long for one line: %q", long)
	}
}

func TestMaskAccount(t *testing.T) {
	tests := []struct{ in, want string }{
		{"6222021234567890128", "622202*********0128"},
		{"622202*********0128", "622202*********0128"},
		{"6222 0212 3456 7890 128", "6222 02** **** ***0 128"},
		{"1234", "1234"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := maskAccount(tc.in); got != tc.want {
			t.Errorf("maskAccount(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
