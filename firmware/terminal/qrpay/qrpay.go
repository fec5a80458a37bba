// Package qrpay is the QR payments' side of the counter: the wait for the
// customer's payment code at the scanner (anything that is not a payment
// code gets a retry prompt and is never sent), the merchant-presented code
// of an open order, and the host asked at intervals about a payment that is
// still open (the customer pays the terminal's code, or confirms a payment
// code on the phone), with its answer journaled.
//
// It knows nothing of the terminal's states and events: the terminal's
// cardless table (firmware/terminal) says what each outcome leads to.
package qrpay

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of the scan.
const (
	ScreenScan    = "qr-scan"    // scan the customer's payment code
	ScreenRetry   = "qr-retry"   // that was not a payment code
	ScreenConfirm = "qr-confirm" // amount, payee and code: confirm
	ScreenShow    = "qr-show"    // the merchant code on the display
)

// InProgress is the host's answer for a QR payment the customer has not
// completed yet.
const InProgress = "09"

// Outcome is how a wait for the customer's code ended.
type Outcome int

// The outcomes of a wait.
const (
	Scanned   Outcome = iota // a payment code was read
	Rescan                   // the scan was not a payment code: scan again
	Cancelled                // CANCEL
	TimedOut                 // ctx ended
)

// Scan shows the scan prompt for amount (with note, why the last scan was
// refused) and waits for the customer's code. It returns the code when it is
// a payment code; otherwise the note the next prompt shows.
func Scan(ctx context.Context, p *panel.Panel, log *slog.Logger, amount int64, note string) (qr.Code, string, Outcome, error) {
	lines := []string{ui.Money(amount), "请出示付款码 Show your payment code"}
	if note != "" {
		lines = append(lines, note)
	}
	lines = append(lines, "取消[CANCEL]")
	if err := p.UI.Show(ctx, ScreenScan, "请扫码 Scan the payment code", lines...); err != nil {
		return qr.Code{}, note, Cancelled, err
	}
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := p.KeyFeed(ictx)
	scans, waitScans := p.ScanFeed(ictx)
	defer func() { stop(); waitKeys(); waitScans() }()
	for {
		select {
		case <-ctx.Done():
			return qr.Code{}, note, TimedOut, nil
		case k := <-keys:
			if k == hal.KeyCancel {
				return qr.Code{}, note, Cancelled, nil
			}
		case r := <-scans:
			code, note, out := classify(ctx, p, log, r)
			return code, note, out, nil
		}
	}
}

// classify decides what a scan was.
func classify(ctx context.Context, p *panel.Panel, log *slog.Logger, r panel.Scan) (qr.Code, string, Outcome) {
	var note string
	if r.Err != nil {
		note = "无法识别，请重新扫描 Unreadable: hold the code steady and scan again"
		log.Info("scan unreadable", "err", r.Err)
	} else if code, err := qr.Classify(r.Text); err != nil {
		x := binding.Explain(err)
		note = x.ZH + " " + x.EN
		log.Info("scanned code refused", "err", err)
	} else if !code.Kind.Payment() {
		note = "这是绑定K码，不是付款码 This is a binding K code, not a payment code"
	} else {
		return code, "", Scanned
	}
	_ = p.Indicator.Signal(ctx, hal.SignalAttention)
	_ = p.UI.Show(ctx, ScreenRetry, "请重新扫码 Scan again", note)
	return qr.Code{}, note, Rescan
}

// Confirm asks the merchant to confirm the payment of amount to payee with
// code. CANCEL here scans again (CANCEL on the scan screen ends the sale):
// the keys are labelled with what they do.
func Confirm(ctx context.Context, p *panel.Panel, amount int64, payee string, code qr.Code) (bool, error) {
	return p.UI.ConfirmAs(ctx, ScreenConfirm, "扫码支付 QR payment", "支付", "重新扫码",
		"金额 Amount: "+ui.Money(amount), "收款方 Payee: "+payee, "付款码 Code: "+code.Kind.String()+" "+code.Masked())
}

// Collect is the merchant code of an open order on the display.
type Collect struct {
	Panel   *panel.Panel
	Log     *slog.Logger
	Name    string // the merchant, under the code
	TID     string // the terminal, on the paper code
	Amount  int64
	Payload string        // the code
	Every   time.Duration // how often the host is asked
}

