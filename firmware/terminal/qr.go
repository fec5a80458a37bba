package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/slip"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// cardlessSteps is each cardless state's work; cardlessTransitions in
// transitions.go says where its event leads.
var cardlessSteps = map[State]step{
	StateQRAmount:      (*sale).cardlessAmount,
	StateQRScan:        (*sale).scanCode,
	StateQRConfirm:     (*sale).confirmCode,
	StateQRSend:        (*sale).sendQR,
	StateQRPoll:        (*sale).pollQR,
	StateCollectAmount: (*sale).cardlessAmount,
	StateCollectOrder:  (*sale).openOrder,
	StateCollectShow:   (*sale).showMerchantCode,
	StateCollectCancel: (*sale).cancelOrder,
	StateCashAmount:    (*sale).cardlessAmount,
	StateCashConfirm:   (*sale).confirmCash,
	StateCashRecord:    (*sale).recordCash,
	StateReverse:       (*sale).reverseNow,
	StatePrint:         (*sale).printReceipt,
}

func (s *sale) cardlessAmount(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	amount, err := s.t.ui.EnterAmountUpTo(ctx, s.kind().Title, s.amountLimit(checks.MethodOf(s.method, s.merchantQR)))
	if err != nil {
		return EvCancel, panel.IgnoreCancel(err)
	}
	s.amount = amount
	if msg, err := s.t.checks().Allow(checks.MethodOf(s.method, s.merchantQR), amount); err != nil {
		s.message = msg
		s.t.log.Info("sale refused before it started", "err", err)
		return EvRefused, nil
	}
	return EvAmount, nil
}

// scanCode waits for the customer's code. Anything that is not a payment
// code gets a retry prompt and another scan; it is never sent.
func (s *sale) scanCode(ctx context.Context) (Event, error) {
	if !s.t.panel.HasScanner() {
		s.message = "本机无扫码器 This terminal has no scanner"
		return EvFail, errors.New("terminal: no scanner")
	}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.CardTimeout)
	defer cancel()
	lines := []string{ui.Money(s.amount), "请出示付款码 Show your payment code"}
	if s.note != "" {
		lines = append(lines, s.note)
	}
	lines = append(lines, "取消[CANCEL]")
	if err := s.t.ui.Show(ctx, ScreenQRScan, "请扫码 Scan the payment code", lines...); err != nil {
		return EvFail, err
	}
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := s.t.panel.KeyFeed(ictx)
	scans, waitScans := s.t.panel.ScanFeed(ictx)
	defer func() { stop(); waitKeys(); waitScans() }()
	for {
		select {
		case <-ctx.Done():
			s.message = "等待超时 Timed out waiting for a code"
			return EvCancel, nil
		case k := <-keys:
			if k == hal.KeyCancel {
				return EvCancel, nil
			}
		case r := <-scans:
			return s.classify(ctx, r)
		}
	}
}

// classify decides what a scan was.
func (s *sale) classify(ctx context.Context, r panel.Scan) (Event, error) {
	s.note = ""
	if r.Err != nil {
		s.note = "无法识别，请重新扫描 Unreadable: hold the code steady and scan again"
		s.t.log.Info("scan unreadable", "err", r.Err)
	} else if code, err := qr.Classify(r.Text); err != nil {
		x := binding.Explain(err)
		s.note = x.ZH + " " + x.EN
		s.t.log.Info("scanned code refused", "err", err)
	} else if !code.Kind.Payment() {
		s.note = "这是绑定K码，不是付款码 This is a binding K code, not a payment code"
	} else {
		s.code = code
		return EvScanned, nil
	}
	_ = s.t.dev.Indicator.Signal(ctx, hal.SignalAttention)
	_ = s.t.ui.Show(ctx, ScreenQRRetry, "请重新扫码 Scan again", s.note)
	return EvRescan, nil
}

func (s *sale) confirmCode(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	name, _, _ := s.t.identity()
	// CANCEL here scans again (CANCEL on the scan screen ends the sale):
	// the keys are labelled with what they do.
	ok, err := s.t.ui.ConfirmAs(ctx, ScreenQRConfirm, "扫码支付 QR payment", "支付", "重新扫码",
		"金额 Amount: "+ui.Money(s.amount), "收款方 Payee: "+name, "付款码 Code: "+s.code.Kind.String()+" "+s.code.Masked())
	if err != nil {
		if ctx.Err() != nil {
			s.message = "等待超时 Timed out"
			return EvCancel, nil
		}
		return EvCancel, panel.IgnoreCancel(err)
	}
	if !ok {
		s.code = qr.Code{}
		return EvRescan, nil
	}
	return EvConfirmed, nil
}

