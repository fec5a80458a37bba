// Package menu is the merchant's menus: MENU on the idle screen, the
// balance and pre-authorization menu, settlement and reprints, and the
// settings (the binding's status, the settlement account, unbinding). The
// transaction kinds they offer, with their labels, places and whether the
// merchant's password guards them, come from the one table of kinds
// (firmware/txkind); the other entries are declared here. Void, refund,
// settlement and unbinding ask for the merchant's password, which five
// wrong attempts lock for a growing delay and a storage fault refuses (fail
// closed; firmware/merchantpw keeps it).
//
// It runs transactions, reprints and settles through the Counter and
// Settler interfaces, and knows nothing of the sale tables.
package menu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"time"

	"kpos/firmware/binding"
	"kpos/firmware/merchantpw"
	"kpos/firmware/receipt"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/bindflow"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/terminal/track2"
	"kpos/firmware/txkind"
	"kpos/firmware/ui"
	"kpos/hal"
)

// The screen IDs of the menus.
const (
	ScreenMenu          = "menu"               // the merchant menu
	ScreenMenuMore      = "menu-preauth"       // balance and pre-authorization menu
	ScreenMenuSettle    = "menu-settle"        // settlement and reprint menu
	ScreenSettings      = "settings"           // settings menu
	ScreenBindingStatus = "binding-status"     // what the binding is
	ScreenAccount       = "settlement-account" // the settlement account
	ScreenAccountNumber = "account-number"     // type the settlement card number
	ScreenPassword      = "password"           // the merchant's password
	ScreenPasswordLock  = "password-locked"    // too many wrong passwords: locked for a while
	ScreenWrongPassword = "wrong-password"     // the merchant's password was wrong
	ScreenUnbound       = "unbound"            // the binding was wiped
	ScreenReprintTrace  = "reprint-trace"      // type the trace number of the receipt to reprint
	ScreenNothing       = "nothing"            // nothing to reprint, or no such transaction
)

// Counter is what the menus ask of the terminal.
type Counter interface {
	// Start runs one transaction of kind k.
	Start(ctx context.Context, k *txkind.Kind) error
	// FlushReversals sends the reversals owed; an error leaves them owed.
	FlushReversals(ctx context.Context) error
	// Reprintable is the slip of trace to print again, marked as a
	// reprint (trace 0: the last transaction that has one), or why there
	// is none, for the merchant to read.
	Reprintable(trace uint32) (r receipt.Receipt, none string, err error)
}

// Settler settles the batch and reprints its report
// (firmware/terminal/settlement).
type Settler interface {
	CanSettle() bool
	Settle(ctx context.Context) error
	Reprint(ctx context.Context) error
}

// Binding is what the settings show and change of the bank's binding
// (firmware/binding's *Binder satisfies it).
type Binding interface {
	Record() binding.Record
	Warning() (binding.Text, bool)
	BindAccount(ctx context.Context, pan hal.PAN) (binding.SettlementAccount, error)
	Unbind(ctx context.Context) error
}

// Password checks the merchant's password and keeps its attempt limit
// (firmware/merchantpw.Guard). Check returns nil for the right password;
// any error refuses (merchantpw.ErrWrong, ErrLocked, ErrNotSet,
// ErrUnrecorded). Locked returns the end of a lock, zero when none.
type Password interface {
	Check(password string) error
	Locked() (time.Time, error)
}

// Menus are one terminal's menus.
type Menus struct {
	Panel      *panel.Panel
	Counter    Counter
	Settlement Settler
	Binding    Binding  // nil: the terminal is not bound by K code
	Password   Password // nil: no password is set, and what it guards is refused
	Reader     hal.CardReader
	// InputTimeout bounds a screen waiting for the merchant, HostTimeout
	// one exchange with the host.
	InputTimeout, HostTimeout time.Duration
	Log                       *slog.Logger
}

// item is one entry of a menu: a kind of transaction, or something else
// to do.
type item struct {
	label string
	kind  *txkind.Kind
	do    func(m *Menus, ctx context.Context) error
}

// entries are menu's entries in the order the screen numbers them: the
// kinds the table of kinds puts there, and others.
func entries(menu txkind.Menu, others map[int]item) []item {
	at := map[int]item{}
	for i, it := range others {
		at[i] = it
	}
	for _, k := range txkind.InMenu(menu) {
		at[k.Menu.At] = item{label: k.Menu.Label, kind: k}
	}
	places := make([]int, 0, len(at))
	for i := range at {
		places = append(places, i)
	}
	sort.Ints(places)
	items := make([]item, len(places))
	for n, i := range places {
		items[n] = at[i]
	}
	return items
}

