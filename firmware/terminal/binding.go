package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/binding"
	"kpos/firmware/journal"
	"kpos/firmware/ui"
	"kpos/hal"
)

// Binding is the terminal's binding with its bank: K code, one-time code,
// status, parameters (firmware/binding's *Binder satisfies it).
type Binding interface {
	State() binding.State
	CanSell() error
	Params() (binding.Params, error)
	Record() binding.Record
	EnterTyped(ctx context.Context, typed string) (binding.Challenge, error)
	EnterScanned(ctx context.Context, text string) (binding.Challenge, error)
	SubmitOTP(ctx context.Context, otp string) error
	Cancel() error
	SignOn(ctx context.Context) error
	CheckStatus(ctx context.Context) (binding.Status, error)
	StatusDue() bool
	Warning() (binding.Text, bool)
	MerchantQR(amount int64, bill string) (string, error)
	Unbind(ctx context.Context) error
	BindAccount(ctx context.Context, pan hal.PAN) (binding.SettlementAccount, error)
}

// Option adds an optional part to a terminal.
type Option func(*Terminal)

// WithBinding makes the terminal bound by K code: a blank terminal asks for
// the K code and sells nothing; the binding's identity, status and limits
// rule every sale.
func WithBinding(b Binding) Option { return func(t *Terminal) { t.binding = b } }

// MerchantPassword checks the merchant's password and keeps its attempt
// limit (firmware/merchantpw.Guard). Check returns nil for the right
// password; any error refuses (merchantpw.ErrWrong, ErrLocked, ErrNotSet,
// ErrUnrecorded). Locked returns the end of a lock, zero when none.
type MerchantPassword interface {
	Check(password string) error
	Locked() (time.Time, error)
}

// WithMerchantPassword sets the merchant's password, which void, refund,
// settlement and unbinding ask for. Without it the terminal refuses them.
func WithMerchantPassword(p MerchantPassword) Option {
	return func(t *Terminal) { t.password = p }
}

// More screen IDs, for binding, the menu and QR payments.
const (
	ScreenBind          = "bind"           // blank terminal: type or scan the K code
	ScreenBindError     = "bind-error"     // the K code or the one-time code failed
	ScreenOTP           = "otp"            // type the SMS one-time code
	ScreenBound         = "bound"          // binding done
	ScreenLockedOut     = "locked-out"     // too many wrong one-time codes
	ScreenSuspended     = "suspended"      // expired or revoked: sales stopped
	ScreenRefused       = "refused"        // a limit or the binding refused a sale before it started
	ScreenMenu          = "menu"           // the merchant menu
	ScreenSettings      = "settings"       // settings menu
	ScreenBindingStatus = "binding-status" // what the binding is
	ScreenAccount       = "settlement-account"
	ScreenAccountNumber = "account-number"  // type the settlement card number
	ScreenPassword      = "password"        // the merchant's password
	ScreenPasswordLock  = "password-locked" // too many wrong passwords: locked for a while
	ScreenUnbound       = "unbound"
	ScreenQRScan        = "qr-scan"    // scan the customer's payment code
	ScreenQRRetry       = "qr-retry"   // that was not a payment code
	ScreenQRConfirm     = "qr-confirm" // amount, payee and code: confirm
	ScreenQRShow        = "qr-show"    // the merchant code on the display
	ScreenCashConfirm   = "cash-confirm"
)

// identity is who the terminal is on receipts and screens: the binding's
// merchant once bound, the configured one otherwise.
func (t *Terminal) identity() (name, mid, tid string) {
	if t.binding != nil {
		if r := t.binding.Record(); r.TID != "" {
			return r.MerchantName, r.MID, r.TID
		}
	}
	return t.cfg.MerchantName, t.cfg.MerchantID, t.cfg.TerminalID
}

// unbound reports whether the terminal waits for a K code.
func (t *Terminal) unbound() bool {
	if t.binding == nil {
		return false
	}
	switch t.binding.State() {
	case binding.StateBound, binding.StateSuspended, binding.StateActivated, binding.StateSigningOn:
		return false
	}
	return true
}

