package terminal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/journal"
	"kpos/firmware/terminal/cardwait"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
	"kpos/hal/fake"
)

// scriptedKernel plays the card side of a transaction as a test describes it.
type scriptedKernel struct {
	first    emv.FirstResult
	startErr error
	final    emv.FinalResult
	askPIN   bool
	gotHost  *emv.HostResponse
	starts   int
	probe    bool // talk to the card first, as a kernel does: a pulled card fails
}

func (k *scriptedKernel) Start(ctx context.Context, card hal.Card, txn emv.Transaction, ch emv.Cardholder) (emv.FirstResult, emv.Online, error) {
	k.starts++
	if k.probe {
		if _, err := card.Transmit(ctx, []byte{0x00, 0xA4, 0x04, 0x00}); errors.Is(err, hal.ErrCardRemoved) {
			return emv.FirstResult{}, nil, err
		}
	}
	if k.startErr != nil {
		return emv.FirstResult{}, nil, k.startErr
	}
	f := k.first
	if k.askPIN {
		pb, err := ch.OnlinePIN(ctx, f.Card.PAN)
		if err != nil {
			return f, nil, err
		}
		f.PINBlock, f.CVM = &pb, emv.CVMOnlinePIN
	}
	if f.Decision != emv.GoOnline {
		return f, nil, nil
	}
	return f, k, nil
}

func (k *scriptedKernel) Complete(ctx context.Context, resp emv.HostResponse) (emv.FinalResult, error) {
	k.gotHost = &resp
	return k.final, nil
}

// recordingHost answers with what the test sets and records what it got.
type recordingHost struct {
	mu        sync.Mutex
	resp      acquirer.Response
	err       error
	requests  []acquirer.Request
	reversals []acquirer.Request
	revErr    error
	signOns   int
	causes    []acquirer.ReversalCause
}

func (h *recordingHost) SignOn(ctx context.Context, trace, batch uint32) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.signOns++
	return nil
}

func (h *recordingHost) Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	return h.resp, h.err
}

func (h *recordingHost) Reverse(ctx context.Context, req acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.revErr != nil {
		return acquirer.Response{}, h.revErr
	}
	h.reversals = append(h.reversals, req)
	h.causes = append(h.causes, cause)
	return acquirer.Response{Code: "00"}, nil
}

// xorCipher stands in for a PIN key: enough to prove the block is encrypted.
type xorCipher struct{}

func (xorCipher) EncryptPINBlock(clear []byte) ([]byte, error) {
	out := make([]byte, len(clear))
	for i, b := range clear {
		out[i] = b ^ 0xA5
	}
	return out, nil
}
func (xorCipher) KeySerial() []byte { return nil }

type pinKeys struct{}

func (pinKeys) PINCipher() hal.PINCipher { return xorCipher{} }

// of is the way into a transaction of kind k, as the menus start one.
func (t *Terminal) of(k *txkind.Kind) func(context.Context) (Result, error) {
	return func(ctx context.Context) (Result, error) { return t.run(ctx, k) }
}

type rig struct {
	term    *Terminal
	j       *journal.Journal
	reader  *fake.CardReader
	keypad  *fake.Keypad
	pinpad  *fake.PINPad
	printer *fake.Printer
	display *fake.Display
	host    *recordingHost
	kernel  *scriptedKernel
	path    string
}

var sealKey = bytes.Repeat([]byte{7}, 32) // TEST ONLY

