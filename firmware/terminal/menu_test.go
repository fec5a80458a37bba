package terminal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/hal"
)

func TestUnbindFromTheMenu(t *testing.T) {
	cases := []struct {
		name      string
		password  func(string) bool
		typed     string
		reversal  bool // a reversal is owed and the host does not take it
		want      binding.State
		wantShown string
	}{
		{name: "right password", password: func(pw string) bool { return pw == "123456" }, typed: "123456", want: binding.StateBlank, wantShown: ScreenUnbound},
		{name: "wrong password", password: func(pw string) bool { return pw == "123456" }, typed: "999999", want: binding.StateBound, wantShown: ScreenBindError},
		{name: "no password set", typed: "", want: binding.StateBound, wantShown: ScreenBindError},
		{name: "reversal owed", password: func(string) bool { return true }, typed: "1", reversal: true, want: binding.StateBound, wantShown: ScreenBindError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, approve)
			q.term.password = c.password
			if c.reversal {
				trace, _ := q.j.NextTrace()
				if err := q.j.Begin(journal.Txn{Trace: trace, Batch: 1, Kind: journal.Sale, Method: journal.QR, Amount: 100}); err != nil {
					t.Fatal(err)
				}
				if err := q.j.QueueReversal(trace, "test"); err != nil {
					t.Fatal(err)
				}
				q.term.host = &failingReversals{q.host}
			}
			q.keypad.Press(hal.Key('5'), hal.Key('3'))
			q.keypad.Type(c.typed)
			q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := q.term.Menu(ctx); err != nil {
				t.Fatal(err)
			}
			if q.bind.State() != c.want || !q.shown(c.wantShown) {
				t.Fatalf("binding %s, want %s; screens %v", q.bind.State(), c.want, q.display.History())
			}
		})
	}
}

// failingReversals is a host that takes no reversal.
type failingReversals struct{ *scriptHost }

func (failingReversals) Reverse(ctx context.Context, req acquirer.Request, reason string) (acquirer.Response, error) {
	return acquirer.Response{}, fmt.Errorf("%w: link down", acquirer.ErrNotSent)
}
