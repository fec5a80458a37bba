package qrpay

import (
	"errors"
	"testing"
)

func TestMerchantCodeBill(t *testing.T) {
	if got, _ := MerchantCode("https://qr.example/o/ORDER1", 100, nil); got != "https://qr.example/o/ORDER1" {
		t.Errorf("without a binding: %q, want the host's payload", got)
	}
	cases := []struct {
		payload, bill string
	}{
		{"https://qr.example/o/ORDER1", "ORDER1"},
		{"ORDER2", "ORDER2"},
		{"https://qr.example/o/12345678901234567890ABCDEFG", "345678901234567890ABCDEFG"}, // the last 25
	}
	for _, c := range cases {
		var gotAmount int64
		var gotBill string
		code, err := MerchantCode(c.payload, 1234, func(amount int64, bill string) (string, error) {
			gotAmount, gotBill = amount, bill
			return "EMV:" + bill, nil
		})
		if err != nil || code != "EMV:"+c.bill || gotBill != c.bill || gotAmount != 1234 {
			t.Errorf("%q: code %q bill %q amount %d err %v", c.payload, code, gotBill, gotAmount, err)
		}
	}
	boom := errors.New("no parameters")
	if _, err := MerchantCode("x/y", 1, func(int64, string) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("the binding's error is lost: %v", err)
	}
}
