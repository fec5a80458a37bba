// Package settlement is the terminal's side of settling a batch: the
// merchant's settlement from the menu (totals shown and confirmed), the
// settlement at the binding's settlement time, the technician's from the
// console, and at boot the one a power cut interrupted. Each sends the
// reversals owed first, signs on again once if the host no longer knows the
// working keys, and shows how it ended. The exchange with the host, the
// batch upload and the report are firmware/settle's (docs/settlement.md).
//
// It reaches the terminal through Counter, and reads the binding's
// settlement account, fees and settlement time through Binding (Bound). It
// knows nothing of the terminal's sale tables, menus or binding screens.
package settlement

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of settlement.
const (
	ScreenSettleConfirm = "settle-confirm" // the open batch's totals: settle?
	ScreenSettling      = "settling"       // the settlement runs
	ScreenSettled       = "settled"        // the batch is closed
	ScreenSettleError   = "settle-error"   // the settlement stopped; it continues later
)

// Counter is what settlement asks of the terminal.
type Counter interface {
	// FlushReversals sends the reversals owed; an error leaves them owed.
	FlushReversals(ctx context.Context) error
	// RenewKeys signs on again when err says the host no longer knows the
	// working keys, and reports whether it did.
	RenewKeys(ctx context.Context, err error) bool
	// Idle shows the idle screen.
	Idle(ctx context.Context) error
	// Merchant is who the terminal is now.
	Merchant() Merchant
}

// Merchant is who settles: the identity printed on the report, the masked
// settlement account, the binding's fees and settlement time.
type Merchant struct {
	Name, MID, TID string
	Account        string                                  // masked; "" none
	Fees           func(method string, amount int64) int64 // nil: no fees
	// NextSettlement is the binding's next settlement time after now;
	// nil when the terminal has no settlement time.
	NextSettlement func(now time.Time) (time.Time, error)
}

// ErrCannotSettle reports a terminal without a settlement link.
var ErrCannotSettle = errors.New("terminal: this terminal cannot settle")

// Config is how long settlement waits and what it reads the time from.
type Config struct {
	HostTimeout  time.Duration // one exchange with the host
	InputTimeout time.Duration // a screen waiting for the merchant
	Now          func() time.Time
	Logger       *slog.Logger
	// ReversalsPending is what Counter.FlushReversals's error wraps when
	// the reversals stay owed (terminal.ErrReversalsPending).
	ReversalsPending error
}

// Settlement settles one terminal's batches.
type Settlement struct {
	cfg  Config
	c    Counter
	host settle.Host // nil: the terminal does not settle
	j    *journal.Journal
	p    *panel.Panel
	log  *slog.Logger
	next time.Time // the binding's next settlement time
}

// New returns the settlement of the terminal c, with host (nil: the
// terminal cannot settle).
func New(cfg Config, c Counter, host settle.Host, j *journal.Journal, p *panel.Panel) *Settlement {
	return &Settlement{cfg: cfg, c: c, host: host, j: j, p: p, log: cfg.Logger}
}

// settler returns a settler with the terminal's current identity, the
// binding's fees and the masked settlement account; nil without a host.
func (s *Settlement) settler() *settle.Settler {
	if s.host == nil {
		return nil
	}
	m := s.c.Merchant()
	cfg := settle.Config{MerchantName: m.Name, MerchantID: m.MID, TerminalID: m.TID, Currency: "CNY",
		Width: receipt.NarrowColumns, Logger: s.log.With("component", "settle"), Account: m.Account, Fees: m.Fees}
	return settle.New(cfg, s.j, s.host, s.p.Printer)
}

// Resume continues a settlement a power cut interrupted (and prints a
// closed batch's report that never came out). Boot calls it after the
// reversals and before anything else.
func (s *Settlement) Resume(ctx context.Context) error {
	st := s.settler()
	if st == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	r, resumed, err := st.Resume(ctx)
	if !resumed {
		return err
	}
	if err != nil && !errors.Is(err, settle.ErrNotPrinted) {
		s.log.Warn("interrupted settlement not finished yet", "err", err)
		return fmt.Errorf("terminal: settlement: %w", err)
	}
	s.log.Info("interrupted settlement finished", "batch", r.Batch.Batch, "balanced", r.Batch.Balanced)
	return nil
}

// timeout bounds a whole settlement: the totals, an upload of the batch,
// the end of the upload.
func (s *Settlement) timeout() time.Duration { return 10 * s.cfg.HostTimeout }

// Settle settles the open batch on the merchant's demand: the totals are
// shown and confirmed, the reversals owed go first, then the settlement
// runs and its report is printed.
func (s *Settlement) Settle(ctx context.Context) error {
	st := s.settler()
	if st == nil {
		_ = s.p.UI.Show(ctx, ScreenSettleError, "结算 Settlement", "本机不能结算 This terminal cannot settle: call support")
		s.p.AnyKey(ctx, s.cfg.InputTimeout)
		return nil
	}
	if busy, err := s.j.Settling(); err != nil || !busy {
		batch, err := s.j.Batch()
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		tot, err := s.j.OpenTotals()
		if err != nil {
			return fmt.Errorf("terminal: %w", err)
		}
		ictx, cancel := context.WithTimeout(ctx, s.cfg.InputTimeout)
		ok, err := s.p.UI.Confirm(ictx, ScreenSettleConfirm, "结算 Settlement", fmt.Sprintf("批次 Batch %06d", batch),
			fmt.Sprintf("消费 Sales %d %s", tot.Sales.Count, ui.Money(tot.Sales.Amount)),
			fmt.Sprintf("退货 Refunds %d %s", tot.Refunds.Count, ui.Money(tot.Refunds.Amount)),
			fmt.Sprintf("撤销 Voids %d %s", tot.Voids.Count, ui.Money(tot.Voids.Amount)))
		cancel()
		if err != nil || !ok {
			return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
		}
	}
	return s.run(ctx, st)
}

