package terminal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/merchantpw"
	"kpos/firmware/receipt"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// WithSettlement lets the terminal settle its batches with h (the acquirer
// client satisfies settle.Host): on demand from the menu, at the binding's
// settlement time, and, after a power cut, at boot.
func WithSettlement(h settle.Host) Option { return func(t *Terminal) { t.settleHost = h } }

// settler returns a settler with the terminal's current identity, the
// binding's fees and the masked settlement account; nil without a host.
func (t *Terminal) settler() *settle.Settler {
	if t.settleHost == nil {
		return nil
	}
	name, mid, tid := t.identity()
	cfg := settle.Config{MerchantName: name, MerchantID: mid, TerminalID: tid, Currency: "CNY",
		Width: receipt.NarrowColumns, Logger: t.log.With("component", "settle")}
	if t.binding != nil {
		r := t.binding.Record()
		if r.Account != nil {
			cfg.Account = r.Account.PANMasked
		}
		if p, err := t.binding.Params(); err == nil {
			cfg.Fees = func(method string, amount int64) int64 {
				return p.Fee(methodOf(journal.Method(method), false), amount)
			}
		}
	}
	return settle.New(cfg, t.journal, t.settleHost, t.dev.Printer)
}

// ResumeSettlement continues a settlement a power cut interrupted (and
// prints a closed batch's report that never came out). Boot calls it after
// the reversals and before anything else.
func (t *Terminal) ResumeSettlement(ctx context.Context) error {
	st := t.settler()
	if st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, t.settleTimeout())
	defer cancel()
	r, resumed, err := st.Resume(ctx)
	if !resumed {
		return err
	}
	if err != nil && !errors.Is(err, settle.ErrNotPrinted) {
		t.log.Warn("interrupted settlement not finished yet", "err", err)
		return fmt.Errorf("terminal: settlement: %w", err)
	}
	t.log.Info("interrupted settlement finished", "batch", r.Batch.Batch, "balanced", r.Batch.Balanced)
	return nil
}

// settleTimeout bounds a whole settlement: the totals, an upload of the
// batch, the end of the upload.
func (t *Terminal) settleTimeout() time.Duration { return 10 * t.cfg.HostTimeout }

// settling reports whether a settlement is in progress: no transaction may
// join the batch until it finishes.
func (t *Terminal) settling() bool {
	busy, err := t.journal.Settling()
	return err == nil && busy
}

// Settle settles the open batch on the merchant's demand: the totals are
// shown and confirmed, the reversals owed go first, then the settlement
// runs and its report is printed.
func (t *Terminal) Settle(ctx context.Context) error {
	st := t.settler()
	if st == nil {
		_ = t.ui.Show(ctx, ScreenSettleError, "结算 Settlement", "本机不能结算 This terminal cannot settle: call support")
		t.panel.AnyKey(ctx, t.cfg.InputTimeout)
		return nil
	}
	if !t.settling() {
		batch, err := t.journal.Batch()
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		tot, err := t.journal.OpenTotals()
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
		ok, err := t.ui.Confirm(ictx, ScreenSettleConfirm, "结算 Settlement", fmt.Sprintf("批次 Batch %06d", batch),
			fmt.Sprintf("消费 Sales %d %s", tot.Sales.Count, ui.Money(tot.Sales.Amount)),
			fmt.Sprintf("退货 Refunds %d %s", tot.Refunds.Count, ui.Money(tot.Refunds.Amount)),
			fmt.Sprintf("撤销 Voids %d %s", tot.Voids.Count, ui.Money(tot.Voids.Amount)))
		cancel()
		if err != nil || !ok {
			return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
		}
	}
	return t.runSettlement(ctx, st)
}

