package ui

import (
	"context"
	"errors"
	"strings"
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

// A decimal point makes the digits before it yuan (issue: "12.5" was
// read as CNY 1.25, the point dropped).
func TestEnterAmountDecimalPoint(t *testing.T) {
	cases := []struct {
		keys string
		want int64
		note string // shown on some screen while typing
	}{
		{"12.5\r", 1250, ""},
		{"12.50\r", 1250, ""},
		{"0.05\r", 5, ""},
		{".5\r", 50, ""},
		{"12.\r", 1200, ""},
		{"12.345\r", 1234, NoteDecimals}, // the third decimal is refused
		{"1..2\r", 120, ""},              // a second point is ignored
		{"12.5\b\b3\r", 123, ""},         // CLEAR takes the point back too
		{"99999.9\r", 9999990, ""},
		{"100000.\r", 100000, "Over the limit CNY 99999.99"}, // the point would make 100000 yuan
	}
	for _, c := range cases {
		u, d, k := setup()
		k.Type(c.keys)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := u.EnterAmount(ctx, "SALE", 9999999)
		cancel()
		if err != nil || got != c.want {
			t.Errorf("%q: got %d %v, want %d", c.keys, got, err, c.want)
		}
		if c.note != "" && !shown(d, c.note) {
			t.Errorf("%q: no screen said %q", c.keys, c.note)
		}
	}
}

// One amount, one limit: the limit the caller says binds is the one shown,
// as soon as a key would pass it.
func TestEnterAmountShowsTheBindingLimit(t *testing.T) {
	u, d, k := setup()
	k.Type("6000000\x1b")
	lim := Limit{Max: 5000000, Note: "超过单笔限额 Over the limit per sale CNY 50000.00"}
	if _, err := u.EnterAmountUpTo(context.Background(), "SALE", lim); !errors.Is(err, ErrCancelled) {
		t.Fatal(err)
	}
	if !shown(d, "CNY 6000.00") || !shown(d, lim.Note) {
		t.Fatalf("screens %v", d.History())
	}
	if shown(d, "CNY 60000.00") || shown(d, "99999") {
		t.Fatalf("a second limit or an amount over it shown: %v", d.History())
	}
}

func TestConfirmAsLabelsItsKeys(t *testing.T) {
	u, d, k := setup()
	k.Press(hal.KeyCancel)
	ok, err := u.ConfirmAs(context.Background(), ConfirmAmount, "QR", "支付 Pay", "重新扫码 Rescan", "CNY 1.00")
	if ok || err != nil {
		t.Fatal(ok, err)
	}
	last := d.Current()
	if got := last.Lines[len(last.Lines)-1]; got != "支付 Pay[ENTER] 重新扫码 Rescan[CANCEL]" {
		t.Fatalf("hint %q", got)
	}
	if shown(d, "取消[CANCEL]") {
		t.Fatal("CANCEL labelled twice")
	}
}

func TestChoosePagesOnASmallDisplay(t *testing.T) {
	d, k := fake.NewDisplay(), fake.NewKeypad()
	u := New(d, k).Sized(Size{Columns: 20, Rows: 5})
	opts := []string{"a", "b", "c", "d", "e", "f", "g"}
	k.Press(hal.KeyDown, hal.KeyDown, hal.KeyDown, hal.KeyUp, '7')
	i, err := u.Choose(context.Background(), "menu", "Menu", opts)
	if err != nil || i != 6 {
		t.Fatal(i, err)
	}
	var pages []string
	for _, s := range d.History() {
		if len(s.Lines)+1 > 5 {
			t.Fatalf("page of %d rows on a 5-row display: %v", len(s.Lines)+1, s)
		}
		pages = append(pages, s.Lines[0]+" "+s.Lines[len(s.Lines)-1])
	}
	want := []string{"1. a 1/3 翻页 more [UP][DOWN]", "4. d 2/3 翻页 more [UP][DOWN]",
		"7. g 3/3 翻页 more [UP][DOWN]", "1. a 1/3 翻页 more [UP][DOWN]", "7. g 3/3 翻页 more [UP][DOWN]"}
	if strings.Join(pages, "|") != strings.Join(want, "|") {
		t.Fatalf("pages\n%q\nwant\n%q", pages, want)
	}
	// A list that fits is one page, without a page line.
	k.Press('2')
	u = New(d, k).Sized(Size{Columns: 20, Rows: 8})
	if i, _ := u.Choose(context.Background(), "menu", "Menu", opts[:3]); i != 1 || len(d.Current().Lines) != 3 {
		t.Fatalf("got %d, screen %v", i, d.Current())
	}
}

func TestLayout(t *testing.T) {
	cases := []struct {
		name   string
		screen hal.Screen
		size   Size
		want   []string
	}{
		{"wraps at spaces, pads to the width", hal.Screen{Title: "消费 SALE", Lines: []string{"Insert, tap or swipe the card", "CNY 12.34"}},
			Size{20, 5}, []string{
				"消费 SALE           ",
				"Insert, tap or swipe",
				"the card            ",
				"CNY 12.34           ",
				"                    ",
			}},
		{"Chinese is two columns and wraps anywhere", hal.Screen{Title: "t", Lines: []string{"请顾客在手机上确认付款信息"}},
			Size{10, 4}, []string{
				"t         ",
				"请顾客在手",
				"机上确认付",
				"款信息    ",
			}},
		{"a title too long is shortened", hal.Screen{Title: "退货 REFUND 原参考号或凭证号 Original RRN or trace"},
			Size{20, 2}, []string{
				"退货 REFUND 原参考… ",
				"                    ",
			}},
		{"a list too long: its longest lines one row each", hal.Screen{Title: "Menu", Lines: []string{
			"1. 扫码收款 QR sale: scan the customer's code", "2. 现金 Cash sale", "1/2 more"}},
			Size{20, 4}, []string{
				"Menu                ",
				"1. 扫码收款 QR sale…",
				"2. 现金 Cash sale   ",
				"1/2 more            ",
			}},
		{"too many lines: the keys' line stays", hal.Screen{Title: "T", Lines: []string{"a", "b", "c", "d", "e", "确认[ENTER]"}},
			Size{12, 4}, []string{
				"T           ",
				"a           ",
				"b…          ",
				"确认[ENTER] ",
			}},
	}
	for _, c := range cases {
		got := Layout(c.screen, c.size)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
		for _, r := range got {
			if Width(r) != c.size.Columns {
				t.Errorf("%s: row %q is %d columns wide, not %d", c.name, r, Width(r), c.size.Columns)
			}
		}
	}
}

func shown(d *fake.Display, text string) bool {
	for _, s := range d.History() {
		if strings.Contains(s.String(), text) {
			return true
		}
	}
	return false
}