// sendQR journals the payment, then sends the code to the host.
func (s *sale) sendQR(ctx context.Context) (Event, error) {
	s.request = acquirer.Request{Kind: hostKind(s.kind()), Amount: s.amount, Currency: s.t.cfg.Currency,
		Entry: acquirer.EntryQR, QRCode: s.code.Text()}
	return s.exchange(ctx, journal.Completed)
}

// openOrder journals the order, then asks the host to open it.
func (s *sale) openOrder(ctx context.Context) (Event, error) {
	s.request = acquirer.Request{Kind: hostKind(s.kind()), Amount: s.amount, Currency: s.t.cfg.Currency,
		Entry: acquirer.EntryQR}
	ev, err := s.exchange(ctx, journal.Completed)
	if ev == EvHostApproved {
		// Paid the moment it opened: nothing to show.
		return ev, err
	}
	if ev == EvPending && s.resp.QRPayload == "" {
		s.message = "银行未返回二维码 The bank sent no code: order cancelled"
		if jerr := s.t.journal.QueueReversal(s.trace, "merchant QR order without a code"); jerr != nil {
			return EvNoAnswer, errors.Join(err, jerr)
		}
		return EvNoAnswer, errors.New("terminal: QR order without a payload")
	}
	return ev, err
}

// merchantCode is the EMVCo merchant-presented payload of the open order:
// dynamic, with the amount, and the host's order reference as the bill
// number, which is how the customer's wallet names the order it pays. A
// terminal without a binding shows the host's own payload.
func (s *sale) merchantCode() (string, error) {
	ref := s.resp.QRPayload
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		ref = ref[i+1:]
	}
	if s.t.binding == nil {
		return s.resp.QRPayload, nil
	}
	if len(ref) > 25 {
		ref = ref[len(ref)-25:]
	}
	return s.t.binding.MerchantQR(s.amount, ref)
}

// showMerchantCode shows the merchant code and polls the host until the
// customer has paid, the merchant cancels or the time is up. F1 prints it.
func (s *sale) showMerchantCode(ctx context.Context) (Event, error) {
	payload, err := s.merchantCode()
	if err != nil {
		s.message = "无法生成二维码 Cannot make the QR code: order cancelled"
		return EvFail, err
	}
	s.payload = payload
	name, _, _ := s.t.identity()
	scr := hal.Screen{ID: ScreenQRShow, Title: "请扫码付款 Scan to pay", QR: payload,
		Lines: []string{ui.Money(s.amount), name, "F1 打印 print  取消[CANCEL]"}}
	if err := s.t.ui.ShowScreen(ctx, scr); err != nil {
		return EvFail, err
	}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.QRTimeout)
	defer cancel()
	ictx, stop := context.WithCancel(ctx)
	keys, wait := s.t.panel.KeyFeed(ictx)
	defer func() { stop(); wait() }()
	tick := time.NewTicker(s.t.cfg.QRPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.message = "顾客未付款，订单已取消 Not paid in time: order cancelled"
			return EvTimeout, nil
		case k := <-keys:
			switch k {
			case hal.KeyCancel:
				s.message = "订单已取消 Order cancelled"
				return EvCancel, nil
			case hal.KeyF1:
				s.printCode(ctx)
				_ = s.t.ui.ShowScreen(ctx, scr)
			}
		case <-tick.C:
			if ev, done, err := s.query(ctx); done {
				return ev, err
			}
		}
	}
}

// printCode prints the merchant code for a customer who scans from paper.
func (s *sale) printCode(ctx context.Context) {
	name, _, tid := s.t.identity()
	if err := s.t.panel.PrintWhole(ctx, slip.MerchantCode(name, tid, s.amount, s.payload)); err != nil {
		s.t.log.Warn("merchant code not printed", "err", err)
	}
}

