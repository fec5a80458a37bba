package terminal

import (
	"context"
	"errors"
	"fmt"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/terminal/checks"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/qrpay"
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

// scanCode waits for the customer's code (terminal/qrpay). Anything that
// is not a payment code gets a retry prompt and another scan; it is never
// sent.
func (s *sale) scanCode(ctx context.Context) (Event, error) {
	if !s.t.panel.HasScanner() {
		s.message = "本机无扫码器 This terminal has no scanner"
		return EvFail, errors.New("terminal: no scanner")
	}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.CardTimeout)
	defer cancel()
	code, note, out, err := qrpay.Scan(ctx, s.t.panel, s.t.log, s.amount, s.note)
	s.note = note
	switch {
	case err != nil:
		return EvFail, err
	case out == qrpay.TimedOut:
		s.message = "等待超时 Timed out waiting for a code"
		return EvCancel, nil
	case out == qrpay.Cancelled:
		return EvCancel, nil
	case out == qrpay.Rescan:
		return EvRescan, nil
	}
	s.code = code
	return EvScanned, nil
}

func (s *sale) confirmCode(ctx context.Context) (Event, error) {
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.InputTimeout)
	defer cancel()
	name, _, _ := s.t.identity()
	ok, err := qrpay.Confirm(ctx, s.t.panel, s.amount, name, s.code)
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

// showMerchantCode shows the merchant code and polls the host until the
// customer has paid, the merchant cancels or the time is up. F1 prints it.
func (s *sale) showMerchantCode(ctx context.Context) (Event, error) {
	var merchantQR func(amount int64, bill string) (string, error) // nil: the host's own payload
	if s.t.binding != nil {
		merchantQR = s.t.binding.MerchantQR
	}
	payload, err := qrpay.MerchantCode(s.resp.QRPayload, s.amount, merchantQR)
	if err != nil {
		s.message = "无法生成二维码 Cannot make the QR code: order cancelled"
		return EvFail, err
	}
	s.payload = payload
	name, _, tid := s.t.identity()
	c := qrpay.Collect{Panel: s.t.panel, Log: s.t.log, Name: name, TID: tid, Amount: s.amount, Payload: payload,
		Every: s.t.cfg.QRPollInterval}
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.QRTimeout)
	defer cancel()
	ev, err := EvFail, error(nil)
	stop, serr := c.Run(ctx, s.ask(&ev, &err))
	switch {
	case serr != nil:
		return EvFail, serr
	case stop == qrpay.Expired:
		s.message = "顾客未付款，订单已取消 Not paid in time: order cancelled"
		return EvTimeout, nil
	case stop == qrpay.Keyed:
		s.message = "订单已取消 Order cancelled"
		return EvCancel, nil
	}
	return ev, err
}

// pollQR waits for the outcome of a payment code the wallet holds for the
// customer's confirmation.
func (s *sale) pollQR(ctx context.Context) (Event, error) {
	_ = s.t.ui.Show(ctx, ui.Processing, "等待付款 Waiting for payment", ui.Money(s.amount), "请顾客在手机上确认 Customer confirms on the phone", "取消[CANCEL]")
	ctx, cancel := s.withTimeout(ctx, s.t.cfg.QRTimeout)
	defer cancel()
	ev, err := EvFail, error(nil)
	onKey := func(k hal.Key) bool { return k == hal.KeyCancel }
	switch qrpay.Poll(ctx, s.t.panel, s.t.cfg.QRPollInterval, onKey, s.ask(&ev, &err)) {
	case qrpay.Expired:
		return s.giveUp("not paid in time", "顾客未确认，已撤销 Not confirmed in time: reversed")
	case qrpay.Keyed:
		return s.giveUp("cancelled while waiting", "已取消并撤销 Cancelled and reversed")
	}
	return ev, err
}

// giveUp queues the pending payment's reversal.
func (s *sale) giveUp(reason, msg string) (Event, error) {
	s.message = msg
	if err := s.t.journal.QueueReversal(s.trace, reason); err != nil {
		return EvNoAnswer, err
	}
	return EvNoAnswer, nil
}

// ask is the poll's question: it asks the host once about the pending
// payment (terminal/qrpay) and, once it is settled, sets ev and err.
func (s *sale) ask(ev *Event, err *error) func(context.Context) bool {
	return func(ctx context.Context) bool {
		o := qrpay.Order{Host: s.t.host, Journal: s.t.journal, Log: s.t.log, Kind: hostKind(txkind.QRQuery),
			Trace: s.trace, Batch: s.batch, Amount: s.amount, Currency: s.t.cfg.Currency, Now: s.t.cfg.Now, HostTimeout: s.t.cfg.HostTimeout}
		st, resp, qerr := o.Ask(ctx)
		switch st {
		case qrpay.Paid:
			s.resp.Code, s.resp.AuthCode, s.resp.RRN, s.resp.HostTime = resp.Code, resp.AuthCode, resp.RRN, resp.HostTime
			*ev = EvHostApproved
		case qrpay.Gone:
			s.resp, *ev = resp, EvDecline
		}
		if qerr != nil {
			*ev, *err = EvFail, qerr
			return true
		}
		if st == qrpay.Gone {
			s.message = declineText(resp)
		}
		return st != qrpay.Open
	}
}

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