// signOn signs on: through the binding (which checks its status) when the
// terminal is bound by K code, directly otherwise.
func (t *Terminal) signOn(ctx context.Context, trace, batch uint32) error {
	if t.binding == nil {
		return t.host.SignOn(ctx, trace, batch)
	}
	if t.binding.State() == binding.StateSuspended {
		// Sales stay stopped unless the bank renewed the binding.
		if _, err := t.binding.CheckStatus(ctx); err != nil {
			return err
		}
		if t.binding.State() == binding.StateSuspended {
			return t.binding.CanSell()
		}
	}
	err := t.binding.SignOn(ctx)
	if err != nil && bindingRefused(err) {
		// The host refuses this terminal: ask for the binding's status, so
		// that a revoked or expired binding stops sales at once.
		if _, serr := t.binding.CheckStatus(ctx); serr != nil {
			return errors.Join(err, serr)
		}
	}
	return err
}

// bindingRefused reports a host answer that says the terminal itself may not
// transact (revoked or expired binding, terminal not permitted).
func bindingRefused(err error) bool {
	var ce *acquirer.CodeError
	if errors.As(err, &ce) {
		return codeRefusesTerminal(ce.Code)
	}
	return false
}

func codeRefusesTerminal(code string) bool {
	switch code {
	case "58", "97", "K2", "K3":
		return true
	}
	_, _, action := acquirer.Describe(code)
	return action == acquirer.ActionRebind
}

// afterHostRefusal checks the binding's status when a sale's answer says
// the terminal may not transact.
func (t *Terminal) afterHostRefusal(ctx context.Context, code string) {
	if t.binding == nil || !codeRefusesTerminal(code) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	defer cancel()
	if _, err := t.binding.CheckStatus(ctx); err != nil {
		t.log.Warn("binding status check after a refusal failed", "err", err)
	}
}

// methodOf maps a journal method to the binding's.
func methodOf(m journal.Method, merchantQR bool) binding.Method {
	switch {
	case m == journal.CashMethod:
		return binding.MethodCash
	case m == journal.QR && merchantQR:
		return binding.MethodMerchantQR
	case m == journal.QR:
		return binding.MethodQR
	}
	return binding.MethodCard
}

