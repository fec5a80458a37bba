package receipt

import (
	"strings"
	"testing"
	"time"

	"kpos/firmware/qr"
	"kpos/hal"
)

func sample() Receipt {
	return Receipt{
		MerchantName: "测试商户 KPOS Test Shop", MerchantID: "898320154110001", TerminalID: "12345678",
		Kind: "SALE", Method: "CHIP", MaskedPAN: hal.MustPAN("6222021234567890128").Masked(),
		AppLabel: "UnionPay Debit", AID: "A000000333010101", TC: "1A2B3C4D5E6F7081",
		Amount: 123456, Time: time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC),
		Trace: 42, Batch: 1, AuthCode: "123456", RRN: "112233445566", Approved: true,
	}
}

func TestReceiptShowsWhatTheSpecAsks(t *testing.T) {
	for _, c := range []Copy{MerchantCopy, CustomerCopy} {
		text := Text(Build(sample(), c), 32)
		for _, want := range []string{"622202*********0128", "CNY 1234.56", "000042", "000001", "123456",
			"112233445566", "A000000333010101", "1A2B3C4D5E6F7081", "12345678", "898320154110001", "2026-11-22 10:30:00", "消费 SALE"} {
			if !strings.Contains(text, want) {
				t.Errorf("copy %d lacks %q:\n%s", c, want, text)
			}
		}
		if strings.Contains(text, "6222021234567890128") {
			t.Fatal("receipt shows the full PAN")
		}
	}
}

func TestSignatureAreaOnlyOnMerchantCopyWhenAsked(t *testing.T) {
	r := sample()
	r.CVM = CVMSignature
	if !strings.Contains(Text(Build(r, MerchantCopy), 48), "SIGNATURE:") {
		t.Error("merchant copy lacks the signature line")
	}
	if strings.Contains(Text(Build(r, CustomerCopy), 48), "SIGNATURE:") {
		t.Error("customer copy has a signature line")
	}
	r.CVM = CVMUnstated
	if strings.Contains(Text(Build(r, MerchantCopy), 48), "SIGNATURE") {
		t.Error("signature or PIN line without a CVM that asks for it")
	}
}

// The CVM line and the cardholder's confirmation are on both copies of
// every slip that charged an account: chip, tap, QR, void.
func TestCVMAndConfirmationLines(t *testing.T) {
	const confirm = "本人确认以上交易，\n同意将其记入本卡账户"
	cases := []struct {
		name    string
		edit    func(*Receipt)
		want    []string
		without []string
	}{
		{"pin", func(r *Receipt) { r.CVM = CVMPIN }, []string{"PIN VERIFIED", confirm}, []string{"SIGNATURE:"}},
		{"tap no cvm", func(r *Receipt) { r.Method, r.CVM = "CONTACTLESS", CVMNone }, []string{"免密免签", confirm, "0128 C\n"}, []string{"SIGNATURE:"}},
		{"qr", func(r *Receipt) {
			r.Method, r.MaskedPAN, r.Wallet, r.OrderNo, r.CVM = "QR", "", qr.KindAlipay, "2026112201", CVMDevice
		}, []string{"支付宝 ALIPAY", "订单号 ORDER NO: 2026112201", confirm}, []string{"卡号"}},
		{"void", func(r *Receipt) { r.Kind, r.OrigTrace, r.CVM = "VOID", 41, CVMSignature }, []string{"原凭证号 ORIG TRACE: 000041", confirm}, nil},
		{"balance", func(r *Receipt) { r.Kind, r.CVM = "BALANCE", CVMPIN }, []string{"余额查询\n", "余额 BALANCE:"},
			[]string{"POS签购单", "金额", "TC:", "1A2B3C4D5E6F7081", "本人确认", "PIN VERIFIED"}},
		{"decline", func(r *Receipt) { r.Approved, r.CVM = false, CVMUnstated }, []string{"DECLINED"}, []string{"本人确认"}},
	}
	for _, c := range cases {
		r := sample()
		c.edit(&r)
		for _, cp := range []Copy{MerchantCopy, CustomerCopy} {
			text := Text(Build(r, cp), 32)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("%s copy %d lacks %q:\n%s", c.name, cp, w, text)
				}
			}
			for _, w := range c.without {
				if strings.Contains(text, w) && !(w == "SIGNATURE:" && cp == MerchantCopy && r.CVM == CVMSignature) {
					t.Errorf("%s copy %d has %q:\n%s", c.name, cp, w, text)
				}
			}
		}
	}
}

func TestNoLineOfAReceiptNeedsWrappingOnNarrowPaper(t *testing.T) {
	r := sample()
	r.CVM = CVMSignature
	for _, c := range []Copy{MerchantCopy, CustomerCopy} {
		for _, l := range Build(r, c).Lines {
			w := Columns(l.Text)
			if l.Double {
				w *= 2
			}
			if w > NarrowColumns {
				t.Errorf("%q is %d columns wide", l.Text, w)
			}
		}
	}
}

func TestTextWrapsToWidth(t *testing.T) {
	for _, w := range []int{32, 48} {
		for _, line := range strings.Split(Text(Build(sample(), MerchantCopy), w), "\n") {
			if Columns(line) > w {
				t.Errorf("line wider than %d: %q", w, line)
			}
		}
	}
}

func TestMoney(t *testing.T) {
	cases := map[int64]string{0: "0.00", 5: "0.05", 1234: "12.34", -250: "-2.50", 100000000: "1000000.00"}
	for in, want := range cases {
		if got := Money(in); got != want {
			t.Errorf("Money(%d) = %s want %s", in, got, want)
		}
	}
}

func TestReprintAndDeclineSay(t *testing.T) {
	r := sample()
	r.Reprint = true
	if text := Text(Build(r, CustomerCopy), 32); !strings.Contains(text, "重打印 REPRINT") || strings.Contains(text, "重印") {
		t.Errorf("a reprint says:\n%s", text)
	}
	// A card's offline decline has no trace or batch number: none is
	// printed, and the reason is.
	r = sample()
	r.Approved, r.Declined, r.Trace, r.Batch, r.TC = false, "卡片已过期 Card expired", 0, 0, ""
	text := Text(Build(r, CustomerCopy), 32)
	if !strings.Contains(text, "交易失败 DECLINED\n卡片已过期 Card expired\n") || strings.Contains(text, "TRACE") || strings.Contains(text, "BATCH") {
		t.Errorf("a decline slip says:\n%s", text)
	}
}
