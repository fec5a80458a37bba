package settle

import (
	"context"

	"kpos/firmware/journal"
)

// DayEnder is a Host that ends the business day: it signs off (0820,
// network code 002) and signs on again before it next talks to the host.
// When the Host offers it, the terminal ends the day once the batch is
// closed. (A bare acquirer client, which would stay signed off, does not
// offer it.)
type DayEnder interface {
	EndDay(ctx context.Context, trace, batch uint32) error
}

// signOff signs off after cb closed. It is best effort: the batch is
// closed whatever the answer, and a terminal that could not sign off signs
// on again all the same.
func (s *Settler) signOff(ctx context.Context, cb journal.ClosedBatch) {
	so, ok := s.host.(DayEnder)
	if !ok {
		return
	}
	trace, err := s.j.NextTrace()
	if err == nil {
		err = so.EndDay(ctx, trace, cb.Batch)
	}
	if err != nil {
		s.log.Warn("sign-off after the settlement", "batch", cb.Batch, "err", err)
		return
	}
	s.log.Info("signed off", "batch", cb.Batch)
}
