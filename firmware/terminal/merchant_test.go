package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/cardwait"
	"kpos/firmware/terminal/menu"
	"kpos/firmware/terminal/settlement"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
	"kpos/hal/fake"
)

// sequenceKernel fails its first Starts with errs, in order, then plays the
// scripted card; it records how each card was presented.
type sequenceKernel struct {
	*scriptedKernel
	errs  []error
	cards []hal.CardInterface
	types []emv.TxnType
}

func (k *sequenceKernel) Start(ctx context.Context, card hal.Card, txn emv.Transaction, ch emv.Cardholder) (emv.FirstResult, emv.Online, error) {
	k.types = append(k.types, txn.Type)
	k.cards = append(k.cards, card.Interface())
	if len(k.errs) > 0 {
		err := k.errs[0]
		k.errs = k.errs[1:]
		return emv.FirstResult{Decision: emv.TryOtherMeans}, nil, err
	}
	return k.scriptedKernel.Start(ctx, card, txn, ch)
}

func (r *rig) run(t *testing.T, f func(context.Context) (Result, error)) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := f(ctx)
	if err != nil {
		t.Logf("ended with %v", err)
	}
	return res
}

func (r *rig) shown(id string) bool {
	for _, s := range r.display.History() {
		if s.ID == id {
			return true
		}
	}
	return false
}

func TestKernelAsksForAnotherWay(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		present   func(r *rig)
		screen    string
		wantEntry acquirer.EntryMode
		wantCards []hal.CardInterface // what the kernel was given, in order
	}{
		{"over the contactless limit: insert", emv.ErrUseContact, func(r *rig) {
			r.reader.Tap(&fake.PlaybackCard{Iface: hal.Contactless})
			r.reader.Tap(&fake.PlaybackCard{Iface: hal.Contactless}) // a second tap is not what was asked
			r.at(cardwait.ScreenInsertCard, func() { r.reader.Insert(&fake.PlaybackCard{}) })
			r.pinpad.EnterPIN("123456")
			r.removeWhenAsked()
		}, cardwait.ScreenInsertCard, acquirer.EntryChip, []hal.CardInterface{hal.Contactless, hal.Contact}},
		{"see phone: tap again", emv.ErrSeePhone, func(r *rig) {
			r.reader.Tap(&fake.PlaybackCard{Iface: hal.Contactless})
			r.reader.Tap(&fake.PlaybackCard{Iface: hal.Contactless})
			r.pinpad.EnterPIN("123456")
		}, cardwait.ScreenSeePhone, acquirer.EntryContactless, []hal.CardInterface{hal.Contactless, hal.Contactless}},
		{"chip unreadable: swipe", emv.ErrFallback, func(r *rig) {
			r.insertAtPrompt()
			r.at(cardwait.ScreenFallback, func() {
				r.reader.Remove()
				r.reader.Swipe(&hal.Track{Track2: []byte("6222021234567890128=30122011234")})
			})
			r.pinpad.EnterPIN("123456")
		}, cardwait.ScreenFallback, acquirer.EntryFallback, []hal.CardInterface{hal.Contact}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			k := &sequenceKernel{scriptedKernel: r.kernel, errs: []error{fmt.Errorf("emv: GPO: %w", c.err)}}
			r.term.kernel = k
			r.keypad.Press('5', '0', '0', '0', '0', '0', hal.KeyEnter, hal.KeyEnter)
			c.present(r)
			res := r.sale(t)
			if res.State != StateApproved {
				t.Fatalf("state %s; screens %v", res.State, r.display.History())
			}
			if !r.shown(c.screen) {
				t.Fatalf("no %s screen: %v", c.screen, r.display.History())
			}
			if len(r.host.requests) != 1 || r.host.requests[0].Entry != c.wantEntry {
				t.Fatalf("requests %+v", r.host.requests)
			}
			if fmt.Sprint(k.cards) != fmt.Sprint(c.wantCards) {
				t.Fatalf("the kernel was given %v, want %v", k.cards, c.wantCards)
			}
		})
	}
}

// approvedSale runs a chip sale of amount and returns its trace.
func approvedSale(t *testing.T, r *rig, amount string) uint32 {
	t.Helper()
	r.chipSaleInput(amount)
	res := r.sale(t)
	if res.State != StateApproved {
		t.Fatalf("sale: %s", res.State)
	}
	return res.Trace
}

