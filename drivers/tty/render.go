package tty

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"kpos/firmware/qr"
	"kpos/hal"
)

// Half-block characters: one character cell shows two QR modules, one above
// the other.
const (
	blockFull  = '█'
	blockUpper = '▀'
	blockLower = '▄'
)

// qrQuiet is the quiet zone around a QR code on screen, in modules.
const qrQuiet = 2

// Render lays s out as text rows for a display of columns characters: the
// title (with "[id] " before it when showID), a rule, the lines wrapped to the
// width (Chinese characters two columns wide), then the QR code, if any, in
// half-block characters with dark modules drawn as blocks (or light ones, when
// invert is set for light-on-dark displays).
func Render(s hal.Screen, columns int, showID, invert bool) ([]string, error) {
	if columns < 8 {
		columns = 8
	}
	title := s.Title
	if showID && s.ID != "" {
		title = "[" + s.ID + "] " + title
	}
	rows := wrap(title, columns)
	rows = append(rows, strings.Repeat("-", columns))
	for _, l := range s.Lines {
		rows = append(rows, wrap(l, columns)...)
	}
	if s.QR != "" {
		code, err := QRRows(s.QR, invert)
		if err != nil {
			return nil, err
		}
		rows = append(rows, code...)
	}
	return rows, nil
}

// QRRows draws payload as a QR code (error correction M) in half-block rows.
func QRRows(payload string, invert bool) ([]string, error) {
	m, err := qr.Matrix(payload)
	if err != nil {
		return nil, fmt.Errorf("tty: QR code: %w", err)
	}
	return qr.HalfBlockRows(m, qrQuiet, invert), nil
}

// DecodeQR reads back a QR code drawn by QRRows from the rows of a screen
// (other rows are ignored as long as the code's rows are contiguous), as a
// camera pointed at the display would. invert must match the drawing.
func DecodeQR(rows []string, invert bool) (string, error) {
	var lines [][]rune
	for _, r := range rows {
		if strings.ContainsAny(r, "█▀▄") {
			lines = append(lines, []rune(r))
		} else if len(lines) > 0 {
			break
		}
	}
	if len(lines) == 0 {
		return "", fmt.Errorf("tty: no QR code on screen")
	}
	width := 0
	for _, r := range lines {
		width = max(width, len(r))
	}
	const scale = 4
	const pad = 4 // extra quiet zone, in modules
	img := image.NewGray(image.Rect(0, 0, (width+2*pad)*scale, (2*len(lines)+2*pad)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	paint := func(x, y int, block bool) {
		if block == invert { // a light module
			return
		}
		for dy := 0; dy < scale; dy++ {
			for dx := 0; dx < scale; dx++ {
				img.SetGray((x+pad)*scale+dx, (y+pad)*scale+dy, color.Gray{})
			}
		}
	}
	for ry, r := range lines {
		for x := 0; x < width; x++ {
			c := ' '
			if x < len(r) {
				c = r[x]
			}
			paint(x, 2*ry, c == blockFull || c == blockUpper)
			paint(x, 2*ry+1, c == blockFull || c == blockLower)
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("tty: QR bitmap: %w", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", fmt.Errorf("tty: QR decode: %w", err)
	}
	return res.GetText(), nil
}

// wrap splits s into rows of at most width columns.
func wrap(s string, width int) []string {
	var rows []string
	for _, para := range strings.Split(s, "\n") {
		var b strings.Builder
		cols := 0
		for _, r := range para {
			if r < 0x20 || r == 0x7F || r == utf8.RuneError {
				r = ' '
			}
			w := 1
			if r >= 0x80 {
				w = 2
			}
			if cols+w > width {
				rows = append(rows, b.String())
				b.Reset()
				cols = 0
			}
			b.WriteRune(r)
			cols += w
		}
		rows = append(rows, b.String())
	}
	return rows
}
