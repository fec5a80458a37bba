// Package cardholder answers the EMV kernel's questions to the cardholder
// (emv.Cardholder): which application, the online PIN on the PIN pad (the
// clear PIN never leaves it), and the notices to show (remove the card, see
// the phone, try again). A card pulled from the slot while the PIN pad
// waits ends the PIN entry at once. It knows nothing of transactions.
package cardholder

import (
	"context"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"kpos/firmware/emv"
	"kpos/firmware/terminal/panel"
	"kpos/firmware/ui"
	"kpos/hal"
)

// PINKeys gives the PIN pad the cipher of the current PIN key.
type PINKeys interface {
	PINCipher() hal.PINCipher
}

// Cardholder answers the kernel's questions through the screen and PIN pad.
type Cardholder struct {
	Panel  *panel.Panel
	PINPad hal.PINPad
	Reader hal.CardReader
	Keys   PINKeys
	Amount int64 // shown with the PIN prompt
	// InSlot: the card was inserted, and pulling it ends the PIN entry
	// (a tapped or swiped card is in no slot).
	InSlot       bool
	InputTimeout time.Duration // a choice or a PIN waiting for the cardholder
}

func (c *Cardholder) ChooseApplication(ctx context.Context, apps []emv.Candidate) (int, error) {
	names := make([]string, len(apps))
	for i, a := range apps {
		names[i] = a.Label
		if names[i] == "" {
			names[i] = strings.ToUpper(hex.EncodeToString(a.AID))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.InputTimeout)
	defer cancel()
	return c.Panel.UI.Choose(ctx, ui.ChooseApp, "选择应用 Choose application", names)
}

func (c *Cardholder) OnlinePIN(ctx context.Context, pan hal.PAN) (hal.PINBlock, error) {
	_ = c.Panel.UI.Show(ctx, ui.EnterPIN, "请输入密码 Enter PIN", ui.Money(c.Amount), "卡号 Card "+pan.Masked())
	ctx, cancel := context.WithTimeout(ctx, c.InputTimeout)
	defer cancel()
	pulled, watched := c.watchSlot(ctx, cancel)
	pb, err := c.PINPad.PINBlock(ctx, hal.PINRequest{PAN: pan, Amount: ui.Money(c.Amount),
		Prompt: "请输入密码 Enter PIN", Cipher: c.Keys.PINCipher()})
	// The watcher reads card events: it must be gone before the sale
	// reads on, or it takes the next event (the next sale's card).
	cancel()
	watched()
	if err != nil && pulled() {
		// The card left the slot while the PIN pad waited: the sale cannot
		// finish, so it stops now rather than when the PIN pad times out.
		// (A PIN that was entered stands: if the card is gone, its next
		// command says so.)
		return hal.PINBlock{}, hal.ErrCardRemoved
	}
	return pb, err
}

// watchSlot watches an inserted card while the cardholder types the PIN
// and calls stop when it is pulled; the first returned func reports whether
// it was, the second waits until the watcher has stopped (once ctx is
// done). Tapped and swiped cards are not in a slot.
func (c *Cardholder) watchSlot(ctx context.Context, stop context.CancelFunc) (func() bool, func()) {
	if !c.InSlot {
		return func() bool { return false }, func() {}
	}
	var mu sync.Mutex
	pulled := false
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			e, err := c.Reader.WaitEvent(ctx)
			if err != nil {
				return
			}
			if e.Kind == hal.CardRemoved {
				mu.Lock()
				pulled = true
				mu.Unlock()
				stop()
				return
			}
		}
	}()
	return func() bool {
		mu.Lock()
		defer mu.Unlock()
		return pulled
	}, func() { <-done }
}

func (c *Cardholder) Notify(ctx context.Context, n emv.Notice) {
	switch n {
	case emv.NoticeRemoveCard:
		_ = c.Panel.Indicator.Beep(ctx, 100*time.Millisecond)
		_ = c.Panel.UI.Show(ctx, ui.RemoveCard, "读卡完成 Card read", "可以移开卡片 You may remove the card")
	case emv.NoticeSeePhone:
		_ = c.Panel.UI.Show(ctx, ui.Message, "请查看手机 See phone", "按手机提示操作后再挥卡 Follow your phone, then tap again")
	case emv.NoticeTryAgain:
		_ = c.Panel.UI.Show(ctx, ui.Message, "请重试 Try again")
	case emv.NoticeInsertCard:
		_ = c.Panel.UI.Show(ctx, ui.Message, "请插卡 Insert the card")
	case emv.NoticeUseOtherCard:
		_ = c.Panel.UI.Show(ctx, ui.Message, "不支持此卡 Card not supported: use another card")
	case emv.NoticeProcessing:
		_ = c.Panel.UI.Show(ctx, ui.ReadingCard, "读卡中 Reading card", "请勿拔卡 Do not remove the card")
	}
}
