package qr

import (
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Matrix encodes payload as a QR code (error correction level M, byte mode,
// UTF-8 with an ECI marker when the text is not plain ASCII) and returns its
// modules, true for dark, row by row, without a quiet zone.
func Matrix(payload string) ([][]bool, error) {
	if payload == "" {
		return nil, fmt.Errorf("qr: nothing to encode")
	}
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           0,
	}
	for i := 0; i < len(payload); i++ {
		if payload[i] >= 0x80 {
			hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
			break
		}
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
	size := len(m)
	get := func(x, y int) bool { // true = draw ink
		dark := false
		if y >= QuietZone && y < size+QuietZone && x >= QuietZone && x < size+QuietZone {
			row := m[y-QuietZone]
			if x-QuietZone < len(row) {
				dark = row[x-QuietZone]
			}
		}
		return dark != lightOnDark
	}
	full := size + 2*QuietZone
	var b strings.Builder
	for y := 0; y < full; y += 2 {
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
		b.WriteByte('\n')
	}
	return b.String()
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