// runSettlement sends the reversals owed, then settles, and shows how it
// ended.
func (t *Terminal) runSettlement(ctx context.Context, st *settle.Settler) error {
	_ = t.ui.Show(ctx, ScreenSettling, "结算中 Settling", "连接银行 Contacting the bank", "请勿关机 Do not switch off")
	r, err := t.settleOnce(ctx, st)
	if errors.Is(err, ErrReversalsPending) {
		t.log.Warn("settlement waits for the reversals", "err", err)
		_ = t.ui.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "冲正未完成 Reversals pending: check the network, then settle again")
		t.panel.AnyKey(ctx, t.cfg.InputTimeout)
		return nil
	}
	switch {
	case err == nil || errors.Is(err, settle.ErrNotPrinted):
		t.showSettled(ctx, r, err)
		return nil
	case errors.Is(err, journal.ErrUnresolved):
		_ = t.ui.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "有未完成交易 Transactions in doubt: they are reversed first; settle again")
	default:
		t.log.Warn("settlement stopped", "err", err)
		_ = t.ui.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "银行无应答 No answer from the bank",
			"结算将自动继续 The settlement continues when the bank answers; no sale until then")
	}
	_ = t.dev.Indicator.Signal(ctx, hal.SignalAttention)
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
	return nil
}

