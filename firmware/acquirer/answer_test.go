package acquirer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"kpos/hal"
)

// FuzzHostAnswer feeds the terminal's answer path (framing, unpacking, MAC
// check, matching) arbitrary bytes from "the host". Whatever comes in, it
// must not panic; with a MAC key that accepts nothing, nothing may be
// accepted; without MAC, an accepted answer is an answer to the request.
func FuzzHostAnswer(f *testing.F) {
	samples, _ := loadSamples(f)
	for _, s := range samples {
		w, err := hex.DecodeString(s.Hex)
		if err != nil || s.HeaderLen != 11 {
			continue
		}
		if !s.HasLengthPrefix {
			w = append([]byte{byte(len(w) >> 8), byte(len(w))}, w...)
		}
		f.Add(w)
	}
	c := NewClient(Config{TID: "10016919", MID: "84329004582000B"}, nil, nil)
	req, err := BuildRequest(c.codec, Request{Kind: KindSale, Trace: 79, Batch: 1, Amount: 1111,
		PAN: hal.MustPAN("6224242300000069"), Entry: EntryChip}, c.identity(), "")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := c.codec.Pack(req, nil); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, _, _, err := c.readAnswer(bytes.NewReader(in), req, rejectMAC{}, time.Time{}); err == nil {
			t.Fatal("an answer was accepted although its MAC cannot verify")
		}
		resp, m, _, err := c.readAnswer(bytes.NewReader(in), req, nil, time.Time{})
		if err != nil {
			return
		}
		if stan, _ := m.GetString(11); stan != "000079" || len(resp.Code) != 2 {
			t.Fatalf("accepted an answer with trace %q, code %q", stan, resp.Code)
		}
	})
}

func TestDescribeEveryCode(t *testing.T) {
	actions := map[string]bool{ActionNone: true, ActionDecline: true, ActionRetry: true, ActionReenter: true,
		ActionCallBank: true, ActionSignOn: true, ActionSupport: true, ActionKeepCard: true, ActionReconcile: true,
		ActionRebind: true, ActionWait: true, ActionCheckLink: true}
	for code := range codeTexts {
		zh, en, action := Describe(code)
		if zh == "" || en == "" || !actions[action] {
			t.Errorf("%s: %q %q %q", code, zh, en, action)
		}
		approved := Response{Code: code}.Approved()
		if approved != (action == ActionNone) {
			t.Errorf("%s: approved=%v but action %s", code, approved, action)
		}
	}
	tests := []struct{ code, en, action string }{
		{"00", "Approved", ActionNone},
		{"51", "Insufficient funds", ActionDecline},
		{"55", "Incorrect PIN", ActionReenter},
		{"A0", "MAC error, sign on again", ActionSignOn},
		{"ZZ", "Declined (ZZ)", ActionDecline},
	}
	for _, tt := range tests {
		if _, en, action := Describe(tt.code); en != tt.en || action != tt.action {
			t.Errorf("Describe(%s) = %q %q", tt.code, en, action)
		}
	}
}

func TestDescribeError(t *testing.T) {
	tests := []struct {
		err    error
		action string
	}{
		{nil, ActionNone},
		{&CodeError{Op: "sign-on", Code: "97"}, ActionSupport},
		{fmt.Errorf("x: %w", &CodeError{Op: "activation", Code: "K4"}), ActionReenter},
		{fmt.Errorf("%w: dial: refused", ErrNotSent), ActionCheckLink},
		{fmt.Errorf("%w: sale: %w", ErrNoAnswer, ErrMAC), ActionSignOn},
		{fmt.Errorf("%w: sale: timeout", ErrNoAnswer), ActionCheckLink},
		{fmt.Errorf("%w: check value", ErrKeys), ActionSignOn},
		{errors.New("something else"), ActionSupport},
	}
	for _, tt := range tests {
		zh, en, action := DescribeError(tt.err)
		if zh == "" || en == "" || action != tt.action {
			t.Errorf("DescribeError(%v) = %q %q %q, want action %s", tt.err, zh, en, action, tt.action)
		}
	}
}