func newRig(t *testing.T) *rig {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(path, sealKey, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	r := &rig{j: j, reader: fake.NewCardReader(), keypad: fake.NewKeypad(), pinpad: fake.NewPINPad(),
		printer: fake.NewPrinter(), display: fake.NewDisplay(), host: &recordingHost{resp: acquirer.Response{Code: "00", AuthCode: "654321", RRN: "000000000042"}},
		path: path}
	pan := hal.MustPAN("6222021234567890128")
	r.kernel = &scriptedKernel{
		askPIN: true,
		first: emv.FirstResult{Decision: emv.GoOnline, Card: emv.CardData{PAN: pan, Expiry: "3012", PANSequence: "01",
			AID: []byte{0xA0, 0, 0, 0x03, 0x33, 0x01, 0x01, 0x01}, Label: "UnionPay Debit", Track2: []byte("6222021234567890128=3012"), Interface: hal.Contact},
			ICCData: []byte{0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, Cryptogram: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		final: emv.FinalResult{Decision: emv.Approved, Cryptogram: []byte{0xAA, 0xBB, 0xCC, 0xDD, 1, 2, 3, 4}},
	}
	r.term = New(Config{MerchantName: "测试商户", MerchantID: "898320154110001", TerminalID: "12345678",
		CardTimeout: time.Second, InputTimeout: time.Second, RemoveTimeout: time.Second, HostTimeout: time.Second, TearOffTimeout: 10 * time.Millisecond},
		Devices{Reader: r.reader, PINPad: r.pinpad, Printer: r.printer, Display: r.display, Keypad: r.keypad, Indicator: &fake.Indicator{}},
		r.kernel, r.host, pinKeys{}, j)
	return r
}

func (r *rig) sale(t *testing.T) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, _ := r.term.Sale(ctx)
	return res
}

func (r *rig) chipSaleInput(amount string) {
	r.keypad.Type(amount)
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
}

// at does what a customer does once the screen id appears (after those
// shown so far): a card is presented when the terminal asks for it, not
// before (a card in the slot before the prompt is not read).
func (r *rig) at(id string, do func()) {
	from := len(r.display.History())
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, _, err := r.display.WaitFor(ctx, from, func(s hal.Screen) bool { return s.ID == id }); err == nil {
			do()
		}
	}()
}

// insertAtPrompt inserts a card when the sale asks for one.
func (r *rig) insertAtPrompt() {
	r.at(ui.PresentCard, func() { r.reader.Insert(&fake.PlaybackCard{}) })
}

// removeWhenAsked takes the card out when the terminal asks for it back.
func (r *rig) removeWhenAsked() { r.at(ui.RemoveCard, r.reader.Remove) }

func TestChipSaleApproved(t *testing.T) {
	r := newRig(t)
	r.chipSaleInput("1234")
	res := r.sale(t)
	if res.State != StateApproved {
		t.Fatalf("state %s; screens %v", res.State, r.display.History())
	}
	req := r.host.requests[0]
	if req.Amount != 1234 || req.PIN == nil || req.Trace != res.Trace || len(req.ICCData) == 0 {
		t.Fatalf("authorization request %+v", req)
	}
	if bytes.Contains(req.PIN.Block, []byte("123456")) {
		t.Fatal("PIN block carries the PIN in the clear")
	}
	if !r.kernel.gotHost.Approved || !r.kernel.gotHost.Answered {
		t.Fatalf("kernel told %+v", r.kernel.gotHost)
	}
	tx, _ := r.j.Get(res.Trace)
	if tx.State != journal.Completed || !tx.Printed || tx.AuthCode != "654321" || tx.TC != "AABBCCDD01020304" {
		t.Fatalf("journal %+v", tx)
	}
	text := r.printer.Text()
	for _, want := range []string{"622202*********0128", "CNY 12.34", "654321", "000000000042", "AABBCCDD01020304", "商户存根", "持卡人存根"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q", want)
		}
	}
	if strings.Contains(text, "6222021234567890128") {
		t.Fatal("receipt shows the full PAN")
	}
	if r.display.Current().ID != ui.Approved {
		t.Fatalf("final screen %v", r.display.Current())
	}
}

func TestHostDeclineEndsDeclinedWithReason(t *testing.T) {
	r := newRig(t)
	r.host.resp = acquirer.Response{Code: "51"}
	r.kernel.final = emv.FinalResult{Decision: emv.Declined}
	r.chipSaleInput("5151")
	res := r.sale(t)
	if res.State != StateDeclined || !strings.Contains(r.display.Current().String(), "Insufficient funds") {
		t.Fatalf("state %s screen %v", res.State, r.display.Current())
	}
	if tx, _ := r.j.Get(res.Trace); tx.State != journal.Declined {
		t.Fatalf("journal %s", tx.State)
	}
	if len(r.printer.Documents()) != 0 {
		t.Fatal("a declined sale printed a receipt")
	}
}