func TestVoid(t *testing.T) {
	r := newRig(t)
	orig := approvedSale(t, r, "5000")
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	res := r.run(t, r.term.of(txkind.Void))
	if res.State != StateApproved {
		t.Fatalf("void: %s; screens %v", res.State, r.display.History())
	}
	req := r.host.requests[1]
	if req.Kind != acquirer.KindVoid || req.OrigTrace != orig || req.Amount != 5000 || req.PAN.Digits() != "6222021234567890128" ||
		req.OrigRRN != "000000000042" || req.OrigAuth != "654321" {
		t.Fatalf("void request %+v", req)
	}
	if o, _ := r.j.Get(orig); o.State != journal.Voided {
		t.Fatalf("original %s", o.State)
	}
	if v, _ := r.j.Get(res.Trace); v.State != journal.Completed || v.Kind != journal.Void || v.OrigTrace != orig {
		t.Fatalf("void %+v", v)
	}
	if !strings.Contains(r.printer.Text(), "VOID") {
		t.Fatal("no void receipt")
	}
	// Voided once is enough; an unknown trace is not voided.
	for _, trace := range []string{fmt.Sprint(orig), "999"} {
		r.keypad.Type(trace)
		r.keypad.Press(hal.KeyEnter)
		if res := r.run(t, r.term.of(txkind.Void)); res.State != StateFailed || len(r.host.requests) != 2 {
			t.Fatalf("void of %s: %s, %d requests", trace, res.State, len(r.host.requests))
		}
	}
}

func TestVoidOfCashStaysLocal(t *testing.T) {
	q := newQRRig(t, approve)
	q.keypad.Type("2000")
	q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	cash := q.run(t, q.term.of(txkind.Cash))
	q.keypad.Type(fmt.Sprint(cash.Trace))
	q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	if res := q.run(t, q.term.of(txkind.Void)); res.State != StateApproved {
		t.Fatalf("void: %s", res.State)
	}
	if len(q.host.requests) != 0 {
		t.Fatal("a cash void went to the host")
	}
	if o, _ := q.j.Get(cash.Trace); o.State != journal.Voided {
		t.Fatalf("original %s", o.State)
	}
}

func TestVoidCutByAPowerLossIsFinishedAtBoot(t *testing.T) {
	r := newRig(t)
	orig := approvedSale(t, r, "5000")
	r.term.cfg.Crash = func(point string) {
		if point == "after-approved" {
			panic("power cut")
		}
	}
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	func() {
		defer func() { recover() }()
		r.run(t, r.term.of(txkind.Void))
	}()
	if o, _ := r.j.Get(orig); o.State != journal.Completed {
		t.Fatalf("original %s before the boot", o.State)
	}
	r.term.cfg.Crash = nil
	if err := r.term.Boot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.j.Get(orig); o.State != journal.Voided {
		t.Fatalf("original %s after the boot", o.State)
	}
}

func TestRefundNamesItsOriginal(t *testing.T) {
	cases := []struct {
		name     string
		typed    func(orig uint32) string
		wantDate bool
	}{
		{"by trace", func(orig uint32) string { return fmt.Sprint(orig) }, false},
		{"by RRN and date", func(uint32) string { return "112200000007" }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			orig := approvedSale(t, r, "5000")
			r.keypad.Type(c.typed(orig))
			r.keypad.Press(hal.KeyEnter)
			if c.wantDate {
				r.keypad.Type("1122")
				r.keypad.Press(hal.KeyEnter)
			}
			r.keypad.Type("1200")
			r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
			r.insertAtPrompt()
			r.pinpad.EnterPIN("123456")
			r.removeWhenAsked()
			res := r.run(t, r.term.of(txkind.Refund))
			if res.State != StateApproved {
				t.Fatalf("refund: %s; screens %v", res.State, r.display.History())
			}
			req := r.host.requests[1]
			wantRRN := "000000000042"
			if c.wantDate {
				wantRRN = "112200000007"
			}
			if req.Kind != acquirer.KindRefund || req.Amount != 1200 || req.OrigRRN != wantRRN || len(req.OrigDate) != 4 {
				t.Fatalf("refund request %+v", req)
			}
			if c.wantDate && req.OrigDate != "1122" {
				t.Fatalf("date %q", req.OrigDate)
			}
			if x, _ := r.j.Get(res.Trace); x.Kind != journal.Refund || x.State != journal.Completed {
				t.Fatalf("journal %+v", x)
			}
			if !strings.Contains(r.printer.Text(), "REFUND") {
				t.Fatal("no refund receipt")
			}
		})
	}
}

