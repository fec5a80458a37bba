package binding

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func FuzzParseKCode(f *testing.F) {
	k, _ := NewKCode(TestBank, 1001, 0x5A5A5A5A5A)
	for _, s := range []string{k.Text(), k.Grouped(), strings.ToLower(k.Grouped()), "", "O000-1111-IIII-0000", k.Text() + "2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		k, err := ParseKCode(typed)
		if err != nil {
			if !errors.Is(err, ErrKCode) {
				t.Fatalf("error does not wrap ErrKCode: %v", err)
			}
			return
		}
		if len(k.Text()) != KCodeLen || len(k.Bank) != 3 || k.Serial > MaxSerial {
			t.Fatalf("accepted %v", k)
		}
		again, err := ParseKCode(k.Grouped())
		if err != nil || again != k {
			t.Fatalf("round trip: %v, %v", again, err)
		}
	})
}

func FuzzParseKCodeQR(f *testing.F) {
	k, _ := NewKCode(TestBank, 1001, 0x5A5A5A5A5A)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	f.Add(EncodeKCodeQR(k, now.AddDate(0, 1, 0)))
	f.Add(EncodeKCodeQR(k, now.AddDate(0, -1, 0)))
	f.Add("KPOS1:999:" + k.Text() + ":20991231:")
	f.Add("KPOS1:::::")
	f.Fuzz(func(t *testing.T, text string) {
		got, err := ParseKCodeQR(text, now)
		if err != nil {
			for _, sentinel := range []error{ErrKCodeQR, ErrKCode, ErrExpired, ErrForeignBank, ErrUnknownBank} {
				if errors.Is(err, sentinel) {
					return
				}
			}
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if got.Expiry.Before(now.AddDate(0, 0, -1)) {
			t.Fatalf("expired code accepted: %v", got.Expiry)
		}
		if enc := EncodeKCodeQR(got, got.Expiry); enc != strings.TrimSpace(text) {
			t.Fatalf("round trip: %q → %q", text, enc)
		}
	})
}