func TestNoAnswerIsReversedAtOnce(t *testing.T) {
	r := newRig(t)
	r.host.err = fmt.Errorf("read: %w", acquirer.ErrNoAnswer)
	r.chipSaleInput("1000")
	res := r.sale(t)
	if res.State != StateDeclined {
		t.Fatalf("state %s", res.State)
	}
	if len(r.host.reversals) != 1 || r.host.reversals[0].Trace != res.Trace || r.host.reversals[0].PAN.Digits() != "6222021234567890128" {
		t.Fatalf("reversals %+v", r.host.reversals)
	}
	if tx, _ := r.j.Get(res.Trace); tx.State != journal.Reversed {
		t.Fatalf("journal %s", tx.State)
	}
}

func TestNotSentNeedsNoReversal(t *testing.T) {
	r := newRig(t)
	r.host.err = fmt.Errorf("dial: %w", acquirer.ErrNotSent)
	r.chipSaleInput("1000")
	res := r.sale(t)
	if res.State != StateFailed || len(r.host.reversals) != 0 {
		t.Fatalf("state %s reversals %d", res.State, len(r.host.reversals))
	}
	if !strings.Contains(r.display.Current().String(), "check the network") {
		t.Fatalf("screen %v", r.display.Current())
	}
}

func TestCardDeclinesAfterApprovalIsReversed(t *testing.T) {
	r := newRig(t)
	r.kernel.final = emv.FinalResult{Decision: emv.Declined, Reverse: true}
	r.chipSaleInput("2000")
	res := r.sale(t)
	if res.State != StateDeclined || len(r.host.reversals) != 1 {
		t.Fatalf("state %s reversals %d", res.State, len(r.host.reversals))
	}
}

func TestUnsentReversalBlocksTheNextSale(t *testing.T) {
	r := newRig(t)
	r.host.err = fmt.Errorf("%w", acquirer.ErrNoAnswer)
	r.host.revErr = fmt.Errorf("%w", acquirer.ErrNotSent)
	r.chipSaleInput("1000")
	first := r.sale(t)
	if tx, _ := r.j.Get(first.Trace); tx.State != journal.ReversalPending {
		t.Fatalf("journal %s", tx.State)
	}
	r.host.err, r.host.revErr = nil, nil
	r.host.revErr = errors.New("still down")
	r.chipSaleInput("1000")
	second := r.sale(t)
	if second.State != StateFailed || len(r.host.requests) != 1 {
		t.Fatalf("a new sale went out with a reversal owed: state %s requests %d", second.State, len(r.host.requests))
	}
	r.host.revErr = nil
	r.chipSaleInput("1000")
	third := r.sale(t)
	if third.State != StateApproved || len(r.host.reversals) != 1 || r.host.reversals[0].Trace != first.Trace {
		t.Fatalf("state %s reversals %+v", third.State, r.host.reversals)
	}
}

func TestCancelAtEachInput(t *testing.T) {
	cases := []struct {
		name  string
		input func(r *rig)
	}{
		{"amount", func(r *rig) { r.keypad.Press('1', hal.KeyCancel) }},
		{"confirm", func(r *rig) { r.keypad.Press('1', hal.KeyEnter, hal.KeyCancel) }},
		{"card", func(r *rig) { r.keypad.Press('1', hal.KeyEnter, hal.KeyEnter, hal.KeyCancel) }},
		{"pin", func(r *rig) {
			r.keypad.Press('1', hal.KeyEnter, hal.KeyEnter)
			r.insertAtPrompt()
			r.pinpad.Enter(fake.PINEntry{Err: hal.ErrPINCancelled})
			r.removeWhenAsked()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			c.input(r)
			if res := r.sale(t); res.State != StateCancelled {
				t.Fatalf("state %s", res.State)
			}
			if len(r.host.requests) != 0 {
				t.Fatal("a cancelled sale reached the host")
			}
		})
	}
}

