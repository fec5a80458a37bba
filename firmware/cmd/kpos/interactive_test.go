//go:build sim

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"kpos/hal"
)

// typed runs the simulated terminal in the terminal window, all of input
// typed at once (each line waits until the terminal is ready for it), and
// returns what the window showed.
func typed(t *testing.T, input string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kposBin, "-board", "sim", "-data", t.TempDir())
	cmd.Dir = repoPath(t, ".")
	cmd.Stdin = strings.NewReader(input + "quit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kpos: %v\n%s", err, out)
	}
	return string(out)
}

// screens lists the IDs of the screens drawn, in order.
func screens(out string) []string {
	var ids []string
	for _, m := range regexp.MustCompile(`(?m)^┌─+┐ (\S+)$`).FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// readmeBlock is the code block after the README line ending in intro.
func readmeBlock(t *testing.T, intro string) string {
	t.Helper()
	b, err := os.ReadFile(repoPath(t, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), intro+"\n\n```\n")
	if !ok {
		t.Fatalf("README has no block after %q", intro)
	}
	block, _, _ := strings.Cut(after, "```")
	return block
}

// The README's walkthroughs are typed as they are written, and do what
// they say: a card sale, two QR payments, a settlement.
func TestREADMEWalkthroughsAsWritten(t *testing.T) {
	sale := readmeBlock(t, "A sale in a minute:")
	qr := readmeBlock(t, "in the window), then the day's settlement:")
	out := typed(t, sale+qr+"host\n")
	if strings.Contains(out, "unknown command") {
		t.Fatalf("a README line is not a command:\n%s", out)
	}
	ids := strings.Join(screens(out), " ")
	for _, want := range []string{
		"confirm-amount present-card reading-card",
		"enter-pin processing printing tear-off remove-card approved",
		"qr-scan qr-confirm processing printing tear-off approved",
		"qr-show printing tear-off approved",
		"settle-confirm settling settled",
	} {
		if !strings.Contains(ids, want) {
			t.Errorf("screens %q lack %q", ids, want)
		}
	}
	for _, want := range []string{`sale\s+approved 1, declined 0, all 1`, `QR sale\s+approved 2, declined 0, all 2`,
		`settlement\s+approved 1`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("host summary lacks %s:\n%s", want, out[max(0, len(out)-600):])
		}
	}
}

// Every line typed gets an answer or does what it names.
func TestEveryLineAnswered(t *testing.T) {
	const code = "251001020123456789012345"
	cases := []struct {
		name, input string
		want        []string // in the window
		wantScreens string   // in this order, among the screens drawn
	}{
		{"a card at the idle screen", "insert unionpay-debit\n", []string{noSale}, ""},
		{"a tap, a swipe, a PIN, a code at the idle screen", "tap unionpay-debit\nswipe magstripe-only\npin 123456\nscan " + code + "\n",
			[]string{noSale + "\n" + noSale + "\n" + noSale + "\n" + noSale}, ""},
		{"a PIN before it is asked for", "1234\nenter\nenter\npin 123456\nc\n", []string{"no PIN asked for now"}, ""},
		{"remove with no card", "remove\n", []string{"no card in the reader"}, ""},
		{"F1 from the keyboard (xterm)", "menu\n3\n1234\nenter\n\x1bOP\nc\n", []string{"[QR "}, "qr-show"},
		{"F1 from the keyboard (VT220)", "menu\n3\n1234\nenter\n\x1b[11~\nc\n", []string{"[QR "}, "qr-show"},
		{"arrows and Esc", "menu\n\x1b[B\n\x1b\n", nil, "idle menu idle"},
		{"a function key the keypad lacks", "\x1b[15~\n", []string{"F5 is not a key of this keypad"}, ""},
		{"a delay the terminal will not wait for", "fault delay 5s\n", []string{"the terminal waits 3s: it sees no answer"}, ""},
		{"help's own delay example", "help\n", []string{"fault delay 2s", "the terminal waits up to 3s"}, ""},
		{"a comment", "# nothing\n", nil, ""},
		{"a void and its summary", "menu\n2\n8800\nenter\nscan " + code + "\nenter\nenter\nmenu\n6\n123456\nenter\n5\nenter\nenter\nhost\n",
			[]string{"QR sale", "void"}, "orig-confirm processing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := typed(t, c.input)
			if strings.Contains(out, "unknown command") {
				t.Errorf("not understood:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("the window lacks %q:\n%s", w, out[max(0, len(out)-1500):])
				}
			}
			if ids := strings.Join(screens(out), " "); !strings.Contains(ids, c.wantScreens) {
				t.Errorf("screens %q lack %q", ids, c.wantScreens)
			}
		})
	}
}

// The window draws the board's display: every box is as wide and as high
// as the sim board's 32 by 10 display, whatever the message.
func TestWindowDrawsTheBoardsDisplay(t *testing.T) {
	out := typed(t, "menu\n7\n")
	boxes := regexp.MustCompile(`(?s)┌(─+)┐ \S+\n(.*?)\n└─+┘`).FindAllStringSubmatch(out, -1)
	if len(boxes) < 3 {
		t.Fatalf("boxes: %d\n%s", len(boxes), out)
	}
	for _, b := range boxes {
		rows := strings.Split(b[2], "\n")
		if len([]rune(b[1])) != 34 || len(rows) != 10 {
			t.Fatalf("a box %d wide and %d high, not 34 by 10:\n%s", len([]rune(b[1])), len(rows), b[0])
		}
	}
}

func TestKeyLine(t *testing.T) {
	cases := []struct {
		line string
		keys []hal.Key
		fn   string
		ok   bool
	}{
		{"", nil, "", true},
		{"12.5", []hal.Key{'1', '2', '.', '5'}, "", true},
		{"1 2\x7f", []hal.Key{'1', '2', hal.KeyClear}, "", true},
		{"\x1bOP", []hal.Key{hal.KeyF1}, "", true},
		{"\x1b[11~", []hal.Key{hal.KeyF1}, "", true},
		{"\x1b[[A", []hal.Key{hal.KeyF1}, "", true},
		{"\x1b[A\x1b[B", []hal.Key{hal.KeyUp, hal.KeyDown}, "", true},
		{"\x1b", []hal.Key{hal.KeyCancel}, "", true},
		{"\x1bOQ", nil, "F2", true},
		{"\x1b[24~", nil, "F12", true},
		{"\x1b[99~", nil, `the key sending "\x1b[99~"`, true},
		{"insert x", nil, "", false},
		{"1234 # amount", nil, "", false}, // the comment is cut before
	}
	for _, c := range cases {
		keys, fn, ok := keyLine(c.line)
		if fmt.Sprint(keys) != fmt.Sprint(c.keys) || fn != c.fn || ok != c.ok {
			t.Errorf("%q: %v %q %v, want %v %q %v", c.line, keys, fn, ok, c.keys, c.fn, c.ok)
		}
	}
	if commentAt("scan https://example.com/#menu") != -1 || commentAt("1234 # amount") != 5 || commentAt("# x") != 0 {
		t.Error("comments found wrong")
	}
}