// The entries of the merchant menu and of the settlement menu that are not
// transactions, by their number on the screen.
var (
	mainOthers = map[int]item{
		4: {label: "设置 Settings", do: (*Menus).Settings},
		7: {label: "余额/预授权 Balance & pre-auth", do: (*Menus).PreAuthMenu},
		8: {label: "结算/重打印 Settlement & reprint", do: (*Menus).SettleMenu},
	}
	settleEntries = []item{
		{label: "结算 Settle now", do: (*Menus).settle},
		{label: "重打上一笔 Reprint the last receipt", do: func(m *Menus, ctx context.Context) error { return m.reprint(ctx, 0) }},
		{label: "按凭证号重打 Reprint by trace number", do: (*Menus).ReprintTrace},
		{label: "重打结算单 Reprint the last settlement report", do: (*Menus).ReprintSettlement},
	}
)

// Menu is the merchant menu, opened with MENU from the idle screen.
func (m *Menus) Menu(ctx context.Context) error {
	return m.choose(ctx, ScreenMenu, "菜单 Menu", entries(txkind.MainMenu, mainOthers))
}

// PreAuthMenu is the balance and pre-authorization menu.
func (m *Menus) PreAuthMenu(ctx context.Context) error {
	return m.choose(ctx, ScreenMenuMore, "余额/预授权 Balance & pre-auth", entries(txkind.PreAuthMenu, nil))
}

// SettleMenu is the settlement and reprint menu.
func (m *Menus) SettleMenu(ctx context.Context) error {
	return m.choose(ctx, ScreenMenuSettle, "结算/重打印 Settlement & reprint", settleEntries)
}

// choose shows a menu and does what the merchant chose: a transaction
// (after the password, for a kind it guards), or the entry's work.
func (m *Menus) choose(ctx context.Context, id, title string, items []item) error {
	labels := make([]string, len(items))
	for i, it := range items {
		labels[i] = it.label
	}
	ictx, cancel := context.WithTimeout(ctx, m.InputTimeout)
	i, err := m.Panel.UI.Choose(ictx, id, title, labels)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if i < 0 || i >= len(items) {
		return nil
	}
	it := items[i]
	if it.kind == nil {
		return it.do(m, ctx)
	}
	if it.kind.Menu.Password && !m.merchantAllowed(ctx, it.kind.Title) {
		return nil
	}
	return m.Counter.Start(ctx, it.kind)
}

// settle settles after the merchant's password.
func (m *Menus) settle(ctx context.Context) error {
	if !m.merchantAllowed(ctx, "结算 Settlement") {
		return nil
	}
	return m.Settlement.Settle(ctx)
}

// ReprintSettlement prints the last settlement report again.
func (m *Menus) ReprintSettlement(ctx context.Context) error {
	if !m.Settlement.CanSettle() {
		m.nothing(ctx, "本机不能结算 This terminal cannot settle")
		return nil
	}
	_ = m.Panel.UI.Show(ctx, ui.Printing, "重打结算单 Reprint the settlement report", "打印中 Printing")
	err := m.Settlement.Reprint(ctx)
	switch {
	case err == nil:
	case errors.Is(err, settle.ErrNothingToReprint):
		m.nothing(ctx, "还没有结算 No settlement yet")
	default:
		m.Log.Warn("settlement report not reprinted", "err", err)
		m.nothing(ctx, "打印失败 Not printed: check the printer")
	}
	return nil
}

func (m *Menus) nothing(ctx context.Context, msg string) {
	_ = m.Panel.UI.Show(ctx, ScreenNothing, "重打印 Reprint", msg)
	m.Panel.AnyKey(ctx, m.InputTimeout)
}

// reprint prints the receipt of trace again from the journal (0: the last
// one), merchant copy.
func (m *Menus) reprint(ctx context.Context, trace uint32) error {
	r, none, err := m.Counter.Reprintable(trace)
	if none != "" {
		m.nothing(ctx, none)
		return nil
	}
	if err != nil {
		return err
	}
	_ = m.Panel.UI.Show(ctx, ui.Printing, "重打印 Reprint", fmt.Sprintf("凭证号 Trace %06d", r.Trace), "打印中 Printing")
	if err := m.Panel.PrintWhole(ctx, receipt.Build(r, receipt.MerchantCopy)); err != nil {
		m.Log.Warn("reprint not printed", "trace", r.Trace, "err", err)
	}
	return nil
}