func TestBootReversesWhatAPowerCutLeft(t *testing.T) {
	r := newRig(t)
	r.term.cfg.Crash = func(point string) {
		if point == "after-host-answer" {
			panic("power cut")
		}
	}
	r.chipSaleInput("4200")
	func() {
		defer func() { recover() }()
		r.sale(t)
	}()
	if len(r.host.requests) != 1 {
		t.Fatalf("requests %d", len(r.host.requests))
	}
	r.term.cfg.Crash = nil
	if err := r.term.Boot(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(r.host.reversals) != 1 || r.host.reversals[0].Trace != r.host.requests[0].Trace || r.host.reversals[0].Amount != 4200 {
		t.Fatalf("reversals %+v", r.host.reversals)
	}
	if r.host.signOns != 1 {
		t.Fatal("no sign-on after the reversals")
	}
}

func TestSwipeOfAChipCardAsksForTheChip(t *testing.T) {
	r := newRig(t)
	r.keypad.Press('1', hal.KeyEnter, hal.KeyEnter)
	r.reader.Swipe(&hal.Track{Track2: []byte("6222021234567890128=30122011234")})
	r.reader.Swipe(&hal.Track{Track2: []byte("6222021234567890128=30122011234")}) // swiped again: not what was asked
	r.at(cardwait.ScreenInsertCard, func() { r.reader.Insert(&fake.PlaybackCard{}) })
	r.pinpad.EnterPIN("123456")
	r.removeWhenAsked()
	res := r.sale(t)
	if res.State != StateApproved || len(r.host.requests) != 1 || r.host.requests[0].Entry != acquirer.EntryChip {
		t.Fatalf("state %s requests %+v", res.State, r.host.requests)
	}
	asked := false
	for _, s := range r.display.History() {
		asked = asked || s.ID == cardwait.ScreenInsertCard && strings.Contains(s.String(), "has a chip")
	}
	if !asked {
		t.Fatalf("the chip was never asked for: %v", r.display.History())
	}
}

func TestStripeSaleApproved(t *testing.T) {
	r := newRig(t)
	r.keypad.Press('9', '9', hal.KeyEnter, hal.KeyEnter)
	r.reader.Swipe(&hal.Track{Track2: []byte("6225880000111122224=28121011234")})
	r.pinpad.EnterPIN("222222")
	res := r.sale(t)
	if res.State != StateApproved || r.host.requests[0].Entry != acquirer.EntryStripe {
		t.Fatalf("state %s", res.State)
	}
}

func TestTransitionTableIsClosed(t *testing.T) {
	for from, evs := range transitions {
		if steps[from] == nil {
			t.Errorf("state %s has transitions but no step", from)
		}
		for ev, to := range evs {
			if !final(to) && transitions[to] == nil {
				t.Errorf("%s --%s--> %s: a dead end", from, ev, to)
			}
		}
	}
}

func TestCardPulledAtThePINPromptStopsTheSaleAtOnce(t *testing.T) {
	r := newRig(t)
	r.term.cfg.InputTimeout = 30 * time.Second // a PIN timeout must not be what ends it
	r.keypad.Press('5', hal.KeyEnter, hal.KeyEnter)
	r.insertAtPrompt()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r.display.WaitFor(ctx, 0, func(s hal.Screen) bool { return s.ID == ui.EnterPIN })
		r.reader.Remove()
	}()
	start := time.Now()
	res := r.sale(t)
	if res.State != StateCancelled || time.Since(start) > 3*time.Second {
		t.Fatalf("state %s after %v", res.State, time.Since(start))
	}
	if !strings.Contains(r.display.Current().String(), "Card removed") || len(r.host.requests) != 0 {
		t.Fatalf("screen %v, %d requests", r.display.Current(), len(r.host.requests))
	}
	// The card is gone: the sale ends on "card removed", and never asks
	// for the card to be removed again.
	if cur := r.display.Current(); cur.ID != ui.Cancelled {
		t.Fatalf("the sale ended on %v, not the cancelled screen", cur)
	}
	for _, s := range r.display.History() {
		if s.ID == ui.RemoveCard {
			t.Fatalf("asked to remove a card already pulled: %v", s)
		}
	}
}

