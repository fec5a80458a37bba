package settle

import (
	"context"
	"fmt"
	"log/slog"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
)

// Advisor is a Host that can send an offline approval's advice (0220).
// When the Host offers it, every transaction of the open batch the card
// approved offline is advised, and acknowledged, before the settlement
// starts: the host books it then, so that the totals agree.
type Advisor interface {
	Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error)
}

// offlineApproval reports whether t is a sale the card approved offline
// (authorization response code Y1 or Y3, EMV Book 4 A6) that counts in
// the batch.
func offlineApproval(t journal.Txn) bool {
	return t.Kind == journal.Sale && t.State == journal.Completed && (t.ResponseCode == "Y1" || t.ResponseCode == "Y3")
}

// sendAdvices advises what is owed before the settlement starts.
func (s *Settler) sendAdvices(ctx context.Context) error {
	a, ok := s.host.(Advisor)
	if !ok {
		return nil
	}
	return SendAdvices(ctx, s.j, a, s.log)
}

// SendAdvices advises the open batch's offline approvals not yet
// acknowledged, oldest first, each under its own trace (the host books a
// repeated advice once). It stops at the first that is not acknowledged,
// which stays owed. The terminal calls it right after an offline approval
// and at its next connection; the settlement calls it before it starts and
// waits for it.
func SendAdvices(ctx context.Context, j *journal.Journal, a Advisor, log *slog.Logger) error {
	batch, err := j.Batch()
	if err != nil {
		return fmt.Errorf("settle: advice: %w", err)
	}
	txns, err := j.List(batch)
	if err != nil {
		return fmt.Errorf("settle: advice: %w", err)
	}
	for _, x := range txns {
		if !offlineApproval(x) || x.Advised {
			continue
		}
		t, err := j.Get(x.Trace) // with its card data
		if err != nil {
			return fmt.Errorf("settle: advice: %w", err)
		}
		req, err := uploadRequest(t)
		if err != nil {
			return err
		}
		req.Kind = acquirer.KindOfflineAdvice
		resp, err := a.Do(ctx, req)
		if err != nil {
			return fmt.Errorf("settle: advice of trace %06d: %w", t.Trace, err)
		}
		if !resp.Approved() {
			return fmt.Errorf("settle: advice of trace %06d: %w", t.Trace, &acquirer.CodeError{Op: "offline advice", Code: resp.Code})
		}
		if _, err := j.Update(t.Trace, func(x *journal.Txn) { x.Advised = true }); err != nil {
			return fmt.Errorf("settle: advice: %w", err)
		}
		log.Info("offline approval advised", "trace", t.Trace)
	}
	return nil
}
