// Package bindlink connects the binding package to the acquirer's host: it
// adapts an *acquirer.Client to binding.Host, maps the host's K-code answers
// (K1…K6) to binding's sentinel errors and converts the host's binding and
// parameters into binding's types.
//
// It must not know screens, the transaction state machine, the key store's
// layout or ISO 8583 fields: the client speaks the dialect, binding decides
// what each answer means for the terminal.
package bindlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/hal"
)

// Client is the part of *acquirer.Client the link uses.
type Client interface {
	Activate(ctx context.Context, trace uint32, serial, kcode string) (acquirer.Challenge, error)
	ConfirmActivation(ctx context.Context, trace uint32, serial, kcode, otp string) (acquirer.Binding, error)
	CheckBinding(ctx context.Context, trace uint32, serial, kcode string) (acquirer.BindingStatus, error)
	VerifyAccount(ctx context.Context, trace uint32, pan hal.PAN) (acquirer.AccountCheck, error)
}

// Link is a binding.Host over the acquirer's client.
type Link struct {
	client func() Client
	trace  func() (uint32, error)
	serial string
}

var _ binding.Host = (*Link)(nil)

// New returns a link. client returns the client to use for each exchange
// (the terminal's identity at the host changes when it is bound, and with
// it the client); trace allocates a trace number per message; serial is the
// device serial the status check names.
func New(client func() Client, trace func() (uint32, error), serial string) *Link {
	return &Link{client: client, trace: trace, serial: serial}
}

// Activate implements binding.Host.
func (l *Link) Activate(ctx context.Context, serial string, code binding.KCode) (binding.Challenge, error) {
	trace, err := l.trace()
	if err != nil {
		return binding.Challenge{}, fmt.Errorf("bindlink: activation: %w", err)
	}
	ch, err := l.client().Activate(ctx, trace, serial, code.Text())
	if err != nil {
		return binding.Challenge{}, mapErr("activation", err)
	}
	return binding.Challenge{PhoneMasked: ch.PhoneMasked, Expires: ch.Expires}, nil
}

// Confirm implements binding.Host.
func (l *Link) Confirm(ctx context.Context, serial string, code binding.KCode, otp string) (binding.Activation, error) {
	trace, err := l.trace()
	if err != nil {
		return binding.Activation{}, fmt.Errorf("bindlink: one-time code: %w", err)
	}
	b, err := l.client().ConfirmActivation(ctx, trace, serial, code.Text(), otp)
	if err != nil {
		return binding.Activation{}, mapErr("one-time code", err)
	}
	return Activation(b), nil
}

// Status implements binding.Host. A bound terminal is known to the host by
// its TID (the client's identity); the serial goes along.
func (l *Link) Status(ctx context.Context, tid string) (binding.Status, error) {
	trace, err := l.trace()
	if err != nil {
		return binding.Status{}, fmt.Errorf("bindlink: status: %w", err)
	}
	st, err := l.client().CheckBinding(ctx, trace, l.serial, "")
	if err != nil {
		return binding.Status{}, mapErr("status", err)
	}
	return binding.Status{Kind: binding.StatusKind(st.Status), Expiry: st.Expiry}, nil
}

// VerifyAccount implements binding.Host.
func (l *Link) VerifyAccount(ctx context.Context, tid string, pan hal.PAN) (binding.AccountRef, error) {
	trace, err := l.trace()
	if err != nil {
		return binding.AccountRef{}, fmt.Errorf("bindlink: account: %w", err)
	}
	a, err := l.client().VerifyAccount(ctx, trace, pan)
	if err != nil {
		return binding.AccountRef{}, mapErr("account verification", err)
	}
	return binding.AccountRef{HolderMasked: a.HolderMasked, Reference: a.Reference}, nil
}

// codeErrors maps the host's K-code answers to binding's sentinels
// (docs/kcode.md, "the host answers").
var codeErrors = map[string]error{
	"K1": binding.ErrCodeRejected,
	"K2": binding.ErrExpired,
	"K3": binding.ErrRevoked,
	"K4": binding.ErrWrongOTP,
	"K5": binding.ErrLockedOut,
	"K6": binding.ErrOTPExpired,
}

// mapErr wraps a host refusal with binding's sentinel for its code, keeping
// the cause; any other error stays a failed exchange.
func mapErr(op string, err error) error {
	var ce *acquirer.CodeError
	if errors.As(err, &ce) {
		if s, ok := codeErrors[ce.Code]; ok {
			return fmt.Errorf("bindlink: %s: %w: %w", op, s, err)
		}
	}
	return fmt.Errorf("bindlink: %s: %w", op, err)
}

// Activation converts the host's binding into binding's form.
func Activation(b acquirer.Binding) binding.Activation {
	return binding.Activation{TID: b.TID, MID: b.MID, MerchantName: b.MerchantName,
		MCC: b.Params.MCC, City: b.Params.City, AcquirerIIN: b.Params.AcquirerIIN,
		EncTMK: b.EncTMK, KCV: b.KCV, Params: Params(b.Params), Expiry: b.Expiry}
}

// Params converts the host's parameters into binding's form.
func Params(p acquirer.BindingParams) binding.Params {
	out := binding.Params{TxnLimit: p.TxnLimit, DailyLimit: p.DailyLimit, SettlementTime: p.SettlementTime,
		HostAddr: p.HostAddr, APN: p.APN}
	if len(p.FeeBP) > 0 {
		out.FeeBP = make(map[binding.Method]int, len(p.FeeBP))
		for m, bp := range p.FeeBP {
			out.FeeBP[binding.Method(m)] = bp
		}
	}
	for _, m := range p.Methods {
		out.Methods = append(out.Methods, binding.Method(m))
	}
	return out
}

// Provisioned is the binding record of a terminal provisioned in the
// factory with its identity and TMK (test boards): bound, with the
// parameters the host downloads to it.
func Provisioned(tid, mid, name string, p acquirer.BindingParams, now time.Time) binding.Record {
	params := Params(p)
	return binding.Record{State: binding.StateBound, TID: tid, MID: mid, MerchantName: name,
		MCC: p.MCC, City: p.City, AcquirerIIN: p.AcquirerIIN, Params: &params, BoundAt: now,
		Status: binding.StatusValid}
}