// run sends the reversals owed, then settles, and shows how it ended.
func (s *Settlement) run(ctx context.Context, st *settle.Settler) error {
	_ = s.p.UI.Show(ctx, ScreenSettling, "结算中 Settling", "连接银行 Contacting the bank", "请勿关机 Do not switch off")
	r, err := s.once(ctx, st)
	if s.cfg.ReversalsPending != nil && errors.Is(err, s.cfg.ReversalsPending) {
		s.log.Warn("settlement waits for the reversals", "err", err)
		_ = s.p.UI.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "冲正未完成 Reversals pending: check the network, then settle again")
		s.p.AnyKey(ctx, s.cfg.InputTimeout)
		return nil
	}
	switch {
	case err == nil || errors.Is(err, settle.ErrNotPrinted):
		s.showSettled(ctx, r, err)
		return nil
	case errors.Is(err, journal.ErrUnresolved):
		_ = s.p.UI.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "有未完成交易 Transactions in doubt: they are reversed first; settle again")
	default:
		s.log.Warn("settlement stopped", "err", err)
		_ = s.p.UI.Show(ctx, ScreenSettleError, "结算未完成 Not settled", "银行无应答 No answer from the bank",
			"结算将自动继续 The settlement continues when the bank answers; no sale until then")
	}
	_ = s.p.Indicator.Signal(ctx, hal.SignalAttention)
	s.p.AnyKey(ctx, s.cfg.InputTimeout)
	return nil
}

// once sends the reversals owed, then runs the settlement, signing on
// again once when the host no longer knows the working keys.
func (s *Settlement) once(ctx context.Context, st *settle.Settler) (settle.Report, error) {
	if err := s.c.FlushReversals(ctx); err != nil {
		return settle.Report{}, err
	}
	sctx, cancel := context.WithTimeout(ctx, s.timeout())
	r, err := st.Run(sctx)
	cancel()
	if err != nil && s.c.RenewKeys(ctx, err) {
		// The host no longer knows the working keys (restarted, failed
		// over): signed on again, the settlement continues where it was.
		sctx, cancel := context.WithTimeout(ctx, s.timeout())
		r, err = st.Run(sctx)
		cancel()
	}
	return r, err
}

// Now settles the open batch without asking anyone, for the technician
// console: reversals first, then the settlement, the report printed. The
// counter's display shows that it is settling.
func (s *Settlement) Now(ctx context.Context) (settle.Report, error) {
	st := s.settler()
	if st == nil {
		return settle.Report{}, ErrCannotSettle
	}
	_ = s.p.UI.Show(ctx, ScreenSettling, "结算中 Settling", "维护终端发起 Started from the console", "请勿关机 Do not switch off")
	r, err := s.once(ctx, st)
	if err == nil || errors.Is(err, settle.ErrNotPrinted) {
		_ = s.c.Idle(ctx)
	}
	return r, err
}

// showSettled shows a closed batch's figures.
func (s *Settlement) showSettled(ctx context.Context, r settle.Report, err error) {
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
	_ = s.p.Indicator.Signal(ctx, hal.SignalApproved)
	_ = s.p.UI.Show(ctx, ScreenSettled, "结算完成 Settled", lines...)
	s.p.AnyKey(ctx, s.cfg.InputTimeout)
}

// IfDue settles at the binding's settlement time: when the time passed
// since the terminal last looked, and the batch holds anything.
func (s *Settlement) IfDue(ctx context.Context) {
	if s.host == nil {
		return
	}
	next := s.c.Merchant().NextSettlement
	if next == nil {
		return
	}
	now := s.cfg.Now()
	var err error
	if s.next.IsZero() {
		if s.next, err = next(now); err != nil {
			return
		}
	}
	if now.Before(s.next) {
		return
	}
	if s.next, err = next(now); err != nil {
		return
	}
	tot, err := s.j.OpenTotals()
	if err != nil || (tot.Sales.Count == 0 && tot.Refunds.Count == 0 && tot.Voids.Count == 0) {
		return
	}
	s.log.Info("settlement time")
	if err := s.run(ctx, s.settler()); err != nil {
		s.log.Warn("scheduled settlement", "err", err)
	}
}

// CanSettle reports whether the terminal has a settlement link.
func (s *Settlement) CanSettle() bool { return s.host != nil }

// Reprint prints the last settlement report again: ErrCannotSettle
// without a settlement link, settle.ErrNothingToReprint before the first.
func (s *Settlement) Reprint(ctx context.Context) error {
	st := s.settler()
	if st == nil {
		return ErrCannotSettle
	}
	_, err := st.Reprint(ctx)
	return err
}
