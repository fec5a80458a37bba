package terminal

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/menu"
	"kpos/firmware/ui"
	"kpos/hal"
)

// Binding is the terminal's binding with its bank: K code, one-time code,
// status, parameters (firmware/binding's *Binder satisfies it).
type Binding interface {
	State() binding.State
	CanSell() error
	Params() (binding.Params, error)
	Record() binding.Record
	EnterTyped(ctx context.Context, typed string) (binding.Challenge, error)
	EnterScanned(ctx context.Context, text string) (binding.Challenge, error)
	SubmitOTP(ctx context.Context, otp string) error
	Cancel() error
	SignOn(ctx context.Context) error
	CheckStatus(ctx context.Context) (binding.Status, error)
	StatusDue() bool
	Warning() (binding.Text, bool)
	MerchantQR(amount int64, bill string) (string, error)
	Unbind(ctx context.Context) error
	BindAccount(ctx context.Context, pan hal.PAN) (binding.SettlementAccount, error)
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
	ScreenSuspended   = "suspended"  // expired or revoked: sales stopped
	ScreenRefused     = "refused"    // a limit or the binding refused a sale before it started
	ScreenQRScan      = "qr-scan"    // scan the customer's payment code
	ScreenQRRetry     = "qr-retry"   // that was not a payment code
	ScreenQRConfirm   = "qr-confirm" // amount, payee and code: confirm
	ScreenQRShow      = "qr-show"    // the merchant code on the display
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
	if err != nil && bindingRefused(err) {
		// The host refuses this terminal: ask for the binding's status, so
		// that a revoked or expired binding stops sales at once.
		if _, serr := t.binding.CheckStatus(ctx); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// bindingRefused reports a host answer that says the terminal itself may not
// transact (revoked or expired binding, terminal not permitted).
func bindingRefused(err error) bool {
	var ce *acquirer.CodeError
	if errors.As(err, &ce) {
		return codeRefusesTerminal(ce.Code)
	}
	return false
}

func codeRefusesTerminal(code string) bool {
	switch code {
	case "58", "97", "K2", "K3":
		return true
	}
	_, _, action := acquirer.Describe(code)
	return action == acquirer.ActionRebind
}

// afterHostRefusal checks the binding's status when a sale's answer says
// the terminal may not transact.
func (t *Terminal) afterHostRefusal(ctx context.Context, code string) {
	if t.binding == nil || !codeRefusesTerminal(code) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	defer cancel()
	if _, err := t.binding.CheckStatus(ctx); err != nil {
		t.log.Warn("binding status check after a refusal failed", "err", err)
	}
}

// methodOf maps a journal method to the binding's.
func methodOf(m journal.Method, merchantQR bool) binding.Method {
	switch {
	case m == journal.CashMethod:
		return binding.MethodCash
	case m == journal.QR && merchantQR:
		return binding.MethodMerchantQR
	case m == journal.QR:
		return binding.MethodQR
	}
	return binding.MethodCard
}

// allow asks the binding whether a sale may start: bound and selling, the
// method accepted, the amount within the limits. It returns what the
// merchant reads when it may not.
func (t *Terminal) allow(m binding.Method, amount int64) (string, error) {
	if t.binding == nil {
		return "", nil
	}
	if err := t.binding.CanSell(); err != nil {
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	p, err := t.binding.Params()
	if err != nil {
		return "参数错误 No parameters: bind again", err
	}
	if amount < 0 {
		amount = 0
	}
	spent, err := t.spentToday()
	if err != nil {
		// The daily limit cannot be checked: it holds (fails closed).
		t.log.Error("daily limit not computable", "err", err)
		return "限额无法核对 Daily limit cannot be checked: journal error, call support", err
	}
	if err := p.Allow(m, amount, spent); err != nil {
		switch {
		case errors.Is(err, binding.ErrTxnLimit):
			return fmt.Sprintf("超过单笔限额 Over the limit per sale %s", ui.Money(p.TxnLimit)), err
		case errors.Is(err, binding.ErrDailyLimit):
			return fmt.Sprintf("超过当日限额 Over the daily limit %s", ui.Money(p.DailyLimit)), err
		case errors.Is(err, binding.ErrMethodNotAccepted):
			return "不支持此收款方式 This payment method is not accepted", err
		}
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	return "", nil
}

// spentToday is what today's spending adds up to, in every batch (a
// settlement during the day does not reset the daily limit), by the rule
// book's rule (txrules.CountsToday): sales and completions that stand or
// are still in doubt; voided, reversed and declined ones do not count. The
// journal keeps the figure as transactions change (journal.CountsToday
// follows the same rule), so it costs the same on day 365 as on day 1.
func (t *Terminal) spentToday() (int64, error) {
	sum, err := t.journal.SalesOn(t.cfg.Now())
	if err != nil {
		return 0, fmt.Errorf("terminal: daily limit: %w", err)
	}
	return sum.Amount, nil
}

// refuse shows why a sale cannot start and waits briefly for a key.
func (t *Terminal) refuse(ctx context.Context, id, msg string) {
	_ = t.dev.Indicator.Signal(ctx, hal.SignalAttention)
	_ = t.ui.Show(ctx, id, "不能收款 Cannot sell", msg, "按任意键返回 Press any key")
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
}

// suspendedScreen shows that sales stopped and why.
func (t *Terminal) suspendedScreen(ctx context.Context) error {
	x := binding.Explain(t.binding.CanSell())
	return t.ui.Show(ctx, ScreenSuspended, "暂停收款 Sales stopped", x.ZH, x.EN, "MENU 菜单: 解绑后重新绑定 unbind, then bind again")
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
