package terminal

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/menu"
	"kpos/hal"
)

func TestUnbindFromTheMenu(t *testing.T) {
	cases := []struct {
		name      string
		password  string // "" for none
		typed     string
		reversal  bool // a reversal is owed and the host does not take it
		want      binding.State
		wantShown string
	}{
		{name: "right password", password: "123456", typed: "123456", want: binding.StateBlank, wantShown: menu.ScreenUnbound},
		{name: "wrong password", password: "123456", typed: "999999", want: binding.StateBound, wantShown: bindflow.ScreenBindError},
		{name: "no password set", typed: "", want: binding.StateBound, wantShown: bindflow.ScreenBindError},
		{name: "reversal owed", password: "1", typed: "1", reversal: true, want: binding.StateBound, wantShown: bindflow.ScreenBindError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, approve)
			if c.password != "" {
				q.term.password = testPassword(t, c.password)
			}
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

func (failingReversals) Reverse(ctx context.Context, req acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error) {
	return acquirer.Response{}, fmt.Errorf("%w: link down", acquirer.ErrNotSent)
}

func TestSettlementAccount(t *testing.T) {
	cases := []struct {
		name   string
		typed  string
		swipe  string
		want   string // the screen that ends it
		masked string
	}{
		{name: "typed", typed: "6222021234567890128", want: menu.ScreenAccount, masked: "622202*********0128"},
		{name: "typo", typed: "6222021234567890129", want: bindflow.ScreenBindError},
		{name: "swiped", swipe: "6222021234567890128=30122011234", want: menu.ScreenAccount, masked: "622202*********0128"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, approve)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- q.term.menus().SettlementAccount(ctx) }()
			_, at, err := q.display.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == menu.ScreenAccount })
			if err != nil {
				t.Fatal(err)
			}
			if c.swipe != "" {
				q.reader.Swipe(&hal.Track{Track2: []byte(c.swipe)})
			} else {
				q.keypad.Press(hal.KeyEnter)
				q.keypad.Type(c.typed)
				q.keypad.Press(hal.KeyEnter)
			}
			if _, _, err := q.display.WaitFor(ctx, at, func(s hal.Screen) bool { return s.ID == c.want }); err != nil {
				t.Fatal(err)
			}
			q.keypad.Press(hal.KeyEnter) // leave the result screen
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			last := q.display.History()
			end := last[len(last)-1]
			if end.ID != c.want || (c.masked != "" && !strings.Contains(fmt.Sprint(end.Lines), c.masked)) {
				t.Fatalf("ended on %v", end)
			}
			for _, s := range last {
				if strings.Contains(s.String(), "6222021234567890128") {
					t.Fatalf("a screen shows the card number: %v", s)
				}
			}
		})
	}
}
