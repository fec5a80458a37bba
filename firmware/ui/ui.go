// Package ui is how the terminal talks to the people at the counter: named
// screens in Chinese and English on a hal.Display, and the input that answers
// them from a hal.Keypad (amounts, confirmations, menu choices).
//
// Screens carry a stable ID so scenarios and tests can wait for them. Lists
// longer than the display (its Size, the board's) are shown a page at a
// time, and Layout lays any screen out to that size, as a display of the
// board draws it. The package knows nothing of payments beyond formatting an
// amount and taking the limit it is told, and it never receives card numbers
// other than masked ones.
package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	size    Size // the display's text area; zero when unknown (no paging)
}

// New returns a UI on display and keypad.
func New(display hal.Display, keypad hal.Keypad) *UI { return &UI{display: display, keypad: keypad} }

// Sized tells the UI the display's text area, so that lists longer than the
// display are shown a page at a time. It returns u.
func (u *UI) Sized(s Size) *UI {
	u.size = s
	return u
}

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

// Limit is the largest amount an amount screen takes, and what it says when
// a key would pass it. The caller works out which limit binds (the
// terminal's own, the binding's per-sale or what is left of the day), so
// that the screen names one figure, the one that refuses.
type Limit struct {
	Max  int64
	Note string // "" says "超过限额 Over the limit" and Max
}

func (l Limit) note() string {
	if l.Note != "" {
		return l.Note
	}
	return "超过限额 Over the limit " + Money(l.Max)
}

// NoteDecimals is the amount screen's answer to a third decimal: an amount
// in yuan has two (jiao and fen).
const NoteDecimals = "最多两位小数 2 decimals at most"

// EnterAmount reads an amount up to max; see EnterAmountUpTo.
func (u *UI) EnterAmount(ctx context.Context, title string, max int64) (int64, error) {
	return u.EnterAmountUpTo(ctx, title, Limit{Max: max})
}

// EnterAmountUpTo reads an amount the way POS keypads do: digits shift in
// from the right in fen (typing 1 2 3 4 shows 12.34), or, once the decimal
// point is pressed, the digits before it are yuan and up to two may follow
// (1 2 . 5 is 12.50; a third decimal is refused on the screen). CLEAR
// removes the last key, ENTER accepts a non-zero amount, CANCEL gives up. A
// key that would pass the limit is refused on the screen, with the limit.
func (u *UI) EnterAmountUpTo(ctx context.Context, title string, lim Limit) (int64, error) {
	var a typedAmount
	note := ""
	for {
		lines := []string{"金额 Amount:", Money(a.value())}
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
		case k.IsDigit() || k == hal.KeyDot:
			next, ok := a.with(byte(k))
			switch {
			case !ok:
				note = NoteDecimals
			case next.value() > lim.Max:
				note = lim.note()
			default:
				a = next
			}
		case k == hal.KeyClear:
			a = a.withoutLast()
		case k == hal.KeyCancel:
			return 0, ErrCancelled
		case k == hal.KeyEnter:
			if v := a.value(); v > 0 {
				return v, nil
			}
			note = "请输入金额 Enter an amount"
		}
	}
}

// typedAmount is the keys of an amount typed so far: digits and at most one
// decimal point.
type typedAmount struct{ keys string }

// with returns the amount with key c added; ok is false for a key the
// amount cannot take (a second point, a third decimal).
func (a typedAmount) with(c byte) (typedAmount, bool) {
	dot := strings.IndexByte(a.keys, '.')
	switch {
	case c == '.' && dot >= 0:
		return a, false
	case c != '.' && dot >= 0 && len(a.keys)-dot > 2:
		return a, false
	case c == '0' && a.keys == "":
		return a, true // a leading zero changes nothing
	case len(a.keys) >= 15:
		return a, false // far beyond any limit; keeps the sum in an int64
	}
	return typedAmount{a.keys + string(c)}, true
}

func (a typedAmount) withoutLast() typedAmount {
	if a.keys == "" {
		return a
	}
	return typedAmount{a.keys[:len(a.keys)-1]}
}

// value is the amount in fen.
func (a typedAmount) value() int64 {
	whole, frac, dotted := strings.Cut(a.keys, ".")
	var v int64
	for _, c := range whole {
		v = v*10 + int64(c-'0')
	}
	if !dotted {
		return v // digits shift in from the right: already fen
	}
	frac = (frac + "00")[:2]
	return v*100 + int64(frac[0]-'0')*10 + int64(frac[1]-'0')
}

// Confirm shows a screen and waits for ENTER (true) or CANCEL (false); other
// keys are ignored.
func (u *UI) Confirm(ctx context.Context, id, title string, lines ...string) (bool, error) {
	return u.ConfirmAs(ctx, id, title, "确认", "取消", lines...)
}

// ConfirmAs is Confirm with the keys labelled by what they do here: the
// screen's last line is "ENTER-LABEL[ENTER] CANCEL-LABEL[CANCEL]".
func (u *UI) ConfirmAs(ctx context.Context, id, title, enter, cancel string, lines ...string) (bool, error) {
	hint := enter + "[ENTER] " + cancel + "[CANCEL]"
	if err := u.Show(ctx, id, title, append(lines[:len(lines):len(lines)], hint)...); err != nil {
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
// digit key (ENTER takes the first), or ErrCancelled. When the display is too
// small for the list it shows a page at a time, one option a row: DOWN and
// UP turn the pages, and a digit chooses its option from any page.
func (u *UI) Choose(ctx context.Context, id, title string, options []string) (int, error) {
	pages := u.pages(len(options))
	page := 0
	for {
		first, last := pages[page][0], pages[page][1]
		lines := make([]string, 0, last-first+1)
		for i := first; i < last; i++ {
			lines = append(lines, fmt.Sprintf("%d. %s", i+1, options[i]))
		}
		if len(pages) > 1 {
			lines = append(lines, fmt.Sprintf("%d/%d 翻页 more [UP][DOWN]", page+1, len(pages)))
		}
		if err := u.Show(ctx, id, title, lines...); err != nil {
			return 0, err
		}
		for turned := false; !turned; {
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
			case k == hal.KeyDown && len(pages) > 1:
				page, turned = (page+1)%len(pages), true
			case k == hal.KeyUp && len(pages) > 1:
				page, turned = (page+len(pages)-1)%len(pages), true
			}
		}
	}
}

// pages splits n options into pages [first, last) that fit the display: a
// row for the title, one for the page line, one for each option.
func (u *UI) pages(n int) [][2]int {
	per := u.size.Rows - 2
	if u.size.Rows == 0 || n <= u.size.Rows-1 || per < 1 {
		return [][2]int{{0, n}}
	}
	var out [][2]int
	for first := 0; first < n; first += per {
		out = append(out, [2]int{first, min(first+per, n)})
	}
	return out
}
