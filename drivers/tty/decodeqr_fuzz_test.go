package tty

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeQR: the screen rows come from the display line, outside the
// firmware. No rows may panic; and what QRRows draws decodes back.
func FuzzDecodeQR(f *testing.F) {
	rows, err := QRRows("https://qr.95516.com/00010000/0123456789", false)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(strings.Join(rows, "\n"), false)
	f.Add("█▀▄\n▄▀█", true)
	f.Add("", false)
	f.Fuzz(func(t *testing.T, screen string, invert bool) {
		_, _ = DecodeQR(strings.Split(screen, "\n"), invert)
		if len(screen) > 200 || !utf8.ValidString(screen) {
			return // payloads are text; a QR code carries bytes, read back as UTF-8
		}
		rows, err := QRRows(screen, invert)
		if err != nil {
			return
		}
		got, err := DecodeQR(rows, invert)
		if err != nil || got != screen {
			t.Fatalf("drew %q, read back %q (%v)", screen, got, err)
		}
	})
}