// Run shows the code and asks at every interval until ask reports the
// order settled, the merchant cancels (Keyed) or ctx ends. F1 prints the
// code for a customer who scans from paper.
func (c *Collect) Run(ctx context.Context, ask func(context.Context) bool) (Stop, error) {
	scr := hal.Screen{ID: ScreenShow, Title: "请扫码付款 Scan to pay", QR: c.Payload,
		Lines: []string{ui.Money(c.Amount), c.Name, "F1 打印 print  取消[CANCEL]"}}
	if err := c.Panel.UI.ShowScreen(ctx, scr); err != nil {
		return Expired, err
	}
	onKey := func(k hal.Key) bool {
		if k == hal.KeyF1 {
			if err := c.Panel.PrintWhole(ctx, slip.MerchantCode(c.Name, c.TID, c.Amount, c.Payload)); err != nil {
				c.Log.Warn("merchant code not printed", "err", err)
			}
			_ = c.Panel.UI.ShowScreen(ctx, scr)
		}
		return k == hal.KeyCancel
	}
	return Poll(ctx, c.Panel, c.Every, onKey, ask), nil
}

// MerchantCode is the EMVCo merchant-presented payload of an open order of
// amount: dynamic, with the amount, and the host's order reference (the
// last part of hostPayload) as the bill number, which is how the customer's
// wallet names the order it pays. Without a binding (bind nil) it is the
// host's own payload.
func MerchantCode(hostPayload string, amount int64, bind func(amount int64, bill string) (string, error)) (string, error) {
	if bind == nil {
		return hostPayload, nil
	}
	ref := hostPayload
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	if len(ref) > 25 {
		ref = ref[len(ref)-25:]
	}
	return bind(amount, ref)
}

// Stop is why a poll ended.
type Stop int

// The ends of a poll.
const (
	Answered Stop = iota // ask reported the payment settled
	Keyed                // onKey asked to stop
	Expired              // ctx ended
)

// Poll asks at every interval until ask reports the payment settled, onKey
// (called with every key) asks to stop, or ctx ends.
func Poll(ctx context.Context, p *panel.Panel, every time.Duration, onKey func(hal.Key) bool, ask func(context.Context) bool) Stop {
	ictx, stop := context.WithCancel(ctx)
	keys, wait := p.KeyFeed(ictx)
	defer func() { stop(); wait() }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return Expired
		case k := <-keys:
			if onKey(k) {
				return Keyed
			}
		case <-tick.C:
			if ask(ctx) {
				return Answered
			}
		}
	}
}

// Host is the exchange with the acquirer (firmware/acquirer's client
// satisfies it).
type Host interface {
	Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error)
}

// Status is what the host said of an open payment.
type Status int

// The statuses.
const (
	Open Status = iota // still open, or the host did not answer: ask again
	Paid               // approved: journaled as completed
	Gone               // cancelled or unknown, nothing paid: journaled as declined
)

// Order is an open QR payment journaled under Trace in Batch.
type Order struct {
	Host        Host
	Journal     *journal.Journal
	Log         *slog.Logger
	Kind        acquirer.Kind // the query's request kind
	Trace       uint32
	Batch       uint32
	Amount      int64
	Currency    uint16
	Now         func() time.Time
	HostTimeout time.Duration
}

// Ask asks the host once about the payment and journals a final answer.
func (o *Order) Ask(ctx context.Context) (Status, acquirer.Response, error) {
	trace, err := o.Journal.NextTrace()
	if err != nil {
		return Open, acquirer.Response{}, fmt.Errorf("qrpay: %w", err)
	}
	req := acquirer.Request{Kind: o.Kind, Trace: trace, Batch: o.Batch, Amount: o.Amount,
		Currency: o.Currency, Entry: acquirer.EntryQR, OrigTrace: o.Trace, OrigBatch: o.Batch, Time: o.Now()}
	hctx, cancel := context.WithTimeout(ctx, o.HostTimeout)
	resp, err := o.Host.Do(hctx, req)
	cancel()
	if err != nil {
		// A query moves no money: ask again at the next tick.
		o.Log.Warn("QR result query failed", "trace", o.Trace, "err", err)
		return Open, resp, nil
	}
	switch {
	case resp.Approved():
		_, err := o.Journal.Update(o.Trace, func(x *journal.Txn) {
			x.State, x.ResponseCode, x.AuthCode, x.RRN, x.HostTime = journal.Completed, resp.Code, resp.AuthCode, resp.RRN, resp.HostTime
		})
		return Paid, resp, err
	case resp.Code == InProgress:
		return Open, resp, nil
	}
	// The order is gone (cancelled, unknown): nothing was paid.
	_, err = o.Journal.Update(o.Trace, func(x *journal.Txn) {
		x.State, x.ResponseCode = journal.Declined, resp.Code
	})
	return Gone, resp, err
}