// allow asks the binding whether a sale may start: bound and selling, the
// method accepted, the amount within the limits. It returns what the
// merchant reads when it may not.
func (t *Terminal) allow(m binding.Method, amount int64) (string, error) {
	if t.binding == nil {
		return "", nil
	}
	if err := t.binding.CanSell(); err != nil {
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	p, err := t.binding.Params()
	if err != nil {
		return "参数错误 No parameters: bind again", err
	}
	if amount < 0 {
		amount = 0
	}
	spent, err := t.spentToday()
	if err != nil {
		// The daily limit cannot be checked: it holds (fails closed).
		t.log.Error("daily limit not computable", "err", err)
		return "限额无法核对 Daily limit cannot be checked: journal error, call support", err
	}
	if err := p.Allow(m, amount, spent); err != nil {
		switch {
		case errors.Is(err, binding.ErrTxnLimit):
			return fmt.Sprintf("超过单笔限额 Over the limit per sale %s", ui.Money(p.TxnLimit)), err
		case errors.Is(err, binding.ErrDailyLimit):
			return fmt.Sprintf("超过当日限额 Over the daily limit %s", ui.Money(p.DailyLimit)), err
		case errors.Is(err, binding.ErrMethodNotAccepted):
			return "不支持此收款方式 This payment method is not accepted", err
		}
		x := binding.Explain(err)
		return x.ZH + " " + x.EN, err
	}
	return "", nil
}

// spentToday is what today's spending adds up to, in every batch (a
// settlement during the day does not reset the daily limit), by the rule
// book's rule (txrules.CountsToday): sales and completions that stand or
// are still in doubt; voided, reversed and declined ones do not count. The
// journal keeps the figure as transactions change (journal.CountsToday
// follows the same rule), so it costs the same on day 365 as on day 1.
func (t *Terminal) spentToday() (int64, error) {
	sum, err := t.journal.SalesOn(t.cfg.Now())
	if err != nil {
		return 0, fmt.Errorf("terminal: daily limit: %w", err)
	}
	return sum.Amount, nil
}

// refuse shows why a sale cannot start and waits briefly for a key.
func (t *Terminal) refuse(ctx context.Context, id, msg string) {
	_ = t.dev.Indicator.Signal(ctx, hal.SignalAttention)
	_ = t.ui.Show(ctx, id, "不能收款 Cannot sell", msg, "按任意键返回 Press any key")
	t.anyKey(ctx, t.cfg.InputTimeout)
}

// anyKey waits for one key or d.
func (t *Terminal) anyKey(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, _ = t.ui.Key(ctx)
}

// suspendedScreen shows that sales stopped and why.
func (t *Terminal) suspendedScreen(ctx context.Context) error {
	x := binding.Explain(t.binding.CanSell())
	return t.ui.Show(ctx, ScreenSuspended, "暂停收款 Sales stopped", x.ZH, x.EN, "MENU 菜单: 解绑后重新绑定 unbind, then bind again")
}

// bindFlow is the blank terminal: it asks for the K code, typed or scanned,
// then for the SMS one-time code, until the terminal is bound, the merchant
// gives up, or the host locks the activation.
func (t *Terminal) bindFlow(ctx context.Context) error {
	if t.binding.State() == binding.StateLockedOut {
		x := binding.StateLockedOut.Text()
		_ = t.ui.Show(ctx, ScreenLockedOut, "已锁定 Locked", x.ZH, x.EN)
		t.anyKey(ctx, time.Minute)
		return nil
	}
	typed, scanned, err := t.readKCode(ctx)
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	_ = t.ui.Show(ctx, ui.Processing, "激活中 Activating", "连接银行 Contacting the bank")
	var ch binding.Challenge
	if scanned != "" {
		ch, err = t.binding.EnterScanned(hctx, scanned)
	} else {
		ch, err = t.binding.EnterTyped(hctx, typed)
	}
	cancel()
	if err != nil {
		t.log.Warn("K code refused", "err", err)
		t.bindError(ctx, err)
		return nil
	}
	return t.otpFlow(ctx, ch)
}

func (t *Terminal) bindError(ctx context.Context, err error) {
	_ = t.dev.Indicator.Signal(ctx, hal.SignalDeclined)
	id := ScreenBindError
	if t.binding.State() == binding.StateLockedOut {
		id = ScreenLockedOut
	}
	x := binding.Explain(err)
	_ = t.ui.Show(ctx, id, "绑定失败 Binding failed", x.ZH, x.EN, "按任意键 Press any key")
	t.anyKey(ctx, t.cfg.InputTimeout)
}

// otpFlow asks for the one-time code until it is right, the tries run out
// or the merchant cancels.
func (t *Terminal) otpFlow(ctx context.Context, ch binding.Challenge) error {
	note := ""
	for t.binding.State() == binding.StateAwaitingOTP {
		otp, err := t.readOTP(ctx, ch, note)
		if errors.Is(err, ui.ErrCancelled) || errors.Is(err, context.DeadlineExceeded) {
			if cerr := t.binding.Cancel(); cerr != nil {
				t.log.Warn("cancel activation", "err", cerr)
			}
			_ = t.ui.Show(ctx, ui.Cancelled, "已取消 Cancelled", "绑定已取消 Binding cancelled")
			return nil
		}
		if err != nil {
			return err
		}
		_ = t.ui.Show(ctx, ui.Processing, "绑定中 Binding", "连接银行 Contacting the bank")
		hctx, cancel := context.WithTimeout(ctx, 2*t.cfg.HostTimeout) // confirmation, then sign-on
		err = t.binding.SubmitOTP(hctx, otp)
		cancel()
		if err == nil {
			name, _, tid := t.identity()
			_ = t.dev.Indicator.Signal(ctx, hal.SignalApproved)
			_ = t.ui.Show(ctx, ScreenBound, "绑定成功 Bound", name, "终端号 TID "+tid)
			return nil
		}
		t.log.Warn("one-time code refused", "err", err)
		if (errors.Is(err, binding.ErrWrongOTP) || errors.Is(err, binding.ErrOTPFormat)) && t.binding.State() == binding.StateAwaitingOTP {
			x := binding.Explain(err)
			note = x.ZH + " " + x.EN
			continue
		}
		if t.binding.State() == binding.StateActivated {
			// Bound, but the sign-on failed: the run loop signs on again.
			_ = t.ui.Show(ctx, ScreenBindError, "签到失败 Sign-on failed", "已绑定，签到失败 Bound, but sign-on failed: check the network")
			t.anyKey(ctx, t.cfg.InputTimeout)
			return nil
		}
		t.bindError(ctx, err)
		return nil
	}
	return nil
}

// readKCode reads a K code from the keypad (input method below) or the
// scanner, whichever comes first. It returns the typed text, or the
// scanned text.
func (t *Terminal) readKCode(ctx context.Context) (typed, scanned string, err error) {
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := t.keyFeed(ictx)
	scans, waitScans := t.scanFeed(ictx)
	defer func() { stop(); waitKeys(); waitScans() }()
	var in kcodeInput
	for {
		_ = t.ui.Show(ctx, ScreenBind, "请绑定 Bind with K code", "输入或扫描K码 Type or scan the K code",
			in.display(), "字母: 数字键后按F1 Letters: digit key, then F1")
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case k := <-keys:
			if in.press(k) {
				if in.len() == 0 {
					continue
				}
				return in.text(), "", nil
			}
		case s := <-scans:
			if s.err != nil {
				_ = t.ui.Show(ctx, ScreenBindError, "无法识别 Unreadable", "请重新扫描 Scan again")
				continue
			}
			return "", s.text, nil
		}
	}
}

