package terminal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
	"kpos/hal/fake"
)

// scriptHost answers each request with what answer decides.
type scriptHost struct {
	mu        sync.Mutex
	answer    func(req acquirer.Request, n int) (acquirer.Response, error)
	requests  []acquirer.Request
	reversals []acquirer.Request
	signOn    error
}

func (h *scriptHost) SignOn(ctx context.Context, trace, batch uint32) error { return h.signOn }

func (h *scriptHost) Do(ctx context.Context, req acquirer.Request) (acquirer.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, req)
	return h.answer(req, len(h.requests))
}

func (h *scriptHost) Reverse(ctx context.Context, req acquirer.Request, cause acquirer.ReversalCause) (acquirer.Response, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reversals = append(h.reversals, req)
	return acquirer.Response{Code: "00"}, nil
}

func (h *scriptHost) kinds() []acquirer.Kind {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []acquirer.Kind
	for _, r := range h.requests {
		out = append(out, r.Kind)
	}
	return out
}

// stubBinding is a bound terminal's binding as a test sets it.
type stubBinding struct {
	mu       sync.Mutex
	state    binding.State
	params   binding.Params
	canSell  error
	statusTo binding.State // what CheckStatus moves to; unchanged when empty
	checks   int
	typed    []string
	scanned  []string
	enterErr error
	otps     []string
	rightOTP string
	tries    int
}

func (b *stubBinding) State() binding.State { b.mu.Lock(); defer b.mu.Unlock(); return b.state }
func (b *stubBinding) CanSell() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == binding.StateSuspended {
		return fmt.Errorf("%w: %w", binding.ErrSuspended, binding.ErrRevoked)
	}
	return b.canSell
}
func (b *stubBinding) Params() (binding.Params, error) { return b.params, nil }
func (b *stubBinding) Record() binding.Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != binding.StateBound && b.state != binding.StateSuspended {
		return binding.Record{State: b.state}
	}
	return binding.Record{State: b.state, TID: "87654321", MID: "898320154110009", MerchantName: "Bound Shop"}
}
func (b *stubBinding) EnterTyped(ctx context.Context, typed string) (binding.Challenge, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.typed = append(b.typed, typed)
	if _, err := binding.ParseKCode(typed); err != nil {
		return binding.Challenge{}, err
	}
	return b.challenge()
}
func (b *stubBinding) EnterScanned(ctx context.Context, text string) (binding.Challenge, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.scanned = append(b.scanned, text)
	if _, err := binding.ParseKCodeQR(text, time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)); err != nil {
		return binding.Challenge{}, err
	}
	return b.challenge()
}
func (b *stubBinding) challenge() (binding.Challenge, error) {
	if b.enterErr != nil {
		return binding.Challenge{}, b.enterErr
	}
	b.state = binding.StateAwaitingOTP
	return binding.Challenge{PhoneMasked: "138****8000"}, nil
}
func (b *stubBinding) SubmitOTP(ctx context.Context, otp string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.otps = append(b.otps, otp)
	if otp == b.rightOTP {
		b.state = binding.StateBound
		return nil
	}
	b.tries++
	if b.tries >= 3 {
		b.state = binding.StateLockedOut
		return binding.ErrLockedOut
	}
	return binding.ErrWrongOTP
}
func (b *stubBinding) Cancel() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.state = binding.StateBlank
	return nil
}
func (b *stubBinding) SignOn(ctx context.Context) error { return nil }
func (b *stubBinding) CheckStatus(ctx context.Context) (binding.Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.checks++
	if b.statusTo != "" {
		b.state = b.statusTo
	}
	return binding.Status{Kind: binding.StatusValid}, nil
}
func (b *stubBinding) StatusDue() bool                  { return false }
func (b *stubBinding) Warning() (binding.Text, bool)    { return binding.Text{}, false }
func (b *stubBinding) Unbind(ctx context.Context) error { b.state = binding.StateBlank; return nil }
func (b *stubBinding) BindAccount(ctx context.Context, pan hal.PAN) (binding.SettlementAccount, error) {
	return binding.SettlementAccount{PANMasked: pan.Masked()}, nil
}
func (b *stubBinding) MerchantQR(amount int64, bill string) (string, error) {
	m := qr.MPM{Initiation: qr.Dynamic, Accounts: []qr.MerchantAccount{qr.UnionPayAccount("48020000", "898320154110009")},
		MCC: "5411", Currency: qr.CurrencyCNY, Amount: qr.FormatAmount(amount), Country: "CN", Name: "Bound Shop", City: "Shanghai",
		Additional: &qr.AdditionalData{Bill: bill}}
	return m.Encode()
}

