package qr

import (
	"fmt"
	"image"
	"image/color"
	"strings"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Level is a QR error-correction level (ISO/IEC 18004:2015 §5.3.8): the
// share of the symbol that may be lost and still read.
type Level byte

// The four levels, as their letters.
const (
	LevelL Level = 'L' // about 7 %
	LevelM Level = 'M' // about 15 %: what the terminal draws
	LevelQ Level = 'Q' // about 25 %
	LevelH Level = 'H' // about 30 %
)

// Matrix encodes payload as a QR code at error correction level M: the form
// every code the terminal shows or prints takes. See Encode.
func Matrix(payload string) ([][]bool, error) { return Encode(payload, LevelM) }

// Encode encodes payload as a QR code at level (byte mode, UTF-8 with an ECI
// designator when the text is UTF-8 beyond plain ASCII, ISO/IEC 18004:2015 §7.4.2) and
// returns its modules, true for dark, row by row, without a quiet zone. It is
// the one QR encoder of the tree: the display, the printer and the tools that
// draw codes all come here.
func Encode(payload string, level Level) ([][]bool, error) {
	if payload == "" {
		return nil, fmt.Errorf("qr: nothing to encode")
	}
	switch level {
	case LevelL, LevelM, LevelQ, LevelH:
	default:
		return nil, fmt.Errorf("qr: error correction level %q is not L, M, Q or H", rune(level))
	}
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: string(rune(level)),
		gozxing.EncodeHintType_MARGIN:           0,
	}
	if !ascii(payload) && utf8.ValidString(payload) {
		// Bytes that are not UTF-8 go out as they are, without an ECI that
		// would claim otherwise.
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
	}
	bm, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("qr: encoding %d characters as a QR code: %w", len(payload), err)
	}
	w, h := bm.GetWidth(), bm.GetHeight()
	m := make([][]bool, h)
	for y := range m {
		m[y] = make([]bool, w)
		for x := range m[y] {
			m[y][x] = bm.Get(x, y)
		}
	}
	return m, nil
}

// QuietZone is the light border, in modules, that a scanner needs around a
// code; the renderers add it.
const QuietZone = 4

// HalfBlocks draws m as text, two module rows per line, with the upper and
// lower half-block characters and a quiet zone around it. A terminal that
// shows light text on a dark background wants lightOnDark: dark modules are
// then left blank and light ones drawn, so that the code reads dark on light.
func HalfBlocks(m [][]bool, lightOnDark bool) string {
	var b strings.Builder
	for _, row := range HalfBlockRows(m, QuietZone, lightOnDark) {
		b.WriteString(row)
		b.WriteByte('\n')
	}
	return b.String()
}

// HalfBlockRows draws m as HalfBlocks does, with a quiet zone of quiet
// modules, one string per text row (a small display may afford less than
// QuietZone around the code).
func HalfBlockRows(m [][]bool, quiet int, lightOnDark bool) []string {
	size := len(m)
	get := func(x, y int) bool { // true = draw ink
		dark := false
		if y >= quiet && y < size+quiet && x >= quiet && x < size+quiet {
			row := m[y-quiet]
			if x-quiet < len(row) {
				dark = row[x-quiet]
			}
		}
		return dark != lightOnDark
	}
	full := size + 2*quiet
	var rows []string
	for y := 0; y < full; y += 2 {
		var b strings.Builder
		for x := 0; x < full; x++ {
			top := get(x, y)
			bottom := y+1 < full && get(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		rows = append(rows, b.String())
	}
	return rows
}

// Image draws m as a grey image, scale pixels per module, with the quiet zone,
// dark on white: the form a display driver or a printer raster takes.
func Image(m [][]bool, scale int) *image.Gray {
	if scale < 1 {
		scale = 1
	}
	full := (len(m) + 2*QuietZone) * scale
	img := image.NewGray(image.Rect(0, 0, full, full))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y, row := range m {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					img.SetGray((x+QuietZone)*scale+dx, (y+QuietZone)*scale+dy, color.Gray{Y: 0})
				}
			}
		}
	}
	return img
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
