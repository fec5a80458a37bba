package acquirer

import (
	"errors"
	"testing"

	"kpos/firmware/acquirer/cupmsg"
)

func TestField60(t *testing.T) {
	tests := []struct {
		f    Field60
		wire string
	}{
		{Field60{MsgType: "00", Batch: 1, NetCode: "004"}, "00000001004"},
		{Field60{MsgType: "22", Batch: 727, NetCode: "000", TermCap: "6", ICCond: "0"}, "2200072700060"},
		{Field60{MsgType: "22", Batch: 727, NetCode: "000", TermCap: "6", ICCond: "0", Partial: "0", AcctType: "070"}, "22000727000600070"},
		{Field60{MsgType: "07", Batch: 727, NetCode: ""}, "07000727000"},
	}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.wire {
			t.Errorf("%+v packs to %q, want %q", tt.f, got, tt.wire)
		}
		back, err := ParseField60(tt.wire)
		if err != nil || back.String() != tt.wire || back.Batch != tt.f.Batch || back.MsgType != tt.f.MsgType {
			t.Errorf("%q parses to %+v, %v", tt.wire, back, err)
		}
	}
	// The published sample with only 60.1 and 60.2.
	if f, err := ParseField60("07000727"); err != nil || f.Batch != 727 || f.NetCode != "" {
		t.Errorf("short field 60: %+v %v", f, err)
	}
	for _, bad := range []string{"", "0700072", "07ABCDEF"} {
		if _, err := ParseField60(bad); !errors.Is(err, ErrMessage) {
			t.Errorf("ParseField60(%q): %v", bad, err)
		}
	}
}

func TestField48And54And61(t *testing.T) {
	f48 := Field48{Domestic: Totals{DebitAmount: 600000, DebitCount: 3, CreditAmount: 1000, CreditCount: 1}, DomesticRecon: ReconBalanced,
		Foreign: Totals{DebitAmount: 2, DebitCount: 1}, ForeignRecon: ReconUnbalanced}
	s := f48.String()
	if len(s) != 62 || s[:31] != "0000006000000030000000010000011" {
		t.Fatalf("field 48 %q", s)
	}
	if back, err := ParseField48(s); err != nil || back != f48 {
		t.Fatalf("field 48 back %+v %v", back, err)
	}
	if back, err := ParseField48(s[:31]); err != nil || back.Domestic != f48.Domestic || back.Foreign != (Totals{}) {
		t.Fatalf("domestic-only field 48 %+v %v", back, err)
	}
	for _, bad := range []string{"", "12345", "00000060000X0030000000010000011"} {
		if _, err := ParseField48(bad); !errors.Is(err, ErrMessage) {
			t.Errorf("ParseField48(%q): %v", bad, err)
		}
	}
	for _, amt := range []int64{0, 123456, -500} {
		b := Field54{AccountType: "10", AmountType: "02", Currency: "156", Amount: amt}
		back, err := ParseField54(b.String())
		if err != nil || back != b {
			t.Errorf("field 54 %d: %+v %v", amt, back, err)
		}
	}
	for _, bad := range []string{"1002156X000000000100", "short", "1002156C00000000010A"} {
		if _, err := ParseField54(bad); !errors.Is(err, ErrMessage) {
			t.Errorf("ParseField54(%q): %v", bad, err)
		}
	}
	f61 := Field61{Batch: 1, Trace: 42, Date: "1122"}
	if back, err := ParseField61(f61.String()); err != nil || back != f61 || f61.String() != "0000010000421122" {
		t.Fatalf("field 61 %q %+v %v", f61.String(), back, err)
	}
}

func TestTags(t *testing.T) {
	var tg Tags
	tg.Add(cupmsg.TagSerial, "KPOS-SIM-0001")
	tg.AddBytes(cupmsg.TagTMK, []byte{0, 1, 2})
	tg.Add(cupmsg.TagOTP, "")
	b, err := tg.Bytes()
	if err != nil || string(b[:18]) != "01013KPOS-SIM-0001" {
		t.Fatalf("%q %v", b, err)
	}
	back, err := ParseTags(b)
	if err != nil || len(back) != 3 {
		t.Fatalf("%+v %v", back, err)
	}
	if v, ok := back.Get(cupmsg.TagSerial); !ok || v != "KPOS-SIM-0001" {
		t.Fatalf("serial %q", v)
	}
	if _, ok := back.Get("99"); ok {
		t.Fatal("absent tag found")
	}
	for _, bad := range []string{"01", "0100", "01005abc", "01x05abcde"} {
		if _, err := ParseTags([]byte(bad)); !errors.Is(err, ErrMessage) {
			t.Errorf("ParseTags(%q): %v", bad, err)
		}
	}
	if _, err := (Tags{{ID: "123", Value: nil}}).Bytes(); err == nil {
		t.Error("a 3-character tag encoded")
	}
}

// FuzzPrivateFields feeds the parsers of the host's private fields (48, 54,
// 60, 61, the private tags of 59 and 62, parameters, CA keys) arbitrary text: no panic, and
// what parses packs back to a form that parses to the same value.
func FuzzPrivateFields(f *testing.F) {
	for _, s := range []string{"22000727000600070", "0000006000000030000000010000011", "1002156C000000000100",
		"0000010000421122", "01013KPOS-SIM-000102016Z9222ZB4AU7EY6J5", "30005500003200032card:60,qr:x",
		"\x9f\x06\x05\xa0\x00\x00\x03\x33\x9f\x22\x01\xe1\xdf\x02\x01\x01\xdf\x04\x01\x03"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := ParseField60(s); err == nil {
			if w, err := ParseField60(v.String()); err != nil || w.Batch != v.Batch || w.MsgType != v.MsgType {
				t.Fatalf("field 60 %q: %+v then %+v %v", s, v, w, err)
			}
		}
		if v, err := ParseField48(s); err == nil {
			if w, err := ParseField48(v.String()); err != nil || w.Domestic != v.Domestic {
				t.Fatalf("field 48 %q", s)
			}
		}
		if v, err := ParseField54(s); err == nil {
			if w, err := ParseField54(v.String()); err != nil || w.Amount != v.Amount {
				t.Fatalf("field 54 %q", s)
			}
		}
		if v, err := ParseField61(s); err == nil {
			if w, err := ParseField61(v.String()); err != nil || w.Trace != v.Trace || w.Batch != v.Batch {
				t.Fatalf("field 61 %q", s)
			}
		}
		if k, err := cupmsg.ParseCAKey([]byte(s)); err == nil && (len(k.RID) != 5 || len(k.Modulus) == 0) {
			t.Fatalf("CA key accepted without RID or modulus: %+v", k)
		}
		if v, err := ParseTags([]byte(s)); err == nil {
			_ = cupmsg.ParamsOf(v)
			b, err := v.Bytes()
			if err != nil || string(b) != s {
				t.Fatalf("tags %q re-encode to %q %v", s, b, err)
			}
		}
	})
}