func testParams() binding.Params {
	return binding.Params{TxnLimit: 100000, DailyLimit: 150000, SettlementTime: "23:00",
		Methods: []binding.Method{binding.MethodCard, binding.MethodQR, binding.MethodMerchantQR, binding.MethodCash}}
}

type qrRig struct {
	*rig
	scanner *fake.Scanner
	host    *scriptHost
	bind    *stubBinding
}

func newQRRig(t *testing.T, answer func(req acquirer.Request, n int) (acquirer.Response, error)) *qrRig {
	t.Helper()
	r := newRig(t)
	q := &qrRig{rig: r, scanner: fake.NewScanner(), host: &scriptHost{answer: answer},
		bind: &stubBinding{state: binding.StateBound, params: testParams()}}
	q.term = New(Config{MerchantName: "测试商户", MerchantID: "898320154110001", TerminalID: "12345678",
		CardTimeout: time.Second, InputTimeout: time.Second, RemoveTimeout: time.Second, HostTimeout: time.Second, TearOffTimeout: 10 * time.Millisecond,
		QRTimeout: time.Second, QRPollInterval: 10 * time.Millisecond},
		Devices{Reader: r.reader, PINPad: r.pinpad, Printer: r.printer, Display: r.display, Keypad: r.keypad,
			Indicator: &fake.Indicator{}, Scanner: q.scanner},
		r.kernel, q.host, pinKeys{}, r.j, WithBinding(q.bind))
	return q
}

func (q *qrRig) shown(id string) bool {
	for _, s := range q.display.History() {
		if s.ID == id {
			return true
		}
	}
	return false
}

const alipayCode = "251001020123456789012345"

// unreadable stands for a scan the scanner could not decode.
const unreadable = "(unreadable)"

func approve(req acquirer.Request, n int) (acquirer.Response, error) {
	return acquirer.Response{Code: "00", AuthCode: "123456", RRN: "112200000001"}, nil
}

