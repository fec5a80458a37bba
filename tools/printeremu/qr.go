package printeremu

import (
	"fmt"
	"image"
	"image/color"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
)

// quietZone is the white border, in modules, around a printed symbol.
const quietZone = 4

// renderAndDecode does what the print head and a phone would: it builds the
// QR symbol the printer makes of data (error correction ecc 48..51, module
// size dots), draws its modules as pixels, and decodes the picture. It returns
// the decoded payload, or a reason why the symbol could not be made or read.
func renderAndDecode(data []byte, ecc byte, module int) (string, string) {
	img, err := Symbol(data, ecc, module)
	if err != nil {
		return "", err.Error()
	}
	text, err := Decode(img)
	if err != nil {
		return "", err.Error()
	}
	return text, ""
}

// Symbol draws the QR symbol a printer makes of data with error correction
// ecc (48 = L … 51 = H) and module size dots per module, quiet zone included.
func Symbol(data []byte, ecc byte, module int) (*image.Gray, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("printeremu: empty QR data")
	}
	levels := map[byte]decoder.ErrorCorrectionLevel{
		48: decoder.ErrorCorrectionLevel_L, 49: decoder.ErrorCorrectionLevel_M,
		50: decoder.ErrorCorrectionLevel_Q, 51: decoder.ErrorCorrectionLevel_H,
	}
	level, ok := levels[ecc]
	if !ok {
		level = decoder.ErrorCorrectionLevel_L
	}
	hints := map[gozxing.EncodeHintType]interface{}{}
	if !ascii(data) && utf8.Valid(data) {
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "UTF-8"
	}
	code, err := encoder.Encoder_encode(string(data), level, hints)
	if err != nil {
		return nil, fmt.Errorf("printeremu: QR symbol: %w", err)
	}
	m := code.GetMatrix()
	if module < 1 {
		module = 1
	}
	// Decoders need a few pixels per module; a print head has 8 dots per mm.
	scale := max(module, 3)
	side := (m.GetWidth() + 2*quietZone) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) != 1 {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				for dx := 0; dx < scale; dx++ {
					img.SetGray((x+quietZone)*scale+dx, (y+quietZone)*scale+dy, color.Gray{})
				}
			}
		}
	}
	return img, nil
}

// Decode reads a QR code from img.
func Decode(img image.Image) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("printeremu: QR bitmap: %w", err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("printeremu: QR decode: %w", err)
	}
	return res.GetText(), nil
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