// readOTP reads the 6-digit one-time code.
func (t *Terminal) readOTP(ctx context.Context, ch binding.Challenge, note string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var digits []byte
	for {
		lines := []string{"已发送至 Sent to " + ch.PhoneMasked, strings.Repeat("*", len(digits))}
		if note != "" {
			lines = append(lines, note)
		}
		if err := t.ui.Show(ctx, ScreenOTP, "请输入短信验证码 Enter the SMS code", lines...); err != nil {
			return "", err
		}
		k, err := t.ui.Key(ctx)
		if err != nil {
			return "", err
		}
		switch {
		case k.IsDigit() && len(digits) < 6:
			digits = append(digits, byte(k))
		case k == hal.KeyClear && len(digits) > 0:
			digits = digits[:len(digits)-1]
		case k == hal.KeyCancel:
			return "", ui.ErrCancelled
		case k == hal.KeyEnter && len(digits) > 0:
			return string(digits), nil
		}
	}
}

type scanResult struct {
	text string
	err  error
}

// keyFeed delivers key presses until ctx ends, for a step that waits for
// keys and something else at once. The returned wait blocks until the feed
// has stopped; a key it read after its reader left is put back, so the
// next screen gets it. Call cancel, then wait, before reading keys again.
func (t *Terminal) keyFeed(ctx context.Context) (<-chan hal.Key, func()) {
	out := make(chan hal.Key)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			k, err := t.dev.Keypad.Key(ctx)
			if err != nil {
				return
			}
			select {
			case out <- k:
			case <-ctx.Done():
				t.keys.unread(k)
				return
			}
		}
	}()
	return out, func() { <-done }
}

// pushback holds what a feed read after its reader had left.
type pushback[T any] struct {
	mu      sync.Mutex
	pending []T
}

func (p *pushback[T]) pop() (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	if len(p.pending) == 0 {
		return zero, false
	}
	v := p.pending[0]
	p.pending = p.pending[1:]
	return v, true
}

func (p *pushback[T]) unread(v T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, v)
}

// keyBuffer is the keypad with keys put back: the feed of a step that
// ended may have read a key meant for the next screen.
type keyBuffer struct {
	pushback[hal.Key]
	keypad hal.Keypad
}

func (b *keyBuffer) Key(ctx context.Context) (hal.Key, error) {
	if k, ok := b.pop(); ok {
		return k, nil
	}
	return b.keypad.Key(ctx)
}

// scanBuffer is the scanner with codes put back, as keyBuffer.
type scanBuffer struct {
	pushback[scanResult]
	scanner hal.Scanner
}

func (b *scanBuffer) Scan(ctx context.Context) (string, error) {
	if r, ok := b.pop(); ok {
		return r.text, r.err
	}
	return b.scanner.Scan(ctx)
}

// scanFeed delivers scanned codes until ctx ends; without a scanner it
// delivers nothing. wait works as keyFeed's.
func (t *Terminal) scanFeed(ctx context.Context) (<-chan scanResult, func()) {
	out := make(chan scanResult)
	if t.scans == nil {
		return out, func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			text, err := t.scans.Scan(ctx)
			if ctx.Err() != nil {
				if err == nil {
					t.scans.unread(scanResult{text: text})
				}
				return
			}
			select {
			case out <- scanResult{text: text, err: err}:
			case <-ctx.Done():
				t.scans.unread(scanResult{text: text, err: err})
				return
			}
			if err != nil && !errors.Is(err, hal.ErrScanUnreadable) {
				return
			}
		}
	}()
	return out, func() { <-done }
}
