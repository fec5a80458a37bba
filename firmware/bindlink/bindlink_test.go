package bindlink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/hal"
)

// fakeClient answers every exchange with err, or with its canned values.
type fakeClient struct {
	err     error
	traces  []uint32
	kcodes  []string
	serials []string
}

func (c *fakeClient) Activate(ctx context.Context, trace uint32, serial, kcode string) (acquirer.Challenge, error) {
	c.traces, c.kcodes, c.serials = append(c.traces, trace), append(c.kcodes, kcode), append(c.serials, serial)
	return acquirer.Challenge{PhoneMasked: "138****8000"}, c.err
}

func (c *fakeClient) ConfirmActivation(ctx context.Context, trace uint32, serial, kcode, otp string) (acquirer.Binding, error) {
	c.traces, c.kcodes = append(c.traces, trace), append(c.kcodes, kcode)
	if c.err != nil {
		return acquirer.Binding{}, c.err
	}
	return acquirer.Binding{TID: "12345678", MID: "898320154110001", MerchantName: "Shop", EncTMK: []byte{1}, KCV: []byte{2},
		Params: acquirer.BindingParams{TxnLimit: 100, DailyLimit: 200, FeeBP: map[string]int{"card": 60, "qr": 38},
			SettlementTime: "23:00", Methods: []string{"card", "qr"}, MCC: "5411", City: "Shanghai", AcquirerIIN: "48020000"}}, nil
}

func (c *fakeClient) CheckBinding(ctx context.Context, trace uint32, serial, kcode string) (acquirer.BindingStatus, error) {
	c.serials = append(c.serials, serial)
	return acquirer.BindingStatus{Status: "revoked"}, c.err
}

func (c *fakeClient) VerifyAccount(ctx context.Context, trace uint32, pan hal.PAN) (acquirer.AccountCheck, error) {
	return acquirer.AccountCheck{HolderMasked: "*明", Reference: "R1"}, c.err
}

func newLink(c *fakeClient) *Link {
	var n uint32
	return New(func() Client { return c }, func() (uint32, error) { n++; return n, nil }, "KPOS-SIM-0001")
}

func TestHostAnswersMapToBindingErrors(t *testing.T) {
	k, err := binding.NewKCode(binding.TestBank, 1001, 12345)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		code string
		want error
	}{
		{"K1", binding.ErrCodeRejected},
		{"K2", binding.ErrExpired},
		{"K3", binding.ErrRevoked},
		{"K4", binding.ErrWrongOTP},
		{"K5", binding.ErrLockedOut},
		{"K6", binding.ErrOTPExpired},
	}
	for _, c := range cases {
		fc := &fakeClient{err: &acquirer.CodeError{Op: "activation", Code: c.code}}
		l := newLink(fc)
		_, aerr := l.Activate(context.Background(), "KPOS-SIM-0001", k)
		_, cerr := l.Confirm(context.Background(), "KPOS-SIM-0001", k, "123456")
		for _, err := range []error{aerr, cerr} {
			if !errors.Is(err, c.want) || !errors.Is(err, acquirer.ErrDeclined) {
				t.Errorf("%s: %v does not wrap %v and the host's refusal", c.code, err, c.want)
			}
		}
	}
	// Anything else is a failed exchange, no binding verdict.
	for _, e := range []error{&acquirer.CodeError{Op: "activation", Code: "96"}, fmt.Errorf("%w: dial", acquirer.ErrNotSent)} {
		_, err := newLink(&fakeClient{err: e}).Activate(context.Background(), "S", k)
		for _, s := range []error{binding.ErrCodeRejected, binding.ErrExpired, binding.ErrRevoked, binding.ErrWrongOTP, binding.ErrLockedOut, binding.ErrOTPExpired} {
			if errors.Is(err, s) {
				t.Errorf("%v maps to %v", e, s)
			}
		}
		if !errors.Is(err, e) {
			t.Errorf("%v lost its cause", err)
		}
	}
}

func TestActivationCarriesTheCodeAndParameters(t *testing.T) {
	k, _ := binding.NewKCode(binding.TestBank, 1001, 12345)
	fc := &fakeClient{}
	l := newLink(fc)
	if _, err := l.Activate(context.Background(), "KPOS-SIM-0001", k); err != nil {
		t.Fatal(err)
	}
	a, err := l.Confirm(context.Background(), "KPOS-SIM-0001", k, "123456")
	if err != nil {
		t.Fatal(err)
	}
	if fc.kcodes[0] != k.Text() || fc.kcodes[1] != k.Text() || fc.traces[0] == fc.traces[1] {
		t.Fatalf("host got codes %d traces %v", len(fc.kcodes), fc.traces)
	}
	if a.TID != "12345678" || a.MCC != "5411" || a.AcquirerIIN != "48020000" || a.Params.TxnLimit != 100 ||
		a.Params.FeeBP[binding.MethodQR] != 38 || !a.Params.Accepts(binding.MethodCard) || a.Params.Accepts(binding.MethodCash) {
		t.Fatalf("activation %+v", a)
	}
	st, err := l.Status(context.Background(), "12345678")
	if err != nil || st.Kind != binding.StatusRevoked || fc.serials[len(fc.serials)-1] != "KPOS-SIM-0001" {
		t.Fatalf("status %+v %v", st, err)
	}
	ref, err := l.VerifyAccount(context.Background(), "12345678", hal.MustPAN("6222021234567890128"))
	if err != nil || ref.Reference != "R1" {
		t.Fatalf("account %+v %v", ref, err)
	}
}

func TestProvisionedRecordIsBound(t *testing.T) {
	p := acquirer.BindingParams{TxnLimit: 5000000, DailyLimit: 20000000, SettlementTime: "23:00", HostAddr: "127.0.0.1:5800",
		Methods: []string{"card", "qr", "merchant-qr", "cash"}, MCC: "5411", City: "Shanghai", AcquirerIIN: "48020000"}
	r := Provisioned("12345678", "898320154110001", "Shop", p, time.Now())
	if r.State != binding.StateBound || r.Params == nil || r.Params.Validate() != nil || r.TID != "12345678" || r.AcquirerIIN != "48020000" {
		t.Fatalf("record %+v", r)
	}
}
