package ui

import (
	"context"
	"errors"
	"testing"
	"time"

	"kpos/hal"
	"kpos/hal/fake"
)

func setup() (*UI, *fake.Display, *fake.Keypad) {
	d, k := fake.NewDisplay(), fake.NewKeypad()
	return New(d, k), d, k
}

func TestEnterAmount(t *testing.T) {
	cases := []struct {
		keys string
		want int64
		err  error
	}{
		{"1234\r", 1234, nil},
		{"\r5\r", 5, nil},            // ENTER on zero is refused
		{"129\b3\r", 123, nil},       // CLEAR drops the last digit
		{"99999999\r", 9999999, nil}, // the eighth 9 would pass the limit
		{"12\x1b", 0, ErrCancelled},
		{"1x2\r", 12, nil}, // unknown keys are ignored
	}
	for _, c := range cases {
		u, _, k := setup()
		k.Type(c.keys)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := u.EnterAmount(ctx, "SALE", 9999999)
		cancel()
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("%q: got %d %v, want %d %v", c.keys, got, err, c.want, c.err)
		}
	}
}

func TestEnterAmountShowsWhatWasTyped(t *testing.T) {
	u, d, k := setup()
	k.Type("1234\r")
	if _, err := u.EnterAmount(context.Background(), "SALE", 100000); err != nil {
		t.Fatal(err)
	}
	h := d.History()
	if last := h[len(h)-1]; last.ID != Amount || last.Lines[1] != "CNY 12.34" {
		t.Fatalf("last amount screen %v", last)
	}
}

func TestEnterAmountHonoursDeadline(t *testing.T) {
	u, _, _ := setup()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := u.EnterAmount(ctx, "SALE", 100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
}

func TestConfirmAndChoose(t *testing.T) {
	u, _, k := setup()
	k.Press('5', hal.KeyEnter)
	if ok, err := u.Confirm(context.Background(), ConfirmAmount, "x"); !ok || err != nil {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	k.Press(hal.KeyCancel)
	if ok, _ := u.Confirm(context.Background(), ConfirmAmount, "x"); ok {
		t.Fatal("CANCEL confirmed")
	}
	k.Press('9', '0', '2')
	if i, err := u.Choose(context.Background(), ChooseApp, "app", []string{"a", "b"}); i != 1 || err != nil {
		t.Fatalf("choose: %d %v", i, err)
	}
}