func TestQRSaleByCustomerCode(t *testing.T) {
	noAnswer := fmt.Errorf("%w: timeout", acquirer.ErrNoAnswer)
	cases := []struct {
		name     string
		answer   func(acquirer.Request, int) (acquirer.Response, error)
		scans    []string
		keys     []hal.Key
		want     State
		journal  journal.State
		kinds    []acquirer.Kind
		reversed int
		retry    bool
	}{
		{name: "approved", answer: approve, scans: []string{alipayCode}, want: StateApproved,
			journal: journal.Completed, kinds: []acquirer.Kind{acquirer.KindQRSale}},
		{name: "a web address is never paid", answer: approve, scans: []string{"https://example.com/x", alipayCode},
			want: StateApproved, journal: journal.Completed, kinds: []acquirer.Kind{acquirer.KindQRSale}, retry: true},
		{name: "a blurred code is scanned again", answer: approve, scans: []string{unreadable, alipayCode},
			want: StateApproved, journal: journal.Completed, kinds: []acquirer.Kind{acquirer.KindQRSale}, retry: true},
		{name: "a K-code letter is no payment", answer: approve, scans: []string{"KPOS1:999:Z9222ZB4AU7EY6J5:20301231:2C1D", alipayCode},
			want: StateApproved, journal: journal.Completed, kinds: []acquirer.Kind{acquirer.KindQRSale}, retry: true},
		{name: "declined", answer: func(acquirer.Request, int) (acquirer.Response, error) { return acquirer.Response{Code: "51"}, nil },
			scans: []string{alipayCode}, want: StateDeclined, journal: journal.Declined, kinds: []acquirer.Kind{acquirer.KindQRSale}},
		{name: "no answer is reversed", answer: func(acquirer.Request, int) (acquirer.Response, error) { return acquirer.Response{}, noAnswer },
			scans: []string{alipayCode}, want: StateDeclined, journal: journal.Reversed, kinds: []acquirer.Kind{acquirer.KindQRSale}, reversed: 1},
		{name: "confirmed on the phone, then paid", answer: func(req acquirer.Request, n int) (acquirer.Response, error) {
			if n < 3 {
				return acquirer.Response{Code: "09"}, nil
			}
			return acquirer.Response{Code: "00", AuthCode: "777777"}, nil
		}, scans: []string{alipayCode}, want: StateApproved, journal: journal.Completed,
			kinds: []acquirer.Kind{acquirer.KindQRSale, acquirer.KindQRQuery, acquirer.KindQRQuery}},
		{name: "never confirmed is reversed", answer: func(acquirer.Request, int) (acquirer.Response, error) { return acquirer.Response{Code: "09"}, nil },
			scans: []string{alipayCode}, want: StateDeclined, journal: journal.Reversed, reversed: 1},
		{name: "cancel at confirm rescans", answer: approve, scans: []string{alipayCode, alipayCode},
			keys: []hal.Key{hal.KeyCancel}, want: StateApproved, journal: journal.Completed, kinds: []acquirer.Kind{acquirer.KindQRSale}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, c.answer)
			q.keypad.Type("1234")
			q.keypad.Press(hal.KeyEnter)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan Result, 1)
			go func() { res, _ := q.term.of(txkind.QRSale)(ctx); done <- res }()
			at := 0 // screens before this index are already seen
			wait := func(id string) {
				t.Helper()
				_, next, err := q.display.WaitFor(ctx, at, func(sc hal.Screen) bool { return sc.ID == id })
				if err != nil {
					t.Fatalf("waiting for %s: %v", id, err)
				}
				at = next
			}
			for i, s := range c.scans {
				wait(ScreenQRScan)
				if s == unreadable {
					q.scanner.ShowError(fmt.Errorf("%w: blur", hal.ErrScanUnreadable))
				} else {
					q.scanner.Show(s)
				}
				if i == len(c.scans)-1 {
					continue
				}
				if c.retry {
					wait(ScreenQRRetry)
					continue
				}
				// The merchant cancels at the confirmation and scans again.
				wait(ScreenQRConfirm)
				q.keypad.Press(c.keys...)
			}
			wait(ScreenQRConfirm)
			q.keypad.Press(hal.KeyEnter)
			res := <-done
			if res.State != c.want {
				t.Fatalf("state %s, want %s; screens %v", res.State, c.want, q.display.History())
			}
			tx, err := q.j.Get(res.Trace)
			if err != nil {
				t.Fatal(err)
			}
			if tx.State != c.journal || tx.Method != journal.QR || tx.Kind != journal.Sale || tx.Amount != 1234 {
				t.Fatalf("journal %+v", tx)
			}
			if c.kinds != nil && fmt.Sprint(q.host.kinds()) != fmt.Sprint(c.kinds) {
				t.Fatalf("host saw %v, want %v", q.host.kinds(), c.kinds)
			}
			if q.host.requests[0].QRCode != alipayCode || q.host.requests[0].Entry != acquirer.EntryQR {
				t.Fatalf("sale request %+v", q.host.requests[0])
			}
			if len(q.host.reversals) != c.reversed {
				t.Fatalf("%d reversals, want %d", len(q.host.reversals), c.reversed)
			}
			if c.retry != q.shown(ScreenQRRetry) {
				t.Fatalf("retry prompt shown: %v, want %v", !c.retry, c.retry)
			}
			if strings.Contains(q.printer.Text(), alipayCode) {
				t.Fatal("the receipt shows the payment code in the clear")
			}
		})
	}
}

