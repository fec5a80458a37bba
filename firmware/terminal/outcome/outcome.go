// Package outcome is how a transaction's end reads at the counter: the
// approval with its amount (or balance), authorization code and trace; a
// decline, cancel or failure with its reason, or the default reason of its
// kind; a refusal before the sale started; and the words of a host's decline
// (the response code as firmware/acquirer describes it). It shows and
// signals; it knows nothing of the terminal's states or the journal.
package outcome

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of the ends.
const (
	ScreenRefused = "refused" // a limit or the binding refused a sale before it started
	ScreenBalance = "balance" // the balance, printed only if asked
)

// DeclineText is what the merchant reads of the host's decline r.
func DeclineText(r acquirer.Response) string {
	zh, en, _ := acquirer.Describe(r.Code)
	return fmt.Sprintf("%s %s (%s)", zh, en, r.Code)
}

// Approved shows an approval of the kind titled title: what lines says (the
// amount, or the balance), the authorization code when there is one, and
// the trace number.
func Approved(ctx context.Context, p *panel.Panel, title string, lines []string, auth string, trace uint32) {
	if auth != "" {
		lines = append(lines, "授权码 Auth "+auth)
	}
	_ = p.UI.Show(ctx, ui.Approved, title+" 交易成功 Approved", append(lines, fmt.Sprintf("凭证号 Trace %06d", trace))...)
}

// End is how a transaction ended without an approval.
type End int

// The ends.
const (
	Declined End = iota
	Cancelled
	Failed
)

var ends = map[End]struct {
	id, title, reason string
	signals           bool
	signal            hal.Signal
}{
	Declined:  {ui.Declined, "交易失败 Declined", "", true, hal.SignalDeclined},
	Cancelled: {ui.Cancelled, "已取消 Cancelled", "交易已取消 Transaction cancelled", false, 0},
	Failed:    {ui.Failed, "交易失败 Failed", "交易失败 Transaction failed: call support", true, hal.SignalAttention},
}

// Show shows end with its reason (msg, or the end's own when msg is "").
func Show(ctx context.Context, p *panel.Panel, end End, msg string) {
	e := ends[end]
	if e.signals {
		_ = p.Indicator.Signal(ctx, e.signal)
	}
	if msg == "" {
		msg = e.reason
	}
	_ = p.UI.Show(ctx, e.id, e.title, msg)
}

// Refused shows why a sale cannot start (screen id) and waits briefly
// for a key.
func Refused(ctx context.Context, p *panel.Panel, id, msg string, wait time.Duration) {
	_ = p.Indicator.Signal(ctx, hal.SignalAttention)
	_ = p.UI.Show(ctx, id, "不能收款 Cannot sell", msg, "按任意键返回 Press any key")
	p.AnyKey(ctx, wait)
}

// Balance shows a balance inquiry's answer for the card masked; F1 prints
// the slip doc makes.
func Balance(ctx context.Context, p *panel.Panel, balance int64, masked string, doc func() hal.Document, log *slog.Logger) {
	_ = p.Indicator.Signal(ctx, hal.SignalApproved)
	_ = p.UI.Show(ctx, ScreenBalance, "余额 Balance", ui.Money(balance), "卡号 Card "+masked, "打印[F1] 返回[ENTER]")
	k, err := p.UI.Key(ctx)
	if err != nil || k != hal.KeyF1 {
		return
	}
	if err := p.PrintWhole(ctx, doc()); err != nil {
		log.Warn("balance not printed", "err", err)
	}
}