// A refund above what is left of the original is refused on the amount
// screen, before any card is read or anything sent: the original named by
// its trace or by its RRN, what was refunded of it counted from the journal.
func TestRefundOverWhatIsLeftIsRefusedBeforeTheCard(t *testing.T) {
	r := newRig(t)
	orig := approvedSale(t, r, "5000")
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter)
	r.keypad.Type("3000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
	if res := r.run(t, r.term.of(txkind.Refund)); res.State != StateApproved {
		t.Fatalf("first refund: %s", res.State)
	}
	for _, typed := range []string{fmt.Sprint(orig), "000000000042"} { // its trace, its RRN
		before := len(r.display.History())
		r.keypad.Type(typed)
		r.keypad.Press(hal.KeyEnter)
		if len(typed) > 6 {
			r.keypad.Type("1122")
			r.keypad.Press(hal.KeyEnter)
		}
		r.keypad.Type("3000")
		r.keypad.Press(hal.KeyCancel)
		res := r.run(t, r.term.of(txkind.Refund))
		want := fmt.Sprintf("Over what is left to refund of trace %06d: CNY 20.00", orig)
		if after := fmt.Sprint(r.display.History()[before:]); res.State != StateCancelled || !strings.Contains(after, want) {
			t.Fatalf("refund of 30.00 by %s with 20.00 left: %s, screens %s", typed, res.State, after)
		}
		if len(r.host.requests) != 2 || len(r.pinpad.Prompts()) != 2 {
			t.Fatalf("the refused refund went on: %d requests, %d PIN prompts", len(r.host.requests), len(r.pinpad.Prompts()))
		}
	}
}

func TestBalanceIsShownAndPrintedOnlyWhenAsked(t *testing.T) {
	for _, print := range []bool{false, true} {
		t.Run(fmt.Sprint("print=", print), func(t *testing.T) {
			r := newRig(t)
			k := &sequenceKernel{scriptedKernel: r.kernel}
			r.term.kernel = k
			r.host.resp = acquirer.Response{Code: "00", Balance: 123456}
			r.insertAtPrompt()
			r.pinpad.EnterPIN("123456")
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, _, err := r.display.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == ScreenBalance }); err != nil {
					return
				}
				if print {
					r.keypad.Press(hal.KeyF1)
				} else {
					r.keypad.Press(hal.KeyEnter)
				}
				r.reader.Remove()
			}()
			res := r.run(t, r.term.of(txkind.Balance))
			if res.State != StateApproved || k.types[0] != emv.Balance || r.host.requests[0].Kind != acquirer.KindBalance {
				t.Fatalf("balance: %s %v %+v", res.State, k.types, r.host.requests)
			}
			var shown bool
			for _, s := range r.display.History() {
				shown = shown || (s.ID == ScreenBalance && strings.Contains(s.String(), "CNY 1234.56"))
			}
			if !shown {
				t.Fatalf("balance not shown: %v", r.display.History())
			}
			if printed := strings.Contains(r.printer.Text(), "1234.56"); printed != print {
				t.Fatalf("printed %v, asked %v", printed, print)
			}
		})
	}
}

