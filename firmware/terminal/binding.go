package terminal

import (
	"context"
	"errors"

	"kpos/firmware/binding"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/menu"
	"kpos/firmware/terminal/outcome"
	"kpos/firmware/terminal/qrpay"
)

// Binding is the terminal's binding with its bank: K code, one-time code,
// status, parameters: what each part asks of it (firmware/binding's *Binder
// satisfies it).
type Binding interface {
	bindflow.Binding       // the binding screens
	bindflow.StatusChecker // the status, after the host refused the terminal
	checks.Binding         // status and limits before a sale
	menu.Binding           // the menus' settings; its Record is settlement's too
	SignOn(ctx context.Context) error
	StatusDue() bool
	MerchantQR(amount int64, bill string) (string, error)
}

// Option adds an optional part to a terminal.
type Option func(*Terminal)

// WithBinding makes the terminal bound by K code: a blank terminal asks for
// the K code and sells nothing; the binding's identity, status and limits
// rule every sale.
func WithBinding(b Binding) Option { return func(t *Terminal) { t.binding = b } }

// MerchantPassword checks the merchant's password and keeps its attempt
// limit (firmware/merchantpw.Guard; menu.Password says how).
type MerchantPassword = menu.Password

// WithMerchantPassword sets the merchant's password, which void, refund,
// settlement and unbinding ask for. Without it the terminal refuses them.
func WithMerchantPassword(p MerchantPassword) Option {
	return func(t *Terminal) { t.password = p }
}

// More screen IDs, for binding, the menu and QR payments.
const (
	ScreenSuspended   = bindflow.ScreenSuspended // expired or revoked: sales stopped
	ScreenRefused     = outcome.ScreenRefused    // a limit or the binding refused a sale before it started
	ScreenQRScan      = qrpay.ScreenScan         // scan the customer's payment code
	ScreenQRRetry     = qrpay.ScreenRetry        // that was not a payment code
	ScreenQRConfirm   = qrpay.ScreenConfirm      // amount, payee and code: confirm
	ScreenQRShow      = qrpay.ScreenShow         // the merchant code on the display
	ScreenCashConfirm = "cash-confirm"
)

// identity is who the terminal is on receipts and screens: the binding's
// merchant once bound, the configured one otherwise.
func (t *Terminal) identity() (name, mid, tid string) {
	if t.binding != nil {
		if r := t.binding.Record(); r.TID != "" {
			return r.MerchantName, r.MID, r.TID
		}
	}
	return t.cfg.MerchantName, t.cfg.MerchantID, t.cfg.TerminalID
}

// unbound reports whether the terminal waits for a K code.
func (t *Terminal) unbound() bool {
	if t.binding == nil {
		return false
	}
	switch t.binding.State() {
	case binding.StateBound, binding.StateSuspended, binding.StateActivated, binding.StateSigningOn:
		return false
	}
	return true
}

// signOn signs on: through the binding (which checks its status) when the
// terminal is bound by K code, directly otherwise.
func (t *Terminal) signOn(ctx context.Context, trace, batch uint32) error {
	if t.binding == nil {
		return t.host.SignOn(ctx, trace, batch)
	}
	if t.binding.State() == binding.StateSuspended {
		// Sales stay stopped unless the bank renewed the binding.
		if _, err := t.binding.CheckStatus(ctx); err != nil {
			return err
		}
		if t.binding.State() == binding.StateSuspended {
			return t.binding.CanSell()
		}
	}
	err := t.binding.SignOn(ctx)
	if err != nil && bindflow.Refused(err) {
		// The host refuses this terminal: ask for the binding's status, so
		// that a revoked or expired binding stops sales at once.
		if _, serr := t.binding.CheckStatus(ctx); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// afterHostRefusal checks the binding's status when a sale's answer says
// the terminal may not transact (terminal/bindflow).
func (t *Terminal) afterHostRefusal(ctx context.Context, code string) {
	if t.binding != nil {
		bindflow.CheckAfterRefusal(ctx, t.binding, code, t.cfg.HostTimeout, t.log)
	}
}

// bindFlow runs the blank terminal's screens (firmware/terminal/bindflow)
// until it is bound, the merchant gives up, or the host locks the
// activation.
func (t *Terminal) bindFlow(ctx context.Context) error {
	f := &bindflow.Flow{Panel: t.panel, Binding: t.binding, HostTimeout: t.cfg.HostTimeout,
		InputTimeout: t.cfg.InputTimeout, Log: t.log,
		Identity: func() (string, string) { name, _, tid := t.identity(); return name, tid }}
	return f.Run(ctx)
}