// settleOnce sends the reversals owed, then runs the settlement, signing on
// again once when the host no longer knows the working keys.
func (t *Terminal) settleOnce(ctx context.Context, st *settle.Settler) (settle.Report, error) {
	if err := t.FlushReversals(ctx); err != nil {
		return settle.Report{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, t.settleTimeout())
	r, err := st.Run(sctx)
	cancel()
	if err != nil && t.keysRejected(err) && t.signOnAgain(ctx) == nil {
		// The host no longer knows the working keys (restarted, failed
		// over): signed on again, the settlement continues where it was.
		sctx, cancel := context.WithTimeout(ctx, t.settleTimeout())
		r, err = st.Run(sctx)
		cancel()
	}
	return r, err
}

// ErrCannotSettle reports a terminal without a settlement link.
var ErrCannotSettle = errors.New("terminal: this terminal cannot settle")

// SettleNow settles the open batch without asking anyone, for the
// technician console: reversals first, then the settlement, the report
// printed. The counter's display shows that it is settling.
func (t *Terminal) SettleNow(ctx context.Context) (settle.Report, error) {
	st := t.settler()
	if st == nil {
		return settle.Report{}, ErrCannotSettle
	}
	_ = t.ui.Show(ctx, ScreenSettling, "结算中 Settling", "维护终端发起 Started from the console", "请勿关机 Do not switch off")
	r, err := t.settleOnce(ctx, st)
	if err == nil || errors.Is(err, settle.ErrNotPrinted) {
		_ = t.Idle(ctx)
	}
	return r, err
}

// PrintReceipt prints the merchant copy of a journaled transaction again,
// marked as a reprint, without any screen (the technician console's
// reprint).
func (t *Terminal) PrintReceipt(ctx context.Context, trace uint32) error {
	x, err := t.journal.Get(trace)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if !printable(x) {
		return fmt.Errorf("terminal: trace %06d is %s %s: no receipt", trace, x.Kind, x.State)
	}
	return t.dev.Printer.Print(ctx, receipt.Build(journalReceipt(t, x), receipt.MerchantCopy))
}

// showSettled shows a closed batch's figures.
func (t *Terminal) showSettled(ctx context.Context, r settle.Report, err error) {
	b := r.Batch
	how := "对账平 Balanced"
	if !b.Balanced {
		how = "对账不平，已上送明细 Unbalanced: batch uploaded"
	}
	lines := []string{fmt.Sprintf("批次 Batch %06d", b.Batch), how,
		fmt.Sprintf("净额 Net %s", ui.Money(b.Totals.Net())), fmt.Sprintf("手续费 Fees %s", ui.Money(r.Fees))}
	if err != nil {
		lines = append(lines, "报表未打印 Report not printed: reprint it from the menu")
	}
	_ = t.dev.Indicator.Signal(ctx, hal.SignalApproved)
	_ = t.ui.Show(ctx, ScreenSettled, "结算完成 Settled", lines...)
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
}

// settleIfDue settles at the binding's settlement time: when the time
// passed since the terminal last looked, and the batch holds anything.
func (t *Terminal) settleIfDue(ctx context.Context) {
	if t.binding == nil || t.settleHost == nil {
		return
	}
	p, err := t.binding.Params()
	if err != nil {
		return
	}
	now := t.cfg.Now()
	if t.nextSettle.IsZero() {
		if t.nextSettle, err = p.NextSettlement(now); err != nil {
			return
		}
	}
	if now.Before(t.nextSettle) {
		return
	}
	if t.nextSettle, err = p.NextSettlement(now); err != nil {
		return
	}
	tot, err := t.journal.OpenTotals()
	if err != nil || (tot.Sales.Count == 0 && tot.Refunds.Count == 0 && tot.Voids.Count == 0) {
		return
	}
	t.log.Info("settlement time")
	if err := t.runSettlement(ctx, t.settler()); err != nil {
		t.log.Warn("scheduled settlement", "err", err)
	}
}

// The reprint menu's entries.
var reprintEntries = []string{
	"结算 Settle now",
	"重打上一笔 Reprint the last receipt",
	"按凭证号重打 Reprint by trace number",
	"重打结算单 Reprint the last settlement report",
}

// SettleMenu is the settlement and reprint menu.
func (t *Terminal) SettleMenu(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	i, err := t.ui.Choose(ictx, ScreenMenuSettle, "结算/重打印 Settlement & reprint", reprintEntries)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	switch i {
	case 0:
		if !t.merchantAllowed(ctx, "结算 Settlement") {
			return nil
		}
		return t.Settle(ctx)
	case 1:
		return t.ReprintLast(ctx)
	case 2:
		return t.ReprintTrace(ctx)
	case 3:
		return t.ReprintSettlement(ctx)
	}
	return nil
}

// ReprintLast prints the last receipt again, marked as a reprint.
func (t *Terminal) ReprintLast(ctx context.Context) error {
	last, err := t.journal.LastWhere(printable)
	if errors.Is(err, journal.ErrNotFound) {
		t.nothing(ctx, "没有可重打的凭条 No receipt to reprint")
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return t.reprint(ctx, last.Trace)
}

// ReprintTrace prints the receipt of a trace number typed by the merchant.
func (t *Terminal) ReprintTrace(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	digits, err := t.panel.ReadDigits(ictx, ScreenReprintTrace, "重打印 Reprint 凭证号 Trace", 6, panel.MaskNone)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	n, _ := strconv.ParseUint(digits, 10, 32)
	return t.reprint(ctx, uint32(n))
}

// ReprintSettlement prints the last settlement report again.
func (t *Terminal) ReprintSettlement(ctx context.Context) error {
	st := t.settler()
	if st == nil {
		t.nothing(ctx, "本机不能结算 This terminal cannot settle")
		return nil
	}
	_ = t.ui.Show(ctx, ui.Printing, "重打结算单 Reprint the settlement report", "打印中 Printing")
	if _, err := st.Reprint(ctx); err != nil {
		if errors.Is(err, settle.ErrNothingToReprint) {
			t.nothing(ctx, "还没有结算 No settlement yet")
			return nil
		}
		t.log.Warn("settlement report not reprinted", "err", err)
		t.nothing(ctx, "打印失败 Not printed: check the printer")
	}
	return nil
}

func (t *Terminal) nothing(ctx context.Context, msg string) {
	_ = t.ui.Show(ctx, ScreenNothing, "重打印 Reprint", msg)
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
}

// printable reports whether x has a receipt.
func printable(x journal.Txn) bool {
	return x.State == journal.Completed && x.Kind != journal.Balance || x.State == journal.Voided
}

// reprint prints the receipt of trace again from the journal, merchant copy.
func (t *Terminal) reprint(ctx context.Context, trace uint32) error {
	x, err := t.journal.Get(trace)
	if msg := t.outsideWindow(err, uint64(trace)); msg != "" {
		t.nothing(ctx, msg)
		return nil
	}
	if errors.Is(err, journal.ErrNotFound) || (err == nil && !printable(x)) {
		t.nothing(ctx, fmt.Sprintf("无此凭条 No receipt for trace %06d", trace))
		return nil
	}
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	_ = t.ui.Show(ctx, ui.Printing, "重打印 Reprint", fmt.Sprintf("凭证号 Trace %06d", trace), "打印中 Printing")
	if err := t.panel.PrintWhole(ctx, receipt.Build(journalReceipt(t, x), receipt.MerchantCopy)); err != nil {
		t.log.Warn("reprint not printed", "trace", trace, "err", err)
	}
	return nil
}

// journalReceipt is the receipt of a journaled transaction, as a reprint.
func journalReceipt(t *Terminal, x journal.Txn) receipt.Receipt {
	r := t.slipReceipt(x)
	r.Reprint = true
	return r
}

// merchantAllowed asks for the merchant's password (void, refund,
// settlement) and reports whether it was right.
func (t *Terminal) merchantAllowed(ctx context.Context, title string) bool {
	return t.merchantPassword(ctx, title, ScreenWrongPassword)
}

// merchantPassword asks for the merchant's password under title and
// reports whether it was right. Every refusal is shown on errScreen, except
// a lock, which has its own screen. A lock in force is shown before anything
// is typed; a password that cannot be checked (its state cannot be read or
// written, a full disk) is refused like a wrong one (fail closed).
func (t *Terminal) merchantPassword(ctx context.Context, title, errScreen string) bool {
	refuse := func(id string, lines ...string) bool {
		_ = t.dev.Indicator.Signal(ctx, hal.SignalDeclined)
		_ = t.ui.Show(ctx, id, title, lines...)
		t.panel.AnyKey(ctx, t.cfg.InputTimeout)
		return false
	}
	if t.password == nil {
		return refuse(errScreen, "未设置商户密码 No merchant password is set: call support")
	}
	locked := func(until time.Time) bool {
		return refuse(ScreenPasswordLock, "密码已锁定 Locked: too many wrong passwords",
			"请于 "+until.Local().Format("15:04")+" 后再试 Try again after "+until.Local().Format("15:04"))
	}
	until, err := t.password.Locked()
	if err != nil {
		t.log.Error("merchant password state unreadable: refused", "err", err)
		return refuse(errScreen, "不能验证密码 The password cannot be checked: call support")
	}
	if !until.IsZero() {
		return locked(until)
	}
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	pw, err := t.panel.ReadDigits(ictx, ScreenPassword, title+" 商户密码 Merchant password", 12, panel.MaskAll)
	cancel()
	if err != nil {
		return false
	}
	err = t.password.Check(pw)
	var le *merchantpw.LockedError
	switch {
	case err == nil:
		return true
	case errors.Is(err, merchantpw.ErrWrong):
		return refuse(errScreen, "密码错误 Wrong password")
	case errors.As(err, &le):
		return locked(le.Until)
	case errors.Is(err, merchantpw.ErrNotSet):
		return refuse(errScreen, "未设置商户密码 No merchant password is set: call support")
	default:
		t.log.Error("merchant password not checked: refused", "err", err)
		return refuse(errScreen, "不能验证密码 The password cannot be checked: call support")
	}
}

// The pre-authorization menu's entries.
var preAuthEntries = []string{
	"余额查询 Balance inquiry",
	"预授权 Pre-authorization",
	"预授权完成 Completion",
	"预授权撤销 Pre-authorization void",
	"预授权完成撤销 Completion void",
}

// PreAuthMenu is the balance and pre-authorization menu.
func (t *Terminal) PreAuthMenu(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	i, err := t.ui.Choose(ictx, ScreenMenuMore, "余额/预授权 Balance & pre-auth", preAuthEntries)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	switch i {
	case 0:
		_, err = t.Balance(ctx)
	case 1:
		_, err = t.PreAuth(ctx)
	case 2:
		_, err = t.Completion(ctx)
	case 3:
		_, err = t.PreAuthVoid(ctx)
	case 4:
		_, err = t.CompletionVoid(ctx)
	}
	return err
}

// keysRejected reports whether err says the host wants a new sign-on (its
// answer failed the MAC check, or it said so).
func (t *Terminal) keysRejected(err error) bool {
	_, _, action := acquirer.DescribeError(err)
	return action == acquirer.ActionSignOn
}

// signOnAgain signs on afresh for new working keys.
func (t *Terminal) signOnAgain(ctx context.Context) error {
	if err := t.signOnNow(ctx); err != nil {
		t.log.Warn("sign-on again failed", "err", err)
		return err
	}
	t.log.Info("signed on again: the host asked for new keys")
	return nil
}

// signOnNow signs on with a fresh trace number in the open batch.
func (t *Terminal) signOnNow(ctx context.Context) error {
	trace, err := t.journal.NextTrace()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	batch, err := t.journal.Batch()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	defer cancel()
	return t.signOn(ctx, trace, batch)
}
