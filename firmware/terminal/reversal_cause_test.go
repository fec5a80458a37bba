package terminal

import (
	"fmt"
	"testing"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
)

// TestReversalCauses: the terminal hands the acquirer a typed cause for each
// kind of failure, whatever the error's words, and a reversal keeps the
// original's PIN indication (field 22).
func TestReversalCauses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *rig)
		want  acquirer.ReversalCause
	}{
		{"no answer", func(r *rig) { r.host.err = fmt.Errorf("read: %w", acquirer.ErrNoAnswer) }, acquirer.CauseNoAnswer},
		{"answer failing its MAC", func(r *rig) {
			r.host.err = fmt.Errorf("%w: %w", acquirer.ErrNoAnswer, acquirer.ErrMAC)
		}, acquirer.CauseBadMAC},
		{"card declined after approval", func(r *rig) {
			r.kernel.final = emv.FinalResult{Decision: emv.Declined, Reverse: true}
		}, acquirer.CauseCardDeclined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			tt.setup(r)
			r.chipSaleInput("1000")
			r.sale(t)
			if len(r.host.causes) != 1 || r.host.causes[0] != tt.want {
				t.Fatalf("causes %v, want %v", r.host.causes, tt.want)
			}
			orig, rev := r.host.requests[0], r.host.reversals[0]
			if orig.PIN == nil {
				t.Fatal("the sale carried no PIN: nothing to keep")
			}
			if (orig.PIN != nil) != rev.PINEntered || rev.PIN != nil {
				t.Fatalf("original PIN %t, reversal PIN entered %t", orig.PIN != nil, rev.PINEntered)
			}
		})
	}
}
