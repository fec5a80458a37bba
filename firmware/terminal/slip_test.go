package terminal

import (
	"context"
	"strings"
	"testing"
	"time"

	"kpos/firmware/receipt"
	"kpos/firmware/terminal/slip"
	"kpos/hal"
)

// The merchant copy comes out alone; the cardholder copy waits for the
// merchant to tear it off (a key here) under the tear-off screen.
func TestCopiesPauseForTearOff(t *testing.T) {
	r := newRig(t)
	r.term.cfg.TearOffTimeout = time.Minute
	r.chipSaleInput("1234")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan Result, 1)
	go func() { res, _ := r.term.Sale(ctx); done <- res }()
	if _, _, err := r.display.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == slip.ScreenTearOff }); err != nil {
		t.Fatalf("no tear-off screen: %v; screens %v", err, r.display.History())
	}
	docs := r.printer.Documents()
	if len(docs) != 1 || docs[0].Name != "receipt-merchant" {
		t.Fatalf("before the tear-off key: %d documents printed", len(docs))
	}
	for _, want := range []string{"请撕下商户存根 Tear off the merchant copy"} {
		if !strings.Contains(r.display.Current().String(), want) {
			t.Errorf("tear-off screen lacks %q: %s", want, r.display.Current())
		}
	}
	r.keypad.Press(hal.KeyEnter)
	res := <-done
	if res.State != StateApproved {
		t.Fatalf("sale: %s", res.State)
	}
	docs = r.printer.Documents()
	if len(docs) != 2 || docs[1].Name != "receipt-customer" {
		t.Fatalf("after the key: %d documents printed", len(docs))
	}
}

// Without a key the cardholder copy follows when the pause runs out.
func TestTearOffPauseEndsByItself(t *testing.T) {
	r := newRig(t)
	r.term.cfg.TearOffTimeout = 50 * time.Millisecond
	r.chipSaleInput("1234")
	if res := r.sale(t); res.State != StateApproved {
		t.Fatalf("sale: %s", res.State)
	}
	if docs := r.printer.Documents(); len(docs) != 2 {
		t.Fatalf("%d documents printed", len(docs))
	}
}

// A reprint is the slip first printed, from the journal alone: the EMV
// data, the CVM line, marked 重打印.
func TestReprintIsTheSlipFirstPrinted(t *testing.T) {
	r := newRig(t)
	r.kernel.first.TVR, r.kernel.first.TSI, r.kernel.first.ATC = [5]byte{0, 0, 0, 0x80, 0}, [2]byte{0xE8, 0}, []byte{0, 0x2A}
	r.kernel.final.TVR, r.kernel.final.TSI = [5]byte{0, 0, 0, 0x80, 0}, [2]byte{0xE8, 0}
	r.kernel.final.CID = 0x40
	r.chipSaleInput("1234")
	res := r.sale(t)
	if res.State != StateApproved {
		t.Fatalf("sale: %s", res.State)
	}
	first := receipt.Text(r.printer.Documents()[0], receipt.NarrowColumns)
	for _, want := range []string{"TC: AABBCCDD01020304", "TVR: 0000008000  TSI: E800", "ATC: 002A", "PIN VERIFIED",
		"本人确认以上交易，", "622202*********0128 I", "操作员号 OPERATOR: 01"} {
		if !strings.Contains(first, want) {
			t.Errorf("slip lacks %q:\n%s", want, first)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.term.PrintReceipt(ctx, res.Trace); err != nil {
		t.Fatal(err)
	}
	docs := r.printer.Documents()
	again := receipt.Text(docs[len(docs)-1], receipt.NarrowColumns)
	mark := "\n" + strings.Repeat(" ", (receipt.NarrowColumns-receipt.Columns("重打印 REPRINT"))/2) + "重打印 REPRINT"
	if !strings.Contains(again, mark) || strings.Replace(again, mark, "", 1) != first {
		t.Errorf("reprint:\n%s\nfirst print:\n%s", again, first)
	}
}