func TestPreAuthCompletionAndVoid(t *testing.T) {
	r := newRig(t)
	r.keypad.Type("10000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
	pre := r.run(t, r.term.of(txkind.PreAuth))
	if pre.State != StateApproved || r.host.requests[0].Kind != acquirer.KindPreAuth {
		t.Fatalf("pre-auth %s %+v", pre.State, r.host.requests)
	}
	if !strings.Contains(r.printer.Text(), "PREAUTH") {
		t.Fatal("no pre-auth receipt")
	}
	r.keypad.Type(fmt.Sprint(pre.Trace))
	r.keypad.Press(hal.KeyEnter)
	r.keypad.Type("9000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	done := r.run(t, r.term.of(txkind.Completion))
	req := r.host.requests[1]
	if done.State != StateApproved || req.Kind != acquirer.KindPreAuthComplete || req.OrigTrace != pre.Trace || req.Amount != 9000 {
		t.Fatalf("completion %s %+v", done.State, req)
	}
	tot, err := r.j.OpenTotals()
	if err != nil || tot.Sales.Count != 1 || tot.Sales.Amount != 9000 {
		t.Fatalf("the completion counts as a sale: %+v %v", tot.Sales, err)
	}
	// A completed pre-authorization is closed: neither completed again nor voided.
	r.keypad.Type(fmt.Sprint(pre.Trace))
	r.keypad.Press(hal.KeyEnter)
	if res := r.run(t, r.term.of(txkind.PreAuthVoid)); res.State != StateFailed || len(r.host.requests) != 2 {
		t.Fatalf("void of a closed pre-auth: %s", res.State)
	}
}

// fakeSettleHost answers settlements as a test says and records uploads.
type fakeSettleHost struct {
	mu       sync.Mutex
	balanced bool
	err      error
	settles  []acquirer.Settlement
	uploads  []acquirer.Request
}

func (h *fakeSettleHost) Settle(ctx context.Context, s acquirer.Settlement) (acquirer.SettleResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.settles = append(h.settles, s)
	if h.err != nil {
		return acquirer.SettleResult{}, h.err
	}
	recon := acquirer.ReconBalanced
	if !h.balanced {
		recon = acquirer.ReconUnbalanced
	}
	return acquirer.SettleResult{Response: acquirer.Response{Code: "00"}, Balanced: h.balanced,
		DomesticRecon: recon, ForeignRecon: acquirer.ReconBalanced}, nil
}

func (h *fakeSettleHost) UploadBatch(ctx context.Context, items []acquirer.Request) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.uploads = append(h.uploads, items...)
	return nil
}

func TestSettleFromTheMenu(t *testing.T) {
	cases := []struct {
		name     string
		balanced bool
		uploads  int
		screen   string
	}{
		{"balanced", true, 0, "Balanced"},
		{"unbalanced: batch upload", false, 1, "Unbalanced"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			h := &fakeSettleHost{balanced: c.balanced}
			WithSettlement(h)(r.term)
			WithMerchantPassword(testPassword(t, "123456"))(r.term)
			approvedSale(t, r, "5000")
			r.keypad.Press('1')
			r.keypad.Type("123456")
			r.keypad.Press(hal.KeyEnter, hal.KeyEnter, hal.KeyEnter)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := r.term.menus().SettleMenu(ctx); err != nil {
				t.Fatal(err)
			}
			if len(h.settles) != 1 || h.settles[0].Domestic.DebitAmount != 5000 || len(h.uploads) != c.uploads {
				t.Fatalf("settles %+v uploads %d", h.settles, len(h.uploads))
			}
			var shown bool
			for _, s := range r.display.History() {
				shown = shown || (s.ID == settlement.ScreenSettled && strings.Contains(s.String(), c.screen))
			}
			if !shown {
				t.Fatalf("screens %v", r.display.History())
			}
			if batch, _ := r.j.Batch(); batch != 2 {
				t.Fatalf("batch %d after the settlement", batch)
			}
			if !strings.Contains(r.printer.Text(), "SETTLEMENT REPORT") {
				t.Fatal("no report")
			}
		})
	}
}

func TestWrongPasswordRefusesSettlement(t *testing.T) {
	r := newRig(t)
	h := &fakeSettleHost{balanced: true}
	WithSettlement(h)(r.term)
	WithMerchantPassword(testPassword(t, "123456"))(r.term)
	r.keypad.Press('1')
	r.keypad.Type("654321")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.term.menus().SettleMenu(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.settles) != 0 || !r.shown(menu.ScreenWrongPassword) {
		t.Fatalf("settled without the password: %v", r.display.History())
	}
}

