// Package bindflow is the blank terminal's screens: the K code typed on
// the keypad (with its input method for letters, docs/kcode.md) or
// scanned, then the SMS one-time code, until the terminal is bound
// (docs/binding.md). The bank's side of it (activation, the one-time
// code's check, the first sign-on) is firmware/binding's, reached through
// the Binding interface; the terminal runs Flow while it is not bound and
// sells nothing meanwhile. Once bound, the screen of a binding that stopped
// sales is here too, and which host answers refuse the terminal itself (a
// status check follows them). It knows nothing of transactions.
package bindflow

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"kpos/firmware/binding"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// Binding is what the screens ask of the bank's binding (firmware/binding's
// *Binder satisfies it).
type Binding interface {
	State() binding.State
	EnterTyped(ctx context.Context, typed string) (binding.Challenge, error)
	EnterScanned(ctx context.Context, text string) (binding.Challenge, error)
	SubmitOTP(ctx context.Context, otp string) error
	Cancel() error
}

// The screen IDs of binding.
const (
	ScreenBind      = "bind"       // blank terminal: type or scan the K code
	ScreenBindError = "bind-error" // the K code or the one-time code failed
	ScreenOTP       = "otp"        // type the SMS one-time code
	ScreenBound     = "bound"      // binding done
	ScreenLockedOut = "locked-out" // too many wrong one-time codes
)

// Flow is the binding screens of one terminal.
type Flow struct {
	Panel   *panel.Panel
	Binding Binding
	// Identity is who the terminal is once bound, for the screen that
	// says so.
	Identity     func() (name, tid string)
	HostTimeout  time.Duration // one exchange with the host
	InputTimeout time.Duration // a screen waiting for the merchant
	Log          *slog.Logger
}

// Run is the blank terminal: it asks for the K code, typed or scanned,
// then for the SMS one-time code, until the terminal is bound, the merchant
// gives up, or the host locks the activation.
func (f *Flow) Run(ctx context.Context) error {
	if f.Binding.State() == binding.StateLockedOut {
		x := binding.StateLockedOut.Text()
		_ = f.Panel.UI.Show(ctx, ScreenLockedOut, "已锁定 Locked", x.ZH, x.EN)
		f.Panel.AnyKey(ctx, time.Minute)
		return nil
	}
	typed, scanned, err := f.readKCode(ctx)
	if err != nil {
		return err
	}
	hctx, cancel := context.WithTimeout(ctx, f.HostTimeout)
	_ = f.Panel.UI.Show(ctx, ui.Processing, "激活中 Activating", "连接银行 Contacting the bank")
	var ch binding.Challenge
	if scanned != "" {
		ch, err = f.Binding.EnterScanned(hctx, scanned)
	} else {
		ch, err = f.Binding.EnterTyped(hctx, typed)
	}
	cancel()
	if err != nil {
		f.Log.Warn("K code refused", "err", err)
		f.bindError(ctx, err)
		return nil
	}
	return f.otpFlow(ctx, ch)
}

func (f *Flow) bindError(ctx context.Context, err error) {
	_ = f.Panel.Indicator.Signal(ctx, hal.SignalDeclined)
	id := ScreenBindError
	if f.Binding.State() == binding.StateLockedOut {
		id = ScreenLockedOut
	}
	x := binding.Explain(err)
	_ = f.Panel.UI.Show(ctx, id, "绑定失败 Binding failed", x.ZH, x.EN, "按任意键 Press any key")
	f.Panel.AnyKey(ctx, f.InputTimeout)
}

// otpFlow asks for the one-time code until it is right, the tries run out
// or the merchant cancels.
func (f *Flow) otpFlow(ctx context.Context, ch binding.Challenge) error {
	note := ""
	for f.Binding.State() == binding.StateAwaitingOTP {
		otp, err := f.readOTP(ctx, ch, note)
		if errors.Is(err, ui.ErrCancelled) || errors.Is(err, context.DeadlineExceeded) {
			if cerr := f.Binding.Cancel(); cerr != nil {
				f.Log.Warn("cancel activation", "err", cerr)
			}
			_ = f.Panel.UI.Show(ctx, ui.Cancelled, "已取消 Cancelled", "绑定已取消 Binding cancelled")
			return nil
		}
		if err != nil {
			return err
		}
		_ = f.Panel.UI.Show(ctx, ui.Processing, "绑定中 Binding", "连接银行 Contacting the bank")
		hctx, cancel := context.WithTimeout(ctx, 2*f.HostTimeout) // confirmation, then sign-on
		err = f.Binding.SubmitOTP(hctx, otp)
		cancel()
		if err == nil {
			name, tid := f.Identity()
			_ = f.Panel.Indicator.Signal(ctx, hal.SignalApproved)
			_ = f.Panel.UI.Show(ctx, ScreenBound, "绑定成功 Bound", name, "终端号 TID "+tid)
			return nil
		}
		f.Log.Warn("one-time code refused", "err", err)
		if (errors.Is(err, binding.ErrWrongOTP) || errors.Is(err, binding.ErrOTPFormat)) && f.Binding.State() == binding.StateAwaitingOTP {
			x := binding.Explain(err)
			note = x.ZH + " " + x.EN
			continue
		}
		if f.Binding.State() == binding.StateActivated {
			// Bound, but the sign-on failed: the run loop signs on again.
			_ = f.Panel.UI.Show(ctx, ScreenBindError, "签到失败 Sign-on failed", "已绑定，签到失败 Bound, but sign-on failed: check the network")
			f.Panel.AnyKey(ctx, f.InputTimeout)
			return nil
		}
		f.bindError(ctx, err)
		return nil
	}
	return nil
}

// readKCode reads a K code from the keypad (input method below) or the
// scanner, whichever comes first. It returns the typed text, or the
// scanned text.
func (f *Flow) readKCode(ctx context.Context) (typed, scanned string, err error) {
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := f.Panel.KeyFeed(ictx)
	scans, waitScans := f.Panel.ScanFeed(ictx)
	defer func() { stop(); waitKeys(); waitScans() }()
	var in kcodeInput
	for {
		_ = f.Panel.UI.Show(ctx, ScreenBind, "请绑定 Bind with K code", "输入或扫描K码 Type or scan the K code",
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
			if s.Err != nil {
				_ = f.Panel.UI.Show(ctx, ScreenBindError, "无法识别 Unreadable", "请重新扫描 Scan again")
				continue
			}
			return "", s.Text, nil
		}
	}
}

// readOTP reads the 6-digit one-time code.
func (f *Flow) readOTP(ctx context.Context, ch binding.Challenge, note string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var digits []byte
	for {
		lines := []string{"已发送至 Sent to " + ch.PhoneMasked, strings.Repeat("*", len(digits))}
		if note != "" {
			lines = append(lines, note)
		}
		if err := f.Panel.UI.Show(ctx, ScreenOTP, "请输入短信验证码 Enter the SMS code", lines...); err != nil {
			return "", err
		}
		k, err := f.Panel.UI.Key(ctx)
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
