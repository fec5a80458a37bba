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
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// ScreenRefused is the screen of a sale refused before it started (a limit
// or the binding).
const ScreenRefused = "refused"

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
