// Package ui is how the terminal talks to the people at the counter: named
// screens in Chinese and English on a hal.Display, and the input that answers
// them from a hal.Keypad (amounts, confirmations, menu choices).
//
// Screens carry a stable ID so scenarios and tests can wait for them. The
// package knows nothing of payments beyond formatting an amount, and it never
// receives card numbers other than masked ones.
package ui

import (
	"context"
	"errors"
	"fmt"

	"kpos/hal"
)

// Screen IDs. Scenarios name screens by these.
const (
	Idle          = "idle"
	Amount        = "amount"
	ConfirmAmount = "confirm-amount"
	PresentCard   = "present-card"
	ReadingCard   = "reading-card"
	ChooseApp     = "choose-app"
	EnterPIN      = "enter-pin"
	Processing    = "processing"
	Approved      = "approved"
	Declined      = "declined"
	RemoveCard    = "remove-card"
	Failed        = "error"
	Reversing     = "reversing"
	Printing      = "printing"
	PaperOut      = "paper-out"
	Cancelled     = "cancelled"
	Message       = "message"
)

// ErrCancelled reports that the person pressed CANCEL.
var ErrCancelled = errors.New("ui: cancelled")

// UI shows screens and reads the keypad.
type UI struct {
	display hal.Display
	keypad  hal.Keypad
}

// New returns a UI on display and keypad.
func New(display hal.Display, keypad hal.Keypad) *UI { return &UI{display: display, keypad: keypad} }

// Show puts a screen up.
func (u *UI) Show(ctx context.Context, id, title string, lines ...string) error {
	if err := u.display.Show(ctx, hal.Screen{ID: id, Title: title, Lines: lines}); err != nil {
		return fmt.Errorf("ui: show %s: %w", id, err)
	}
	return nil
}

// ShowScreen puts up a prepared screen (one with a QR code, say).
func (u *UI) ShowScreen(ctx context.Context, s hal.Screen) error {
	if err := u.display.Show(ctx, s); err != nil {
		return fmt.Errorf("ui: show %s: %w", s.ID, err)
	}
	return nil
}

// Key waits for the next key.
func (u *UI) Key(ctx context.Context) (hal.Key, error) { return u.keypad.Key(ctx) }

// Money formats minor units as "CNY 12.34".
func Money(minor int64) string { return fmt.Sprintf("CNY %d.%02d", minor/100, minor%100) }

// EnterAmount reads an amount the way POS keypads do: digits shift in from
// the right in fen (typing 1 2 3 4 shows 12.34), CLEAR removes the last
// digit, ENTER accepts a non-zero amount, CANCEL gives up. Amounts above max
// are refused on the screen.
func (u *UI) EnterAmount(ctx context.Context, title string, max int64) (int64, error) {
	var amount int64
	note := ""
	for {
		lines := []string{"金额 Amount:", Money(amount)}
		if note != "" {
			lines = append(lines, note)
		}
		if err := u.Show(ctx, Amount, title, lines...); err != nil {
			return 0, err
		}
		k, err := u.keypad.Key(ctx)
		if err != nil {
			return 0, err
		}
		note = ""
		switch {
		case k.IsDigit():
			next := amount*10 + int64(k-'0')
			if next > max {
				note = "超过限额 Over the limit " + Money(max)
				continue
			}
			amount = next
		case k == hal.KeyClear:
			amount /= 10
		case k == hal.KeyCancel:
			return 0, ErrCancelled
		case k == hal.KeyEnter:
			if amount > 0 {
				return amount, nil
			}
			note = "请输入金额 Enter an amount"
		}
	}
}

// Confirm shows a screen and waits for ENTER (true) or CANCEL (false); other
// keys are ignored.
func (u *UI) Confirm(ctx context.Context, id, title string, lines ...string) (bool, error) {
	if err := u.Show(ctx, id, title, append(lines, "确认[ENTER] 取消[CANCEL]")...); err != nil {
		return false, err
	}
	for {
		k, err := u.keypad.Key(ctx)
		if err != nil {
			return false, err
		}
		switch k {
		case hal.KeyEnter:
			return true, nil
		case hal.KeyCancel:
			return false, nil
		}
	}
}

// Choose lists options numbered from 1 and returns the index chosen with a
// digit key (ENTER takes the first), or ErrCancelled.
func (u *UI) Choose(ctx context.Context, id, title string, options []string) (int, error) {
	lines := make([]string, len(options))
	for i, o := range options {
		lines[i] = fmt.Sprintf("%d. %s", i+1, o)
	}
	if err := u.Show(ctx, id, title, lines...); err != nil {
		return 0, err
	}
	for {
		k, err := u.keypad.Key(ctx)
		if err != nil {
			return 0, err
		}
		switch {
		case k == hal.KeyCancel:
			return 0, ErrCancelled
		case k == hal.KeyEnter:
			return 0, nil
		case k.IsDigit() && int(k-'1') < len(options) && k != '0':
			return int(k - '1'), nil
		}
	}
}
