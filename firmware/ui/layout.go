package ui

import (
	"strings"
	"unicode/utf8"

	"kpos/firmware/receipt"
	"kpos/hal"
)

// Size is a display's text area: Columns wide (a Chinese character takes
// two) and Rows high. Each board declares its own (docs/boards.md).
type Size struct {
	Columns, Rows int
}

// ellipsis marks text shortened to fit.
const ellipsis = "…"

// Layout lays a screen out on a display of the given size: the title on the
// first row, shortened to fit, then each line wrapped at spaces (Chinese
// text anywhere) to the width. When the wrapped lines need more rows than
// the display has, the lines that wrap most are shortened to one row first
// (a list's entries), then rows are dropped before the last line (which
// names the keys) and the last row kept is marked "…". Every row is exactly
// Columns wide. The QR code, if any, is not laid out here: displays draw it
// in its own area.
func Layout(s hal.Screen, size Size) []string {
	cols, rows := max(size.Columns, 8), max(size.Rows, 2)
	wrapped := make([][]string, len(s.Lines))
	total := 0
	for i, l := range s.Lines {
		wrapped[i] = Wrap(l, cols)
		total += len(wrapped[i])
	}
	for total > rows-1 {
		longest := -1
		for i, w := range wrapped {
			if len(w) > 1 && (longest < 0 || len(w) > len(wrapped[longest])) {
				longest = i
			}
		}
		if longest < 0 {
			break
		}
		total -= len(wrapped[longest]) - 1
		wrapped[longest] = []string{Shorten(s.Lines[longest], cols)}
	}
	body := make([]string, 0, total)
	for _, w := range wrapped {
		body = append(body, w...)
	}
	if keep := rows - 1; len(body) > keep {
		last := body[len(body)-1]
		body = append(body[:keep-1], last)
		if keep >= 2 {
			body[keep-2] = markCut(body[keep-2], cols)
		}
	}
	out := make([]string, 0, rows)
	out = append(out, pad(Shorten(s.Title, cols), cols))
	for _, l := range body {
		out = append(out, pad(l, cols))
	}
	for len(out) < rows {
		out = append(out, strings.Repeat(" ", cols))
	}
	return out
}

// Width is how many columns s takes on a display: two for a Chinese
// character, one for others.
func Width(s string) int { return receipt.Columns(s) }

// Wrap breaks s into rows of at most cols columns, at a space where there
// is one in the row, anywhere in a run without spaces (Chinese text, a long
// number).
func Wrap(s string, cols int) []string {
	s = strings.TrimSpace(s)
	var rows []string
	for Width(s) > cols {
		cut, w, lastSpace := 0, 0, -1
		for i, r := range s {
			rw := Width(string(r))
			if w+rw > cols {
				if r == ' ' {
					lastSpace = -1 // the row ends on a word
				}
				break
			}
			if r == ' ' {
				lastSpace = i
			}
			w += rw
			cut = i + len(string(r))
		}
		if lastSpace > 0 {
			cut = lastSpace
		}
		if cut == 0 { // a single character wider than the display
			_, cut = utf8.DecodeRuneInString(s)
		}
		rows = append(rows, strings.TrimRight(s[:cut], " "))
		s = strings.TrimLeft(s[cut:], " ")
	}
	return append(rows, s)
}

// Shorten fits s into one row of cols columns, ending in "…" when cut.
func Shorten(s string, cols int) string {
	if Width(s) <= cols {
		return s
	}
	return markCut(s, cols)
}

// markCut ends s with "…", cut to fit cols: text was left out after it.
func markCut(s string, cols int) string {
	w, end := 0, 0
	for i, r := range s {
		rw := Width(string(r))
		if w+rw > cols-Width(ellipsis) {
			break
		}
		w += rw
		end = i + utf8.RuneLen(r)
	}
	return strings.TrimRight(s[:end], " ") + ellipsis
}

func pad(s string, cols int) string {
	return s + strings.Repeat(" ", max(cols-Width(s), 0))
}
