package cvm

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseList(t *testing.T) {
	cases := []struct {
		list    string
		rules   int
		wantErr error
	}{
		{"", 0, ErrMissing},
		{"0000000000000000", 0, ErrMissing},
		{"00000064000000C8 4203 1E03", 2, nil},
		{"00000064000000C8 4203 1E", 0, ErrFormat},
	}
	for _, c := range cases {
		l, err := ParseList(mustHex(c.list))
		if !errors.Is(err, c.wantErr) || len(l.Rules) != c.rules {
			t.Errorf("%q: %d rules, %v; want %d, %v", c.list, len(l.Rules), err, c.rules, c.wantErr)
		}
	}
	l, _ := ParseList(mustHex("00000064000000C842031E03"))
	if l.X != 100 || l.Y != 200 || l.Rules[0] != (Rule{0x42, 0x03}) || l.Rules[0].Method() != EncPINOnline {
		t.Errorf("parsed %+v", l)
	}
}

func TestConditionMet(t *testing.T) {
	l := List{X: 1000, Y: 5000}
	sale := Context{Amount: 2000, SameCurrency: true, Capabilities: CapOnlinePIN | CapSignature}
	cases := []struct {
		name string
		rule Rule
		c    Context
		want bool
	}{
		{"always", Rule{Signature, 0x00}, sale, true},
		{"unattended cash at an attended terminal", Rule{NoCVM, 0x01}, Context{Cash: true}, false},
		{"unattended cash", Rule{NoCVM, 0x01}, Context{Cash: true, Unattended: true}, true},
		{"not cash, no cashback", Rule{NoCVM, 0x02}, sale, true},
		{"supported: online PIN", Rule{EncPINOnline, 0x03}, sale, true},
		{"supported: offline PIN not", Rule{PlainPINICC, 0x03}, sale, false},
		{"manual cash", Rule{Signature, 0x04}, Context{Cash: true}, true},
		{"cashback", Rule{Signature, 0x05}, Context{OtherAmount: 1}, true},
		{"under X", Rule{NoCVM, 0x06}, sale, false},
		{"over X", Rule{NoCVM, 0x07}, sale, true},
		{"over X in another currency", Rule{NoCVM, 0x07}, Context{Amount: 2000}, false},
		{"under Y", Rule{NoCVM, 0x08}, sale, true},
		{"over Y", Rule{NoCVM, 0x09}, sale, false},
		{"RFU condition", Rule{NoCVM, 0x0A}, sale, false},
	}
	for _, c := range cases {
		if got := l.ConditionMet(c.rule, c.c); got != c.want {
			t.Errorf("%s: %t, want %t", c.name, got, c.want)
		}
	}
}

func TestCapability(t *testing.T) {
	cases := []struct {
		contactless, below bool
		configured, want   byte
	}{
		{false, true, 0x20, 0xE8},
		{true, true, 0x20, CapNoCVM},
		{true, false, 0x40, 0x40},
		{true, false, 0, 0xE0},
	}
	for _, c := range cases {
		if got := Capability(0xE8, c.contactless, c.below, c.configured); got != c.want {
			t.Errorf("%+v: %02X", c, got)
		}
	}
}

func TestRun(t *testing.T) {
	// Online PIN (apply next), then signature, then no CVM.
	l, err := ParseList(mustHex("0000000000000000 4200 5E00 1F00"))
	if err != nil {
		t.Fatal(err)
	}
	c := Context{Capabilities: CapOnlinePIN | CapSignature | CapNoCVM}
	cases := []struct {
		name    string
		succeed byte // the method that succeeds; 0xFF none
		cvmr    [3]byte
		ok      bool
		tried   int
	}{
		{"first rule", EncPINOnline, [3]byte{0x42, 0x00, ResultUnknown}, true, 1},
		{"next rule after a failure", Signature, [3]byte{0x5E, 0x00, ResultUnknown}, true, 2},
		{"no apply-next on the last tried", 0xFF, [3]byte{0x1F, 0x00, ResultFailed}, false, 3},
	}
	for _, tc := range cases {
		tried := 0
		cvmr, ok, err := l.Run(c, func(r Rule) (bool, byte, error) {
			tried++
			if r.Method() == tc.succeed {
				return true, ResultUnknown, nil
			}
			return false, ResultFailed, nil
		})
		if err != nil || ok != tc.ok || cvmr != tc.cvmr || tried != tc.tried {
			t.Errorf("%s: %X %t %v after %d", tc.name, cvmr, ok, err, tried)
		}
	}
	cvmr, ok, _ := List{Rules: []Rule{{NoCVM, 0x09}}}.Run(c, func(Rule) (bool, byte, error) {
		t.Fatal("a rule whose condition fails was performed")
		return false, 0, nil
	})
	if ok || cvmr != [3]byte{0x3F, 0x00, ResultFailed} {
		t.Errorf("no rule applied: %X %t", cvmr, ok)
	}
	boom := errors.New("boom")
	if _, _, err := l.Run(c, func(Rule) (bool, byte, error) { return false, 0, boom }); !errors.Is(err, boom) {
		t.Errorf("error %v", err)
	}
}

// FuzzParseList feeds arbitrary tag 8E values to the parser and the walk.
func FuzzParseList(f *testing.F) {
	f.Add(mustHex("00000064000000C842031E03"))
	f.Add(mustHex("0000000000000000"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseList(b)
		if err != nil {
			return
		}
		if 8+2*len(l.Rules) != len(b) || len(l.Rules) > maxRules {
			t.Fatalf("%d rules from %d bytes", len(l.Rules), len(b))
		}
		_, _, _ = l.Run(Context{Amount: 100, Capabilities: 0xF8}, func(r Rule) (bool, byte, error) {
			return r.Method() == NoCVM, ResultSuccessful, nil
		})
	})
}
