package command

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Width is the console's line width until the terminal reports another
// (or 'term cols N' sets one); tables fit in it and lines are folded at it.
const Width = 80

// MinWidth and MaxWidth bound what 'term cols' and a report may set.
const (
	MinWidth = 20
	MaxWidth = 1000
)

// Table renders rows under a header in columns separated by two spaces. When
// the table is wider than width, the widest columns are cut (ending in "~")
// until it fits; columns listed in keep (card numbers, trace numbers) are
// never cut. Columns listed in right are right-aligned (amounts). Cells are
// redacted before they are cut, so that a cut can never hide a PAN from the
// redactor.
func Table(width int, header []string, rows [][]string, right, keep []int) string {
	n := len(header)
	w := make([]int, n)
	for i, h := range header {
		w[i] = TextWidth(h)
	}
	for _, r := range rows {
		for i := 0; i < n && i < len(r); i++ {
			w[i] = max(w[i], TextWidth(r[i]))
		}
	}
	total := func() int {
		t := 2 * (n - 1)
		for _, x := range w {
			t += x
		}
		return t
	}
	for total() > width {
		widest := -1
		for i := range w {
			if !slices.Contains(keep, i) && (widest < 0 || w[i] > w[widest]) {
				widest = i
			}
		}
		if widest < 0 || w[widest] <= 4 {
			break
		}
		w[widest]--
	}
	isRight := make([]bool, n)
	for _, i := range right {
		if i >= 0 && i < n {
			isRight[i] = true
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		var l strings.Builder
		for i := 0; i < n; i++ {
			c := ""
			if i < len(cells) {
				c = Cut(cells[i], w[i])
			}
			pad := strings.Repeat(" ", w[i]-TextWidth(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if isRight[i] {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " "))
		b.WriteByte('\n')
	}
	line(header)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

// TextWidth counts columns: East Asian wide characters take two.
func TextWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0xA4CF, r >= 0xAC00 && r <= 0xD7A3,
		r >= 0xF900 && r <= 0xFAFF, r >= 0xFE30 && r <= 0xFE4F, r >= 0xFF00 && r <= 0xFF60, r >= 0xFFE0 && r <= 0xFFE6:
		return 2
	}
	return 1
}

// Cut redacts s and shortens it to at most w columns, marking a cut with "~".
func Cut(s string, w int) string {
	s = Redact(s)
	if TextWidth(s) <= w {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := runeWidth(r)
		if used+rw > w-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	return b.String() + "~"
}

// KV renders key/value lines with the keys aligned.
func KV(pairs ...[2]string) string {
	k := 0
	for _, p := range pairs {
		k = max(k, utf8.RuneCountInString(p[0]))
	}
	var b strings.Builder
	for _, p := range pairs {
		fmt.Fprintf(&b, "%-*s  %s\n", k, p[0], p[1])
	}
	return b.String()
}

// Money formats minor units as a decimal amount.
func Money(minor int64) string {
	sign := ""
	if minor < 0 {
		sign = "-"
		minor = -minor
	}
	return fmt.Sprintf("%s%d.%02d", sign, minor/100, minor%100)
}

// Wrap folds lines longer than width columns, at a space where there is
// one; continuation lines are indented by two spaces. A word longer than a
// line is cut where the line ends.
func Wrap(text string, width int) string {
	lines := strings.Split(text, "\n")
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		indent := ""
		for TextWidth(l) > width {
			cutAt, hard := -1, -1
			w := 0
			for j, r := range l {
				w += runeWidth(r)
				if w > width {
					hard = j
					break
				}
				if r == ' ' && j > len(indent) {
					cutAt = j
				}
			}
			if cutAt < 0 {
				cutAt = hard
			}
			if cutAt <= len(indent) {
				break
			}
			b.WriteString(strings.TrimRight(l[:cutAt], " ") + "\n")
			indent = "  "
			l = indent + strings.TrimLeft(l[cutAt:], " ")
		}
		b.WriteString(l)
	}
	return b.String()
}

// TimeStr formats times for tables in the terminal's local time.
func TimeStr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
