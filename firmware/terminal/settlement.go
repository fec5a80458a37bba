package terminal

import (
	"context"
	"fmt"

	"kpos/firmware/acquirer"
	"kpos/firmware/receipt"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/slip"
)

// WithSettlement lets the terminal settle its batches with h (the acquirer
// client satisfies settle.Host): on demand from the menu, at the binding's
// settlement time, and, after a power cut, at boot.
func WithSettlement(h settle.Host) Option {
	return func(t *Terminal) {
		t.partsMu.Lock()
		defer t.partsMu.Unlock()
		t.settleHost, t.settle = h, nil
	}
}

// settling reports whether a settlement is in progress: no transaction may
// join the batch until it finishes.
func (t *Terminal) settling() bool {
	busy, err := t.journal.Settling()
	return err == nil && busy
}

// PrintReceipt prints the merchant copy of a journaled transaction again,
// marked as a reprint, without any screen (the technician console's
// reprint).
func (t *Terminal) PrintReceipt(ctx context.Context, trace uint32) error {
	x, err := t.journal.Get(trace)
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	if !slip.Printable(x) {
		return fmt.Errorf("terminal: trace %06d is %s %s: no receipt", trace, x.Kind, x.State)
	}
	name, mid, tid := t.identity()
	return t.dev.Printer.Print(ctx, receipt.Build(slip.Reprint(x, name, mid, tid), receipt.MerchantCopy))
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
