package terminal

import (
	"context"
	"fmt"

	"kpos/firmware/binding"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The merchant menu's entries, in the order the screen numbers them.
var menuEntries = []string{
	"消费 Card sale",
	"扫码收款 QR sale: scan the customer's code",
	"二维码收款 QR collect: show my code",
	"现金 Cash sale",
	"设置 Settings",
	"撤销 Void",
	"退货 Refund",
	"余额/预授权 Balance & pre-auth",
	"结算/重打印 Settlement & reprint",
}

// Menu is the merchant menu, opened with MENU from the idle screen.
func (t *Terminal) Menu(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	i, err := t.ui.Choose(ictx, ScreenMenu, "菜单 Menu", menuEntries)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	switch i {
	case 0:
		_, err = t.Sale(ctx)
	case 1:
		_, err = t.QRSale(ctx)
	case 2:
		_, err = t.QRCollect(ctx)
	case 3:
		_, err = t.CashSale(ctx)
	case 4:
		err = t.Settings(ctx)
	case 5:
		if t.merchantAllowed(ctx, "撤销 VOID") {
			_, err = t.Void(ctx)
		}
	case 6:
		if t.merchantAllowed(ctx, "退货 REFUND") {
			_, err = t.Refund(ctx)
		}
	case 7:
		err = t.PreAuthMenu(ctx)
	case 8:
		err = t.SettleMenu(ctx)
	}
	return err
}

// Settings shows the binding, the settlement account, and unbinds.
func (t *Terminal) Settings(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	i, err := t.ui.Choose(ictx, ScreenSettings, "设置 Settings",
		[]string{"绑定状态 Binding status", "结算账户 Settlement account", "解绑 Unbind"})
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if t.binding == nil {
		_ = t.ui.Show(ctx, ScreenBindingStatus, "绑定状态 Binding", "本机未使用K码绑定 This terminal is not bound by K code")
		t.panel.AnyKey(ctx, t.cfg.InputTimeout)
		return nil
	}
	switch i {
	case 0:
		t.showBinding(ctx)
	case 1:
		return t.settlementAccount(ctx)
	case 2:
		return t.unbind(ctx)
	}
	return nil
}

// showBinding shows what the binding is.
func (t *Terminal) showBinding(ctx context.Context) {
	r := t.binding.Record()
	x := r.State.Text()
	lines := []string{x.ZH + " " + x.EN}
	if r.TID != "" {
		lines = append(lines, r.MerchantName, "商户号 MID "+r.MID, "终端号 TID "+r.TID)
	}
	if r.CodeMasked != "" {
		lines = append(lines, "K码 K code "+r.CodeMasked)
	}
	if r.Status != "" {
		lines = append(lines, "状态 Status "+string(r.Status))
	}
	if !r.Expiry.IsZero() {
		lines = append(lines, "有效期至 Valid until "+r.Expiry.Format("2006-01-02"))
	}
	if r.Params != nil {
		lines = append(lines, "单笔限额 Per sale "+ui.Money(r.Params.TxnLimit), "当日限额 Per day "+ui.Money(r.Params.DailyLimit))
	}
	if w, ok := t.binding.Warning(); ok {
		lines = append(lines, w.ZH+" "+w.EN)
	}
	_ = t.ui.Show(ctx, ScreenBindingStatus, "绑定状态 Binding", lines...)
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
}

// settlementAccount shows the merchant's settlement account. A new one is
// read from the merchant's own card swiped in the reader, or typed (ENTER),
// then verified with the host; only its masked form and the host's
// reference are kept.
func (t *Terminal) settlementAccount(ctx context.Context) error {
	r := t.binding.Record()
	current := "未设置 None"
	if r.Account != nil {
		current = r.Account.String()
	}
	ictx, cancel := context.WithTimeout(ctx, t.cfg.InputTimeout)
	defer cancel()
	if err := t.ui.Show(ictx, ScreenAccount, "结算账户 Settlement account", current,
		"刷本人银行卡，或按ENTER输入卡号 Swipe your own card, or ENTER to type its number", "取消[CANCEL]"); err != nil {
		return err
	}
	pan, typed, err := t.accountCard(ictx)
	if err != nil || (pan.IsZero() && !typed) {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if typed {
		var number string
		number, err = t.panel.ReadDigits(ictx, ScreenAccountNumber, "结算卡号 Card number", 19, panel.MaskCard)
		if err != nil {
			return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
		}
		pan, err = binding.ParseAccountNumber(number)
	}
	if err == nil {
		_ = t.ui.Show(ctx, ui.Processing, "验证中 Verifying", "连接银行 Contacting the bank")
		hctx, hcancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
		var acct binding.SettlementAccount
		acct, err = t.binding.BindAccount(hctx, pan)
		hcancel()
		if err == nil {
			_ = t.ui.Show(ctx, ScreenAccount, "结算账户已设置 Account set", acct.String())
			t.panel.AnyKey(ctx, t.cfg.InputTimeout)
			return nil
		}
	}
	t.log.Warn("settlement account not set", "err", err)
	x := binding.Explain(err)
	_ = t.ui.Show(ctx, bindflow.ScreenBindError, "结算账户 Settlement account", x.ZH, x.EN)
	t.panel.AnyKey(ctx, t.cfg.InputTimeout)
	return nil
}

// accountCard waits for the merchant's card swiped (its PAN) or ENTER
// (typed is true); CANCEL and the time running out give neither.
func (t *Terminal) accountCard(ctx context.Context) (pan hal.PAN, typed bool, err error) {
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := t.panel.KeyFeed(ictx)
	cards := make(chan hal.CardEvent)
	readerDone := make(chan struct{})
	defer func() { stop(); waitKeys(); <-readerDone }()
	go func() {
		defer close(readerDone)
		for {
			e, err := t.dev.Reader.WaitEvent(ictx)
			if err != nil {
				return
			}
			select {
			case cards <- e:
			case <-ictx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return hal.PAN{}, false, ctx.Err()
		case k := <-keys:
			switch k {
			case hal.KeyEnter:
				return hal.PAN{}, true, nil
			case hal.KeyCancel:
				return hal.PAN{}, false, nil
			}
		case e := <-cards:
			if e.Kind != hal.CardSwiped || e.Track == nil {
				if e.Kind != hal.CardRemoved {
					_ = t.ui.Show(ctx, ScreenAccount, "结算账户 Settlement account", "请刷卡或输入卡号 Swipe the card or type its number")
				}
				continue
			}
			p, _, _, err := parseTrack2(e.Track.Track2)
			if err != nil {
				return hal.PAN{}, false, fmt.Errorf("terminal: settlement card: %w", err)
			}
			return p, false, nil
		}
	}
}

// unbind wipes the binding after the merchant's password.
func (t *Terminal) unbind(ctx context.Context) error {
	if !t.merchantPassword(ctx, "解绑 Unbind", bindflow.ScreenBindError) {
		return nil
	}
	// Reversals owed go out under the current keys, which unbinding wipes.
	if err := t.FlushReversals(ctx); err != nil {
		t.log.Warn("unbind refused: reversals pending", "err", err)
		_ = t.ui.Show(ctx, bindflow.ScreenBindError, "解绑 Unbind", "冲正未完成，不能解绑 Reversals pending: check the network, then unbind")
		t.panel.AnyKey(ctx, t.cfg.InputTimeout)
		return nil
	}
	hctx, hcancel := context.WithTimeout(ctx, t.cfg.HostTimeout)
	err := t.binding.Unbind(hctx)
	hcancel()
	if err != nil {
		return fmt.Errorf("terminal: unbind: %w", err)
	}
	_ = t.ui.Show(ctx, ScreenUnbound, "已解绑 Unbound", "密钥和参数已清除 Keys and parameters wiped")
	return nil
}
