package terminal

import (
	"errors"
	"fmt"

	"kpos/firmware/journal"
)

// outsideWindow is what the merchant reads when trace was in a settled
// batch the journal's retention has archived and removed ("" when err is
// not that): reprints, voids and completions work only inside the window.
func (t *Terminal) outsideWindow(err error, trace uint64) string {
	if !errors.Is(err, journal.ErrOutsideWindow) {
		return ""
	}
	return fmt.Sprintf("交易已归档 Trace %06d is older than the journal keeps (%d days): archived, not available here",
		trace, t.journal.RetentionDays())
}