func TestQRCollectByMerchantCode(t *testing.T) {
	const order = "https://qr.example/pay/000011112222"
	cases := []struct {
		name    string
		paidAt  int // the request number from which the query says paid; 0 never
		cancel  bool
		want    State
		journal journal.State
	}{
		{name: "paid", paidAt: 3, want: StateApproved, journal: journal.Completed},
		{name: "merchant cancels", cancel: true, want: StateCancelled, journal: journal.Reversed},
		{name: "not paid in time", want: StateCancelled, journal: journal.Reversed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, func(req acquirer.Request, n int) (acquirer.Response, error) {
				if req.Kind == acquirer.KindQRSale {
					return acquirer.Response{Code: "09", QRPayload: order}, nil
				}
				if c.paidAt > 0 && n >= c.paidAt {
					return acquirer.Response{Code: "00", AuthCode: "222222", RRN: "1122"}, nil
				}
				return acquirer.Response{Code: "09"}, nil
			})
			q.keypad.Type("5000")
			q.keypad.Press(hal.KeyEnter)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan Result, 1)
			go func() { res, _ := q.term.of(txkind.QRCollect)(ctx); done <- res }()
			scr, _, err := q.display.WaitFor(ctx, 0, func(sc hal.Screen) bool { return sc.ID == ScreenQRShow })
			if err != nil {
				t.Fatal(err)
			}
			m, err := qr.ParseMPM(scr.QR)
			if err != nil {
				t.Fatalf("the code shown is no EMVCo payload: %v", err)
			}
			if amt, _ := m.AmountFen(); amt != 5000 || m.Initiation != qr.Dynamic || m.Additional == nil || m.Additional.Bill != "000011112222" {
				t.Fatalf("merchant code %+v", m)
			}
			if c.cancel {
				q.keypad.Press(hal.KeyCancel)
			}
			res := <-done
			if res.State != c.want {
				t.Fatalf("state %s, want %s", res.State, c.want)
			}
			tx, _ := q.j.Get(res.Trace)
			if tx.State != c.journal || tx.Method != journal.QR {
				t.Fatalf("journal %+v", tx)
			}
			if q.host.requests[0].QRCode != "" {
				t.Fatal("a merchant order carries a customer code")
			}
		})
	}
}

func TestCashSaleIsJournaled(t *testing.T) {
	q := newQRRig(t, approve)
	q.keypad.Type("2000")
	q.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := q.term.of(txkind.Cash)(ctx)
	if err != nil || res.State != StateApproved {
		t.Fatalf("%s %v", res.State, err)
	}
	tx, _ := q.j.Get(res.Trace)
	if tx.State != journal.Completed || tx.Method != journal.CashMethod || tx.Kind != journal.Sale || tx.Amount != 2000 {
		t.Fatalf("journal %+v", tx)
	}
	if len(q.host.requests) != 0 {
		t.Fatal("a cash sale went to the host")
	}
	if !strings.Contains(q.printer.Text(), "CASH") {
		t.Fatal("no cash receipt")
	}
}

func TestBindingRefusesBeforeTheCard(t *testing.T) {
	cases := []struct {
		name   string
		amount string
		setup  func(b *stubBinding)
		msg    string
		atKey  bool // a limit: named on the amount screen at the key that would pass it
	}{
		{name: "over the per-sale limit", amount: "100001", msg: "per sale CNY 1000.00", atKey: true},
		{name: "over the daily limit", amount: "90000", setup: func(b *stubBinding) { b.params.DailyLimit = 80000 },
			msg: "daily limit CNY 800.00 (CNY 800.00 left)", atKey: true},
		{name: "method not accepted", amount: "100", setup: func(b *stubBinding) { b.params.Methods = []binding.Method{binding.MethodQR} }, msg: "not accepted"},
		{name: "revoked", amount: "100", setup: func(b *stubBinding) { b.state = binding.StateSuspended }, msg: "revoked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, approve)
			if c.setup != nil {
				c.setup(q.bind)
			}
			q.keypad.Type(c.amount)
			want, screen := StateRefused, ScreenRefused
			if c.atKey {
				want, screen = StateCancelled, ui.Amount
				q.keypad.Press(hal.KeyCancel)
			} else {
				q.keypad.Press(hal.KeyEnter)
			}
			res := q.sale(t)
			if res.State != want {
				t.Fatalf("state %s", res.State)
			}
			if len(q.host.requests) != 0 || len(q.pinpad.Prompts()) != 0 {
				t.Fatal("a refused sale reached the host or the PIN pad")
			}
			last := q.display.History()
			found := false
			for _, s := range last {
				if s.ID == screen && strings.Contains(strings.Join(s.Lines, " "), c.msg) {
					found = true
				}
				if c.atKey && strings.Contains(s.String(), "Over the limit CNY") {
					t.Fatalf("a second limit shown: %v", s)
				}
			}
			if !found {
				t.Fatalf("no %s screen saying %q: %v", screen, c.msg, last)
			}
		})
	}
}