// refusingHost refuses reversals with a code until it is signed on again.
type refusingHost struct {
	*recordingHost
	code string
}

func (h *refusingHost) SignOn(ctx context.Context, trace, batch uint32) error {
	h.code = ""
	return h.recordingHost.SignOn(ctx, trace, batch)
}

func (h *refusingHost) Reverse(ctx context.Context, req acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error) {
	if h.code != "" {
		return acquirer.Response{Code: h.code}, nil
	}
	return h.recordingHost.Reverse(ctx, req, cause)
}

func TestRefusedReversalStaysOwedAndAMACRefusalSignsOnAgain(t *testing.T) {
	cases := []struct {
		code     string
		reversed bool
	}{
		{"A0", true},  // MAC error: sign on, then the reversal goes through
		{"96", false}, // system malfunction: stays queued for later
	}
	for _, c := range cases {
		r := newRig(t)
		h := &refusingHost{recordingHost: r.host, code: c.code}
		r.term.host = h
		r.host.err = fmt.Errorf("%w", acquirer.ErrNoAnswer)
		r.chipSaleInput("1000")
		res := r.sale(t)
		tx, _ := r.j.Get(res.Trace)
		if got := tx.State == journal.Reversed; got != c.reversed {
			t.Errorf("%s: journal %s, want reversed=%v", c.code, tx.State, c.reversed)
		}
		if !c.reversed && tx.State != journal.ReversalPending {
			t.Errorf("%s: a refused reversal left the queue: %s", c.code, tx.State)
		}
	}
}

// TestCardEventsFromBeforeThePrompt: card presence is the reader's state
// when the sale asks for the card. A card inserted and pulled before the
// prompt is ignored; a card left in the slot from before is not read until
// it came out and went in again.
func TestCardEventsFromBeforeThePrompt(t *testing.T) {
	t.Run("inserted and pulled", func(t *testing.T) {
		r := newRig(t)
		r.kernel.probe = true
		r.reader.Insert(&fake.PlaybackCard{})
		r.reader.Remove()
		r.chipSaleInput("1234")
		res := r.sale(t)
		if res.State != StateApproved || r.kernel.starts != 1 {
			t.Fatalf("state %s, kernel started %d times; screens %v", res.State, r.kernel.starts, r.display.History())
		}
	})
	t.Run("left in the slot", func(t *testing.T) {
		r := newRig(t)
		r.reader.Insert(&fake.PlaybackCard{})
		r.keypad.Type("1234")
		r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
		var asked atomic.Bool
		r.at(ui.PresentCard, func() {
			asked.Store(strings.Contains(r.display.Current().String(), "Remove the card, then insert it again"))
			r.insertAtPrompt()
			r.reader.Remove()
		})
		r.pinpad.EnterPIN("123456")
		r.removeWhenAsked()
		res := r.sale(t)
		if res.State != StateApproved || !asked.Load() || r.kernel.starts != 1 {
			t.Fatalf("state %s, asked to reinsert %v, kernel started %d times; screens %v", res.State, asked.Load(), r.kernel.starts, r.display.History())
		}
	})
}

// Every kind a menu offers has a flow that runs it: a kind declared in the
// table of kinds without its handler fails here.
func TestEveryKindOfferedHasAFlow(t *testing.T) {
	for _, k := range txkind.All() {
		if _, ok := flows[k]; k.Menu.Menu != txkind.NoMenu && !ok {
			t.Errorf("%s is offered in a menu but has no flow", k.Title)
		}
	}
}
