package bindflow

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/terminal/panel"
)

// ScreenSuspended says the binding stopped sales (expired or revoked).
const ScreenSuspended = "suspended"

// Suspended shows that sales stopped and why (why is the binding's
// refusal to sell).
func Suspended(ctx context.Context, p *panel.Panel, why error) error {
	x := binding.Explain(why)
	return p.UI.Show(ctx, ScreenSuspended, "暂停收款 Sales stopped", x.ZH, x.EN, "MENU 菜单: 解绑后重新绑定 unbind, then bind again")
}

// Refused reports a host answer (err) that says the terminal itself may not
// transact (revoked or expired binding, terminal not permitted).
func Refused(err error) bool {
	var ce *acquirer.CodeError
	if errors.As(err, &ce) {
		return RefusesTerminal(ce.Code)
	}
	return false
}

// RefusesTerminal reports whether the host's response code says the
// terminal itself may not transact.
func RefusesTerminal(code string) bool {
	switch code {
	case "58", "97", "K2", "K3":
		return true
	}
	_, _, action := acquirer.Describe(code)
	return action == acquirer.ActionRebind
}

// StatusChecker asks the bank for the binding's status.
type StatusChecker interface {
	CheckStatus(ctx context.Context) (binding.Status, error)
}

// CheckAfterRefusal asks for the binding's status when a sale's answer
// (code) says the terminal may not transact, so that a revoked or expired
// binding stops sales at once.
func CheckAfterRefusal(ctx context.Context, b StatusChecker, code string, timeout time.Duration, log *slog.Logger) {
	if !RefusesTerminal(code) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := b.CheckStatus(ctx); err != nil {
		log.Warn("binding status check after a refusal failed", "err", err)
	}
}