// Settings shows the binding, the settlement account, and unbinds.
func (m *Menus) Settings(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, m.InputTimeout)
	i, err := m.Panel.UI.Choose(ictx, ScreenSettings, "设置 Settings",
		[]string{"绑定状态 Binding status", "结算账户 Settlement account", "解绑 Unbind"})
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if m.Binding == nil {
		_ = m.Panel.UI.Show(ctx, ScreenBindingStatus, "绑定状态 Binding", "本机未使用K码绑定 This terminal is not bound by K code")
		m.Panel.AnyKey(ctx, m.InputTimeout)
		return nil
	}
	switch i {
	case 0:
		m.showBinding(ctx)
	case 1:
		return m.SettlementAccount(ctx)
	case 2:
		return m.unbind(ctx)
	}
	return nil
}

// showBinding shows what the binding is.
func (m *Menus) showBinding(ctx context.Context) {
	r := m.Binding.Record()
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
	if w, ok := m.Binding.Warning(); ok {
		lines = append(lines, w.ZH+" "+w.EN)
	}
	_ = m.Panel.UI.Show(ctx, ScreenBindingStatus, "绑定状态 Binding", lines...)
	m.Panel.AnyKey(ctx, m.InputTimeout)
}

// SettlementAccount shows the merchant's settlement account. A new one is
// read from the merchant's own card swiped in the reader, or typed (ENTER),
// then verified with the host; only its masked form and the host's
// reference are kept.
func (m *Menus) SettlementAccount(ctx context.Context) error {
	r := m.Binding.Record()
	current := "未设置 None"
	if r.Account != nil {
		current = r.Account.String()
	}
	ictx, cancel := context.WithTimeout(ctx, m.InputTimeout)
	defer cancel()
	if err := m.Panel.UI.Show(ictx, ScreenAccount, "结算账户 Settlement account", current,
		"刷本人银行卡，或按ENTER输入卡号 Swipe your own card, or ENTER to type its number", "取消[CANCEL]"); err != nil {
		return err
	}
	pan, typed, err := m.accountCard(ictx)
	if err != nil || (pan.IsZero() && !typed) {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	if typed {
		var number string
		number, err = m.Panel.ReadDigits(ictx, ScreenAccountNumber, "结算卡号 Card number", 19, panel.MaskCard)
		if err != nil {
			return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
		}
		pan, err = binding.ParseAccountNumber(number)
	}
	if err == nil {
		_ = m.Panel.UI.Show(ctx, ui.Processing, "验证中 Verifying", "连接银行 Contacting the bank")
		hctx, hcancel := context.WithTimeout(ctx, m.HostTimeout)
		var acct binding.SettlementAccount
		acct, err = m.Binding.BindAccount(hctx, pan)
		hcancel()
		if err == nil {
			_ = m.Panel.UI.Show(ctx, ScreenAccount, "结算账户已设置 Account set", acct.String())
			m.Panel.AnyKey(ctx, m.InputTimeout)
			return nil
		}
	}
	m.Log.Warn("settlement account not set", "err", err)
	x := binding.Explain(err)
	_ = m.Panel.UI.Show(ctx, bindflow.ScreenBindError, "结算账户 Settlement account", x.ZH, x.EN)
	m.Panel.AnyKey(ctx, m.InputTimeout)
	return nil
}

// accountCard waits for the merchant's card swiped (its PAN) or ENTER
// (typed is true); CANCEL and the time running out give neither.
func (m *Menus) accountCard(ctx context.Context) (pan hal.PAN, typed bool, err error) {
	ictx, stop := context.WithCancel(ctx)
	keys, waitKeys := m.Panel.KeyFeed(ictx)
	cards := make(chan hal.CardEvent)
	readerDone := make(chan struct{})
	defer func() { stop(); waitKeys(); <-readerDone }()
	go func() {
		defer close(readerDone)
		for {
			e, err := m.Reader.WaitEvent(ictx)
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
					_ = m.Panel.UI.Show(ctx, ScreenAccount, "结算账户 Settlement account", "请刷卡或输入卡号 Swipe the card or type its number")
				}
				continue
			}
			p, _, _, err := track2.Parse(e.Track.Track2)
			if err != nil {
				return hal.PAN{}, false, fmt.Errorf("terminal: settlement card: %w", err)
			}
			return p, false, nil
		}
	}
}

