package printeremu

import (
	"fmt"
	"image"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"kpos/firmware/qr"
)

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
	levels := map[byte]qr.Level{48: qr.LevelL, 49: qr.LevelM, 50: qr.LevelQ, 51: qr.LevelH}
	level, ok := levels[ecc]
	if !ok {
		level = qr.LevelL
	}
	m, err := qr.Encode(string(data), level)
	if err != nil {
		return nil, fmt.Errorf("printeremu: QR symbol: %w", err)
	}
	// Decoders need a few pixels per module; a print head has 8 dots per mm.
	return qr.Image(m, max(module, 3)), nil
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
