package corpus

import (
	"fmt"
	"slices"
	"sync"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// The charset corpus: codes whose bytes are not ASCII, drawn as clean
// camera frames, so that what is measured is how a decoder turns bytes into
// text. ISO/IEC 18004 lets a code name its character set with an ECI; one
// without an ECI leaves the decoder to recognise it.
const (
	// UTF8 is UTF-8 text without an ECI (the EMVCo merchant-presented
	// codes with Chinese names are so).
	UTF8 Variant = "utf8"
	// ShiftJIS is Shift_JIS text without an ECI (Japanese codes, as JIS X
	// 0510 had them before ECIs).
	ShiftJIS Variant = "sjis"
	// Latin1 is ISO-8859-1 text without an ECI (the default of ISO/IEC
	// 18004:2015).
	Latin1 Variant = "latin1"
	// ECI is text whose character set an ECI names: UTF-8 (26),
	// ISO-8859-5 (7), GB18030 (29), Shift_JIS (20), ISO-8859-7 (9).
	ECI Variant = "eci"
)

// CharsetVariants lists the charset corpus's variants.
var CharsetVariants = []Variant{UTF8, ShiftJIS, Latin1, ECI}

func isCharset(v Variant) bool { return slices.Contains(CharsetVariants, v) }

// Sample is a text and how a code carries it.
type Sample struct {
	Text    string // what a decoder must return (UTF-8)
	Charset string // the character set of the bytes in the code
	ECI     bool   // whether the code names it with an ECI
}

var samples = map[Variant][]Sample{
	UTF8: {
		// EMVCo QRCPS-MPM Appendix A's alternate-language template.
		{Text: withCRC("000201010211" + "5204581253031565802CN5914BEST TRANSPORT6007BEIJING" + "64200002ZH0104最佳运输0202北京" + "6304"), Charset: "UTF-8"},
		{Text: "银联二维码支付 商户：张三面馆 金额 23.50 元", Charset: "UTF-8"},
		{Text: "https://qr.95516.com/pay?商户=北京水果店&amount=8.80", Charset: "UTF-8"},
	},
	ShiftJIS: {
		{Text: "お支払いありがとうございます。合計５００円", Charset: "Shift_JIS"},
		{Text: "東京都千代田区丸の内１－１　ｶﾌｪ", Charset: "Shift_JIS"},
		{Text: "領収書番号：ＡＢ－１２３４５", Charset: "Shift_JIS"},
	},
	Latin1: {
		{Text: "Café Zürich, Crème brûlée 12,50 Fr.", Charset: "ISO-8859-1"},
		{Text: "Größe: mittel; Preis 3,20 DM; Straße Nr. 5", Charset: "ISO-8859-1"},
		{Text: "Señor Muñoz pagó ¡gracias! año 2026", Charset: "ISO-8859-1"},
	},
	ECI: {
		{Text: "Hôtel 北京 ¥ 128.00 — merci", Charset: "UTF-8", ECI: true},
		{Text: "Оплата заказа № 4521, спасибо", Charset: "ISO-8859-5", ECI: true},
		{Text: "北京烤鸭店 收款码 欢迎光临", Charset: "GB18030", ECI: true},
		{Text: "ご来店ありがとうございます", Charset: "Shift_JIS", ECI: true},
		{Text: "Ευχαριστούμε για την αγορά σας", Charset: "ISO-8859-7", ECI: true},
	},
}

// withCRC appends an EMVCo CRC to a payload ending in "6304".
func withCRC(s string) string { return s + crc16(s) }

// rawMu guards gozxing's default byte-mode encoding while EncodeSample
// swaps it.
var rawMu sync.Mutex

var charsets = map[string]encoding.Encoding{
	"UTF-8":       encoding.Nop,
	"Shift_JIS":   japanese.ShiftJIS,
	"ISO-8859-1":  charmap.ISO8859_1,
	"ISO-8859-15": charmap.ISO8859_15,
	"ISO-8859-5":  charmap.ISO8859_5,
	"ISO-8859-7":  charmap.ISO8859_7,
	"GB18030":     simplifiedchinese.GB18030,
}

// Samples returns n samples of charset variant v, in rotation.
func Samples(v Variant, n int) []Sample {
	all := samples[v]
	out := make([]Sample, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out
}

// Bytes returns the bytes the code carries for s.
func (s Sample) Bytes() ([]byte, error) {
	enc, ok := charsets[s.Charset]
	if !ok {
		return nil, fmt.Errorf("corpus: unknown charset %q", s.Charset)
	}
	b, err := enc.NewEncoder().Bytes([]byte(s.Text))
	if err != nil {
		return nil, fmt.Errorf("corpus: %q in %s: %w", s.Text, s.Charset, err)
	}
	return b, nil
}

// EncodeSample returns the symbol of s: its bytes in one byte-mode
// segment, after an ECI designator when s.ECI (gozxing's encoder, error
// correction M).
func EncodeSample(s Sample) (Symbol, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_MARGIN:           0,
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
	}
	content := s.Text
	if s.ECI {
		hints[gozxing.EncodeHintType_CHARACTER_SET] = s.Charset
	} else {
		// Without a character-set hint the encoder writes no ECI and
		// converts the text with its default encoding: make that a
		// pass-through for the time of the call and hand it the bytes.
		b, err := s.Bytes()
		if err != nil {
			return Symbol{}, err
		}
		content = string(b)
		rawMu.Lock()
		defer rawMu.Unlock()
		saved := encoder.Encoder_DEFAULT_BYTE_MODE_ENCODING
		encoder.Encoder_DEFAULT_BYTE_MODE_ENCODING = encoding.Nop
		defer func() { encoder.Encoder_DEFAULT_BYTE_MODE_ENCODING = saved }()
	}
	m, err := qrcode.NewQRCodeWriter().Encode(content, gozxing.BarcodeFormat_QR_CODE, 1, 1, hints)
	if err != nil {
		return Symbol{}, fmt.Errorf("corpus: encode %s sample: %w", s.Charset, err)
	}
	sym := Symbol{N: m.GetWidth(), Dark: make([]bool, m.GetWidth()*m.GetHeight())}
	for y := 0; y < sym.N; y++ {
		for x := 0; x < sym.N; x++ {
			sym.Dark[y*sym.N+x] = m.Get(x, y)
		}
	}
	return sym, nil
}
