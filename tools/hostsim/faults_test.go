package hostsim

import (
	"context"
	"errors"
	"testing"
	"time"

	"kpos/firmware/acquirer"
)

// TestEveryFaultEndsInABranchableError injects each fault into a sale and
// checks what the terminal sees, what the host applied, and that the
// reversal the terminal then sends is recorded and applied at most once.
func TestEveryFaultEndsInABranchableError(t *testing.T) {
	tests := []struct {
		fault     Fault
		wantErr   error // nil: the sale is answered
		processed bool  // the host moved the money before misbehaving
	}{
		{Fault{Kind: FaultDelay, Delay: 100 * time.Millisecond}, nil, true},
		{Fault{Kind: FaultDelay, Delay: 3 * time.Second}, acquirer.ErrNoAnswer, true},
		{Fault{Kind: FaultDrop}, acquirer.ErrNoAnswer, false},
		{Fault{Kind: FaultDropAfter}, acquirer.ErrNoAnswer, true},
		{Fault{Kind: FaultNoAnswer}, acquirer.ErrNoAnswer, true},
		{Fault{Kind: FaultBadMAC}, acquirer.ErrMAC, true},
		{Fault{Kind: FaultGarbage}, acquirer.ErrNoAnswer, true},
		{Fault{Kind: FaultWrongSTAN}, acquirer.ErrMismatch, true},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			r := newRig(t, func(c *acquirer.Config) { c.ReadTimeout = time.Second })
			r.signOn()
			tt.fault.MTI = "0200"
			r.host.InjectFault(tt.fault)
			sale := r.chipSale(4321)
			resp, err := r.client.Do(context.Background(), sale)
			if tt.wantErr == nil {
				if err != nil || !resp.Approved() {
					t.Fatalf("%+v %v", resp, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, acquirer.ErrNoAnswer) || errors.Is(err, acquirer.ErrNotSent) {
				t.Fatalf("err %v, want %v inside ErrNoAnswer", err, tt.wantErr)
			}
			after := r.balance(debitPAN)
			if tt.processed != (after == 1000000-4321) {
				t.Fatalf("balance %d: processed=%v expected", after, tt.processed)
			}
			// Money is in doubt: the terminal reverses, twice to be sure.
			for i := 0; i < 2; i++ {
				rr, err := r.client.Reverse(context.Background(), sale, acquirer.CauseNoAnswer)
				if err != nil || rr.Code != "00" {
					t.Fatalf("reversal %d: %+v %v", i+1, rr, err)
				}
			}
			if got := r.balance(debitPAN); got != 1000000 {
				t.Fatalf("balance after reversal %d", got)
			}
			revs := r.records("reversal")
			applied := 0
			for _, rv := range revs {
				if rv.Applied {
					applied++
				}
			}
			want := 0
			if tt.processed {
				want = 1
			}
			if len(revs) != 2 || applied != want {
				t.Fatalf("reversals %+v: %d applied, want %d", revs, applied, want)
			}
			if tt.processed {
				if a := r.records("authorization"); len(a) != 1 || !a[0].Reversed {
					t.Fatalf("authorization %+v", a)
				}
			} else {
				// The original arrives late (a retransmission in the network):
				// it must not be applied after its reversal.
				resp, err := r.client.Do(context.Background(), sale)
				if err != nil || resp.Approved() || r.balance(debitPAN) != 1000000 {
					t.Fatalf("late original: %+v %v balance %d", resp, err, r.balance(debitPAN))
				}
			}
		})
	}
}

func TestTriggerNinetyNineNeverAnswers(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.ReadTimeout = 300 * time.Millisecond })
	r.signOn()
	sale := r.chipSale(1099)
	if _, err := r.client.Do(context.Background(), sale); !errors.Is(err, acquirer.ErrNoAnswer) {
		t.Fatalf("err %v", err)
	}
	if rr, err := r.client.Reverse(context.Background(), sale, acquirer.CauseNoAnswer); err != nil || rr.Code != "00" {
		t.Fatalf("reversal %+v %v", rr, err)
	}
	if r.balance(debitPAN) != 1000000 {
		t.Fatal("balance moved")
	}
}

func TestStickyFaultAndClear(t *testing.T) {
	r := newRig(t, func(c *acquirer.Config) { c.ReadTimeout = 300 * time.Millisecond })
	r.signOn()
	r.host.InjectFault(Fault{Kind: FaultGarbage, Sticky: true})
	for i := 0; i < 2; i++ {
		if _, err := r.client.Do(context.Background(), r.chipSale(100)); !errors.Is(err, acquirer.ErrNoAnswer) {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if len(r.host.Faults()) != 1 {
		t.Fatal("sticky fault consumed")
	}
	r.host.ClearFaults()
	if resp := r.do(r.chipSale(100)); !resp.Approved() {
		t.Fatalf("%+v", resp)
	}
}

func TestContextDeadlineBoundsTheWait(t *testing.T) {
	r := newRig(t, nil) // ReadTimeout 2 s
	r.signOn()
	r.host.InjectFault(Fault{Kind: FaultNoAnswer})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.client.Do(ctx, r.chipSale(100))
	if !errors.Is(err, acquirer.ErrNoAnswer) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("waited %v past a 200 ms deadline", d)
	}
}