// unbind wipes the binding after the merchant's password.
func (m *Menus) unbind(ctx context.Context) error {
	if !m.merchantPassword(ctx, "解绑 Unbind", bindflow.ScreenBindError) {
		return nil
	}
	// Reversals owed go out under the current keys, which unbinding wipes.
	if err := m.Counter.FlushReversals(ctx); err != nil {
		m.Log.Warn("unbind refused: reversals pending", "err", err)
		_ = m.Panel.UI.Show(ctx, bindflow.ScreenBindError, "解绑 Unbind", "冲正未完成，不能解绑 Reversals pending: check the network, then unbind")
		m.Panel.AnyKey(ctx, m.InputTimeout)
		return nil
	}
	hctx, hcancel := context.WithTimeout(ctx, m.HostTimeout)
	err := m.Binding.Unbind(hctx)
	hcancel()
	if err != nil {
		return fmt.Errorf("terminal: unbind: %w", err)
	}
	_ = m.Panel.UI.Show(ctx, ScreenUnbound, "已解绑 Unbound", "密钥和参数已清除 Keys and parameters wiped")
	return nil
}

// ReprintTrace prints the receipt of a trace number typed by the merchant.
func (m *Menus) ReprintTrace(ctx context.Context) error {
	ictx, cancel := context.WithTimeout(ctx, m.InputTimeout)
	digits, err := m.Panel.ReadDigits(ictx, ScreenReprintTrace, "重打印 Reprint 凭证号 Trace", 6, panel.MaskNone)
	cancel()
	if err != nil {
		return panel.IgnoreCancel(panel.IgnoreTimeout(ictx, err))
	}
	n, _ := strconv.ParseUint(digits, 10, 32)
	return m.reprint(ctx, uint32(n))
}

// merchantAllowed asks for the merchant's password (void, refund,
// settlement) and reports whether it was right.
func (m *Menus) merchantAllowed(ctx context.Context, title string) bool {
	return m.merchantPassword(ctx, title, ScreenWrongPassword)
}

// merchantPassword asks for the merchant's password under title and
// reports whether it was right. Every refusal is shown on errScreen, except
// a lock, which has its own screen. A lock in force is shown before anything
// is typed; a password that cannot be checked (its state cannot be read or
// written, a full disk) is refused like a wrong one (fail closed).
func (m *Menus) merchantPassword(ctx context.Context, title, errScreen string) bool {
	refuse := func(id string, lines ...string) bool {
		_ = m.Panel.Indicator.Signal(ctx, hal.SignalDeclined)
		_ = m.Panel.UI.Show(ctx, id, title, lines...)
		m.Panel.AnyKey(ctx, m.InputTimeout)
		return false
	}
	if m.Password == nil {
		return refuse(errScreen, "未设置商户密码 No merchant password is set: call support")
	}
	locked := func(until time.Time) bool {
		return refuse(ScreenPasswordLock, "密码已锁定 Locked: too many wrong passwords",
			"请于 "+until.Local().Format("15:04")+" 后再试 Try again after "+until.Local().Format("15:04"))
	}
	until, err := m.Password.Locked()
	if err != nil {
		m.Log.Error("merchant password state unreadable: refused", "err", err)
		return refuse(errScreen, "不能验证密码 The password cannot be checked: call support")
	}
	if !until.IsZero() {
		return locked(until)
	}
	ictx, cancel := context.WithTimeout(ctx, m.InputTimeout)
	pw, err := m.Panel.ReadDigits(ictx, ScreenPassword, title+" 商户密码 Merchant password", 12, panel.MaskAll)
	cancel()
	if err != nil {
		return false
	}
	err = m.Password.Check(pw)
	var le *merchantpw.LockedError
	switch {
	case err == nil:
		return true
	case errors.Is(err, merchantpw.ErrWrong):
		return refuse(errScreen, "密码错误 Wrong password")
	case errors.As(err, &le):
		return locked(le.Until)
	case errors.Is(err, merchantpw.ErrNotSet):
		return refuse(errScreen, "未设置商户密码 No merchant password is set: call support")
	default:
		m.Log.Error("merchant password not checked: refused", "err", err)
		return refuse(errScreen, "不能验证密码 The password cannot be checked: call support")
	}
}