// pollQR waits for the outcome of a payment code the wallet holds for the
// customer's confirmation.
func (s *sale) pollQR(ctx context.Context) (Event, error) {
	_ = s.t.ui.Show(ctx, ui.Processing, "等待付款 Waiting for payment", ui.Money(s.amount), "请顾客在手机上确认 Customer confirms on the phone", "取消[CANCEL]")
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.QRTimeout)
	defer cancel()
	ictx, stop := context.WithCancel(ctx)
	keys, wait := s.t.panel.KeyFeed(ictx)
	defer func() { stop(); wait() }()
	tick := time.NewTicker(s.t.cfg.QRPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.giveUp("not paid in time", "顾客未确认，已撤销 Not confirmed in time: reversed")
		case k := <-keys:
			if k == hal.KeyCancel {
				return s.giveUp("cancelled while waiting", "已取消并撤销 Cancelled and reversed")
			}
		case <-tick.C:
			if ev, done, err := s.query(ctx); done {
				return ev, err
			}
		}
	}
}

// giveUp queues the pending payment's reversal.
func (s *sale) giveUp(reason, msg string) (Event, error) {
	s.message = msg
	if err := s.t.journal.QueueReversal(s.trace, reason); err != nil {
		return EvNoAnswer, err
	}
	return EvNoAnswer, nil
}

// query asks the host once about the pending payment. done is false while
// it is still open or the host did not answer.
func (s *sale) query(ctx context.Context) (Event, bool, error) {
	trace, err := s.t.journal.NextTrace()
	if err != nil {
		return EvFail, true, fmt.Errorf("terminal: %w", err)
	}
	req := acquirer.Request{Kind: hostKind(txkind.QRQuery), Trace: trace, Batch: s.batch, Amount: s.amount,
		Currency: s.t.cfg.Currency, Entry: acquirer.EntryQR, OrigTrace: s.trace, OrigBatch: s.batch, Time: s.t.cfg.Now()}
	hctx, cancel := s.withTimeout(ctx, s.t.cfg.HostTimeout)
	resp, err := s.t.host.Do(hctx, req)
	cancel()
	if err != nil {
		// A query moves no money: ask again at the next tick.
		s.t.log.Warn("QR result query failed", "trace", s.trace, "err", err)
		return "", false, nil
	}
	switch {
	case resp.Approved():
		s.resp.Code, s.resp.AuthCode, s.resp.RRN, s.resp.HostTime = resp.Code, resp.AuthCode, resp.RRN, resp.HostTime
		if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
			x.State, x.ResponseCode, x.AuthCode, x.RRN, x.HostTime = journal.Completed, resp.Code, resp.AuthCode, resp.RRN, resp.HostTime
		}); err != nil {
			return EvFail, true, err
		}
		return EvHostApproved, true, nil
	case resp.Code == qrInProgress:
		return "", false, nil
	}
	// The order is gone (cancelled, unknown): nothing was paid.
	s.resp = resp
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) {
		x.State, x.ResponseCode = journal.Declined, resp.Code
	}); err != nil {
		return EvFail, true, err
	}
	s.message = declineText(resp)
	return EvDecline, true, nil
}

// qrInProgress is the host's answer for a QR payment the customer has not
// completed yet.
const qrInProgress = "09"

// cancelOrder reverses an order the customer did not pay in time or the
// merchant gave up; a payment that arrived meanwhile is undone with it.
func (s *sale) cancelOrder(ctx context.Context) (Event, error) {
	if err := s.t.journal.QueueReversal(s.trace, "merchant QR order cancelled"); err != nil {
		return EvFail, err
	}
	_ = s.t.ui.Show(ctx, ui.Reversing, "撤销订单 Cancelling the order", fmt.Sprintf("凭证号 Trace %06d", s.trace))
	if err := s.t.FlushReversals(ctx); err != nil {
		return EvFail, err
	}
	return EvReversed, nil
}

func (s *sale) confirmCash(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	ok, err := s.t.ui.Confirm(ctx, ScreenCashConfirm, s.kind().Title, "已收现金 Cash received:", ui.Money(s.amount))
	if err != nil || !ok {
		return EvCancel, panel.IgnoreCancel(err)
	}
	return EvConfirmed, nil
}

// recordCash writes the cash sale to the journal as completed: nothing goes
// to the host, but settlement counts it.
func (s *sale) recordCash(ctx context.Context) (Event, error) {
	if err := s.begin(); err != nil {
		s.message = "存储故障 Journal error: call support"
		return EvFail, err
	}
	if _, err := s.t.journal.Update(s.trace, func(x *journal.Txn) { x.State = journal.Completed }); err != nil {
		return EvFail, err
	}
	return EvRecorded, nil
}
