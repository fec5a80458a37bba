package binding

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	p := testParams() // ¥50,000.00 per sale, ¥200,000.00 a day
	p.Methods = []Method{MethodCard, MethodQR, MethodCash}
	tests := []struct {
		name   string
		method Method
		amount int64
		spent  int64
		want   error
		says   string
	}{
		{"small card sale", MethodCard, 2372, 0, nil, ""},
		{"exactly the per-sale limit", MethodQR, 5000000, 0, nil, ""},
		{"over the per-sale limit", MethodCard, 5000001, 0, ErrTxnLimit, "¥50,000.01 is over the per-transaction limit of ¥50,000.00"},
		{"exactly the daily limit", MethodCard, 100, 19999900, nil, ""},
		{"over the daily limit", MethodCard, 200, 19999900, ErrDailyLimit, "(¥1.00 left)"},
		{"already over", MethodQR, 1, 20000001, ErrDailyLimit, "(¥0.00 left)"},
		{"method not accepted", MethodMerchantQR, 100, 0, ErrMethodNotAccepted, "merchant-qr"},
		{"cash within the limits", MethodCash, 5000, 100, nil, ""},
		{"cash over the per-sale limit", MethodCash, 5000001, 0, ErrTxnLimit, "per-transaction limit"},
		{"cash over the daily limit", MethodCash, 200, 19999900, ErrDailyLimit, "daily limit"},
		{"zero amount", MethodCard, 0, 0, nil, "not positive"},
		{"unknown method", Method("bitcoin"), 100, 0, ErrMethodNotAccepted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Allow(tt.method, tt.amount, tt.spent)
			if tt.want == nil && tt.says == "" {
				if err != nil {
					t.Fatalf("Allow = %v", err)
				}
				return
			}
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Allow = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
		})
	}
}

func TestFee(t *testing.T) {
	p := testParams()
	tests := []struct {
		m      Method
		amount int64
		want   int64
	}{
		{MethodCard, 10000, 60},   // ¥100.00 at 0.60%
		{MethodQR, 10000, 38},     // at 0.38%
		{MethodQR, 132, 1},        // 0.5016 fen rounds up
		{MethodQR, 131, 0},        // 0.4978 fen rounds down
		{MethodCash, 10000, 0},    // no fee on cash
		{MethodCard, -5, 0},       // nothing for nonsense
		{Method("other"), 100, 0}, // no rate, no fee
	}
	for _, tt := range tests {
		if got := p.Fee(tt.m, tt.amount); got != tt.want {
			t.Errorf("Fee(%s, %d) = %d, want %d", tt.m, tt.amount, got, tt.want)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(p *Params)
		ok   bool
	}{
		{"good", func(p *Params) {}, true},
		{"zero limit", func(p *Params) { p.TxnLimit = 0 }, false},
		{"sale limit over daily", func(p *Params) { p.TxnLimit = p.DailyLimit + 1 }, false},
		{"settlement time", func(p *Params) { p.SettlementTime = "25:00" }, false},
		{"settlement time format", func(p *Params) { p.SettlementTime = "9:00" }, false},
		{"host without port", func(p *Params) { p.HostAddr = "host.example" }, false},
		{"no methods", func(p *Params) { p.Methods = nil }, false},
		{"unknown method", func(p *Params) { p.Methods = append(p.Methods, "x") }, false},
		{"fee over 100%", func(p *Params) { p.FeeBP[MethodCard] = 10001 }, false},
		{"fee for unknown method", func(p *Params) { p.FeeBP["x"] = 1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testParams()
			tt.edit(&p)
			err := p.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadParams)) {
				t.Fatalf("Validate = %v", err)
			}
		})
	}
}

func TestNextSettlement(t *testing.T) {
	p := testParams() // 23:00
	loc := time.FixedZone("CST", 8*3600)
	tests := []struct{ now, want time.Time }{
		{time.Date(2026, 11, 22, 10, 0, 0, 0, loc), time.Date(2026, 11, 22, 23, 0, 0, 0, loc)},
		{time.Date(2026, 11, 22, 23, 0, 0, 0, loc), time.Date(2026, 11, 23, 23, 0, 0, 0, loc)},
		{time.Date(2026, 12, 31, 23, 30, 0, 0, loc), time.Date(2027, 1, 1, 23, 0, 0, 0, loc)},
	}
	for _, tt := range tests {
		got, err := p.NextSettlement(tt.now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("NextSettlement(%v) = %v, %v; want %v", tt.now, got, err, tt.want)
		}
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{0: "¥0.00", 5: "¥0.05", 2372: "¥23.72", 123456789: "¥1,234,567.89", -100: "-¥1.00", 100000: "¥1,000.00"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestParseAccountNumber(t *testing.T) {
	tests := []struct {
		typed string
		ok    bool
		says  string
	}{
		{"6222021234567890128", true, ""},
		{"6222 0212 3456 7890 128", true, ""},
		{"4761-7390-0101-0119", true, ""},
		{"6222021234567890129", false, "typo?"},
		{"6222021234567890182", false, "typo?"}, // last two swapped
		{"62220212345", false, "12 to 19"},
		{"62220212345678901280", false, "12 to 19"},
		{"6222O21234567890128", false, "12 to 19"},
	}
	for _, tt := range tests {
		p, err := ParseAccountNumber(tt.typed)
		if tt.ok {
			if err != nil || p.IsZero() {
				t.Errorf("ParseAccountNumber(%q) = %v", tt.typed, err)
			}
			continue
		}
		if !errors.Is(err, ErrAccountNumber) || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParseAccountNumber(%q) = %v, want %q", tt.typed, err, tt.says)
		}
		if strings.Contains(err.Error(), "622202") {
			t.Errorf("error shows digits: %v", err)
		}
	}
}