func TestHostRefusalSuspends(t *testing.T) {
	q := newQRRig(t, func(acquirer.Request, int) (acquirer.Response, error) { return acquirer.Response{Code: "58"}, nil })
	q.bind.statusTo = binding.StateSuspended
	q.keypad.Type("100")
	q.keypad.Press(hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() {
		_, _, _ = q.display.WaitFor(ctx, 0, func(sc hal.Screen) bool { return sc.ID == ScreenQRScan })
		q.scanner.Show(alipayCode)
		_, _, _ = q.display.WaitFor(ctx, 0, func(sc hal.Screen) bool { return sc.ID == ScreenQRConfirm })
		q.keypad.Press(hal.KeyEnter)
	}()
	res, _ := q.term.of(txkind.QRSale)(ctx)
	if res.State != StateDeclined || q.bind.checks != 1 || q.bind.State() != binding.StateSuspended {
		t.Fatalf("state %s, %d status checks, binding %s", res.State, q.bind.checks, q.bind.State())
	}
	res, _ = q.term.of(txkind.QRSale)(ctx)
	if res.State != StateRefused {
		t.Fatalf("a sale after the revocation: %s", res.State)
	}
}

func TestBindFlow(t *testing.T) {
	const typed = "Z9222ZB4AU7EY6J5"
	valid := strings.Fields("9 F1 F1 F1 F1 9 2 2 2 9 F1 F1 F1 F1 2 F1 F1 4 2 F1 8 F1 F1 7 3 F1 F1 9 F1 F1 F1 6 5 F1 5")
	cases := []struct {
		name   string
		scan   string
		keys   []string
		otps   []string
		want   binding.State
		screen string
	}{
		{name: "typed", keys: valid, otps: []string{"123456"}, want: binding.StateBound, screen: bindflow.ScreenBound},
		{name: "scanned", scan: "KPOS1:999:Z9222ZB4AU7EY6J5:20301231:2C1D", otps: []string{"123456"}, want: binding.StateBound, screen: bindflow.ScreenBound},
		{name: "wrong one-time code, then right", keys: valid, otps: []string{"000000", "123456"}, want: binding.StateBound, screen: bindflow.ScreenBound},
		{name: "lockout", keys: valid, otps: []string{"000000", "111111", "222222"}, want: binding.StateLockedOut, screen: bindflow.ScreenLockedOut},
		{name: "expired letter", scan: "KPOS1:999:Z9222ZDCQP7DCLPD:20200131:CEB9", want: binding.StateBlank, screen: bindflow.ScreenBindError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newQRRig(t, approve)
			q.bind.state, q.bind.rightOTP = binding.StateBlank, "123456"
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- q.term.bindFlow(ctx) }()
			if _, _, err := q.display.WaitFor(ctx, 0, func(sc hal.Screen) bool { return sc.ID == bindflow.ScreenBind }); err != nil {
				t.Fatal(err)
			}
			if c.scan != "" {
				q.scanner.Show(c.scan)
			}
			for _, k := range c.keys {
				if k == "F1" {
					q.keypad.Press(bindflow.KeyAlpha)
				} else {
					q.keypad.Type(k)
				}
			}
			if c.keys != nil {
				q.keypad.Press(hal.KeyEnter)
			}
			for _, otp := range c.otps {
				n := len(q.display.History())
				if _, _, err := q.display.WaitFor(ctx, n-1, func(sc hal.Screen) bool { return sc.ID == bindflow.ScreenOTP }); err != nil {
					t.Fatal(err)
				}
				q.keypad.Type(otp)
				q.keypad.Press(hal.KeyEnter)
			}
			if c.screen == bindflow.ScreenBindError || c.screen == bindflow.ScreenLockedOut {
				if _, _, err := q.display.WaitFor(ctx, 0, func(sc hal.Screen) bool { return sc.ID == c.screen }); err != nil {
					t.Fatal(err)
				}
				q.keypad.Press(hal.KeyEnter)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if q.bind.State() != c.want || !q.shown(c.screen) {
				t.Fatalf("binding %s, want %s; screens %v", q.bind.State(), c.want, q.display.History())
			}
			if c.keys != nil && (len(q.bind.typed) != 1 || q.bind.typed[0] != typed) {
				t.Fatalf("typed %q", q.bind.typed)
			}
			if fmt.Sprint(q.bind.otps) != fmt.Sprint(c.otps) {
				t.Fatalf("one-time codes %v", q.bind.otps)
			}
			for _, s := range q.display.History() {
				if strings.Contains(s.String(), typed) || strings.Contains(s.String(), "ZB4A-U7EY") {
					t.Fatalf("a screen shows the K code's secret: %v", s)
				}
			}
		})
	}
}