func TestUnansweredSettlementBlocksSalesAndResumesAtBoot(t *testing.T) {
	r := newRig(t)
	h := &fakeSettleHost{balanced: true, err: fmt.Errorf("read: %w", acquirer.ErrNoAnswer)}
	WithSettlement(h)(r.term)
	approvedSale(t, r, "5000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.term.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.shown(settlement.ScreenSettleError) {
		t.Fatalf("screens %v", r.display.History())
	}
	r.chipSaleInput("100")
	if res := r.sale(t); res.State != StateRefused {
		t.Fatalf("a sale joined a batch being settled: %s", res.State)
	}
	r.reader.Remove()
	h.err = nil
	if err := r.term.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.settles) != 2 || h.settles[1].Trace != h.settles[0].Trace {
		t.Fatalf("not resumed with the same totals and trace: %+v", h.settles)
	}
	if batch, _ := r.j.Batch(); batch != 2 {
		t.Fatalf("batch %d", batch)
	}
	if closed, err := r.j.ClosedBatches(); err != nil || len(closed) != 1 {
		t.Fatalf("closed batches %d %v", len(closed), err)
	}
}

func TestSettlementAtTheConfiguredTime(t *testing.T) {
	q := newQRRig(t, approve)
	h := &fakeSettleHost{balanced: true}
	WithSettlement(h)(q.term)
	now := time.Date(2026, 11, 22, 22, 59, 0, 0, time.UTC)
	var mu sync.Mutex
	q.term.cfg.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	q.keypad.Type("2000")
	q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	q.run(t, q.term.of(txkind.Cash))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q.term.settleIfDue(ctx)
	if len(h.settles) != 0 {
		t.Fatal("settled before the time")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	q.keypad.Press(hal.KeyEnter)
	q.term.settleIfDue(ctx)
	if len(h.settles) != 1 {
		t.Fatal("not settled at the time")
	}
	q.term.settleIfDue(ctx)
	if len(h.settles) != 1 {
		t.Fatal("settled twice")
	}
}

func TestMerchantPasswordGuardsVoidAndRefund(t *testing.T) {
	for _, entry := range []hal.Key{'6', '7'} {
		r := newRig(t)
		WithMerchantPassword(testPassword(t, "123456"))(r.term)
		approvedSale(t, r, "5000")
		r.keypad.Press(entry)
		r.keypad.Type("000000")
		r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := r.term.Menu(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		cancel()
		if len(r.host.requests) != 1 || !r.shown(menu.ScreenWrongPassword) || r.shown(ScreenOrigTrace) || r.shown(ScreenRefundRRN) {
			t.Fatalf("menu %c ran without the password: %v", entry, r.display.History())
		}
	}
}

func TestDailyLimitSpansSettlementsAndMethods(t *testing.T) {
	q := newQRRig(t, approve)
	h := &fakeSettleHost{balanced: true}
	WithSettlement(h)(q.term)
	// 900.00 by card (limit per day 1500.00), then the batch is settled.
	q.chipSaleInput("90000")
	if res := q.sale(t); res.State != StateApproved {
		t.Fatalf("card sale %s", res.State)
	}
	q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := q.term.Settle(ctx); err != nil || len(h.settles) != 1 {
		t.Fatalf("settle: %v", err)
	}
	// 700.00 by QR would bring the day to 1600.00: the amount screen says
	// what is left at the key that would pass it.
	q.keypad.Type("70000")
	q.keypad.Press(hal.KeyCancel)
	res := q.run(t, q.term.of(txkind.QRSale))
	if res.State != StateCancelled || !shownOn(q.display, ui.Amount, "daily limit CNY 1500.00 (CNY 600.00 left)") {
		t.Fatalf("QR sale over the day's limit: %s %v", res.State, q.display.History())
	}
	if len(q.host.requests) != 1 {
		t.Fatalf("the refused sale reached the host: %d requests", len(q.host.requests))
	}
	// Cash counts against the same limits.
	before := len(q.display.History())
	q.keypad.Type("70000")
	q.keypad.Press(hal.KeyCancel)
	res = q.run(t, q.term.of(txkind.Cash))
	if after := q.display.History()[before:]; res.State != StateCancelled ||
		!strings.Contains(fmt.Sprint(after), "(CNY 600.00 left)") {
		t.Fatalf("cash sale over the day's limit: %s %v", res.State, after)
	}
}

// shownOn reports whether a screen id with text was shown.
func shownOn(d *fake.Display, id, text string) bool {
	for _, s := range d.History() {
		if s.ID == id && strings.Contains(s.String(), text) {
			return true
		}
	}
	return false
}

// TestRuleBookBeforeAnythingIsSent: a sale partly refunded cannot be voided,
// and a refund of more than is left is refused before the card is asked
// for; nothing of either reaches the host.
func TestRuleBookBeforeAnythingIsSent(t *testing.T) {
	r := newRig(t)
	orig := approvedSale(t, r, "3000")
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter)
	r.keypad.Type("1000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
	if res := r.run(t, r.term.of(txkind.Refund)); res.State != StateApproved {
		t.Fatalf("refund: %s", res.State)
	}
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	res := r.run(t, r.term.of(txkind.Void))
	if res.State != StateFailed || len(r.host.requests) != 2 || !strings.Contains(r.display.Current().String(), "partly refunded") {
		t.Fatalf("void after a refund: %s, %d requests, screen %v", res.State, len(r.host.requests), r.display.Current())
	}
	if o, _ := r.j.Get(orig); o.State != journal.Completed {
		t.Fatalf("original %s", o.State)
	}
	r.keypad.Type(fmt.Sprint(orig))
	r.keypad.Press(hal.KeyEnter)
	// 20.01 of the 20.00 left: the key that would pass it is refused on
	// the amount screen, which names what is left; the merchant cancels.
	r.keypad.Type("2001")
	r.keypad.Press(hal.KeyCancel)
	before := len(r.display.History())
	res = r.run(t, r.term.of(txkind.Refund))
	asked, told := false, false
	for _, sc := range r.display.History()[before:] {
		asked = asked || sc.ID == "present-card"
		told = told || strings.Contains(sc.String(), "超过可退金额")
	}
	if res.State != StateCancelled || len(r.host.requests) != 2 || asked || !told {
		t.Fatalf("over-refund: %s, %d requests, card asked for %v, limit shown %v", res.State, len(r.host.requests), asked, told)
	}
}

// TestCompletionVoid: the completion of a pre-authorization voided by its
// trace: the request names the completion, the completion is voided in the
// journal, and the pre-authorization can be completed again.
func TestCompletionVoid(t *testing.T) {
	r := newRig(t)
	r.keypad.Type("10000")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
	pre := r.run(t, r.term.of(txkind.PreAuth))
	complete := func(amount string) Result {
		r.keypad.Type(fmt.Sprint(pre.Trace))
		r.keypad.Press(hal.KeyEnter)
		r.keypad.Type(amount)
		r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
		return r.run(t, r.term.of(txkind.Completion))
	}
	comp := complete("9000")
	if comp.State != StateApproved {
		t.Fatalf("completion %s", comp.State)
	}
	// A void is not for completions.
	r.keypad.Type(fmt.Sprint(comp.Trace))
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	if res := r.run(t, r.term.of(txkind.Void)); res.State != StateFailed || !strings.Contains(r.display.Current().String(), "use completion void") {
		t.Fatalf("void of a completion: %s %v", res.State, r.display.Current())
	}
	r.keypad.Type(fmt.Sprint(comp.Trace))
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	cv := r.run(t, r.term.of(txkind.CompletionVoid))
	if cv.State != StateApproved {
		t.Fatalf("completion void: %s; screens %v", cv.State, r.display.History())
	}
	req := r.host.requests[len(r.host.requests)-1]
	if req.Kind != acquirer.KindCompletionVoid || req.OrigTrace != comp.Trace || req.Amount != 9000 || req.OrigAuth != "654321" {
		t.Fatalf("completion void request %+v", req)
	}
	if c, _ := r.j.Get(comp.Trace); c.State != journal.Voided {
		t.Fatalf("completion %s", c.State)
	}
	if !strings.Contains(r.printer.Text(), "预授权完成撤销 PREAUTH COMPLETE VOID") {
		t.Fatal("no completion void slip")
	}
	if again := complete("8000"); again.State != StateApproved {
		t.Fatalf("completion after the completion void: %s", again.State)
	}
	if tot, _ := r.j.OpenTotals(); tot.Sales.Amount != 8000 || tot.Voids.Amount != 9000 {
		t.Fatalf("totals %+v", tot)
	}
}
