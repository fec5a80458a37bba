package escpos

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"kpos/hal"
)

// ESC/POS command bytes used by the encoder.
const (
	lf  = 0x0A
	dle = 0x10
	eot = 0x04
	esc = 0x1B
	fs  = 0x1C
	gs  = 0x1D
)

// clearBuffers is DLE DC4 fn=8: clear the receive and print buffers. The
// printer answers 37 25 00, which the status reader skips.
const clearBuffers = "\x10\x14\x08\x01\x03\x14\x01\x06\x02\x08"

// Header-block responses: 0x37, an identifier, data, NUL.
const (
	blockHeader    = 0x37
	blockProcessID = 0x22 // the answer to GS ( H fn=48
	maxBlock       = 32
)

// processID is GS ( H fn=48: "answer with these four bytes once everything
// before this command has been printed".
func processID(id string) []byte {
	return append([]byte{gs, '(', 'H', 6, 0, 48, 48}, id[:4]...)
}

// QR error correction levels as GS ( k function 169 takes them.
const (
	QRLevelL = 48
	QRLevelM = 49
	QRLevelQ = 50
	QRLevelH = 51
)

// maxQRPayload is the most a QR code symbol (version 40, level L, byte mode)
// holds; GS ( k cannot store more than that anyway.
const maxQRPayload = 2953

// Encoder turns document lines into ESC/POS bytes for one paper width. Its
// zero value is not usable; build it with NewEncoder.
type Encoder struct {
	columns  int  // characters per line in the normal font
	chinese  bool // encode non-ASCII text as GB18030 in Kanji mode
	codePage int  // ESC t code page, -1 to leave the printer's default
	qrModule int  // QR module size in dots (1..16)
	qrLevel  byte // QR error correction, QRLevelL..QRLevelH
}

// NewEncoder returns an encoder for cfg's paper width and character set.
func NewEncoder(cfg Config) *Encoder {
	cfg = cfg.withDefaults()
	return &Encoder{
		columns:  cfg.Columns,
		chinese:  cfg.ChineseGB18030,
		codePage: cfg.CodePage,
		qrModule: cfg.QRModule,
		qrLevel:  byte(cfg.QRLevel),
	}
}

// Columns returns the number of normal-size characters per line.
func (e *Encoder) Columns() int { return e.columns }

// Init returns the bytes that reset the printer at the start of a document:
// ESC @, the code page, and Kanji mode off.
func (e *Encoder) Init() []byte {
	b := []byte{esc, '@'}
	if e.codePage >= 0 {
		b = append(b, esc, 't', byte(e.codePage))
	}
	return append(b, fs, '.')
}

// Line returns the bytes that print l: its style, its text wrapped to the
// paper width (or its QR code), its feed and its cut.
func (e *Encoder) Line(l hal.Line) ([]byte, error) {
	var b []byte
	b = append(b, esc, 'a', alignByte(l.Align))
	b = append(b, esc, 'E', boolByte(l.Bold))
	size := byte(0x00)
	if l.Double {
		size = 0x11
	}
	b = append(b, gs, '!', size)
	if l.QR != "" {
		q, err := e.qr(l.QR)
		if err != nil {
			return nil, err
		}
		b = append(b, q...)
	} else {
		width := e.columns
		if l.Double {
			width /= 2
		}
		for _, row := range Wrap(l.Text, width) {
			b = append(b, e.text(row)...)
			b = append(b, lf)
		}
	}
	if l.Bold || l.Double {
		b = append(b, esc, 'E', 0, gs, '!', 0)
	}
	if l.Feed > 0 {
		for n := l.Feed; n > 0; n -= 255 {
			b = append(b, esc, 'd', byte(min(n, 255)))
		}
	}
	if l.Cut {
		// GS V 66 n: feed to the cutter plus n and cut partially.
		b = append(b, gs, 'V', 66, 0)
	}
	return b, nil
}

// Encode returns the bytes of a whole document, Init included.
func (e *Encoder) Encode(doc hal.Document) ([]byte, error) {
	b := e.Init()
	for i, l := range doc.Lines {
		lb, err := e.Line(l)
		if err != nil {
			return nil, fmt.Errorf("escpos: line %d: %w", i, err)
		}
		b = append(b, lb...)
	}
	return b, nil
}

// text encodes one row of text. ASCII goes as is; with Chinese enabled every
// other character goes in GB18030 inside FS & … FS .; without it, as '?'.
func (e *Encoder) text(s string) []byte {
	var b []byte
	kanji := false
	enc := simplifiedchinese.GB18030.NewEncoder()
	for _, r := range s {
		if r < 0x80 {
			if kanji {
				b = append(b, fs, '.')
				kanji = false
			}
			if r < 0x20 || r == 0x7F {
				r = ' ' // control characters would be taken as commands
			}
			b = append(b, byte(r))
			continue
		}
		if !e.chinese || r == utf8.RuneError {
			b = append(b, '?', '?')
			continue
		}
		gb, err := enc.Bytes([]byte(string(r)))
		if err != nil {
			b = append(b, '?', '?')
			continue
		}
		if !kanji {
			b = append(b, fs, '&')
			kanji = true
		}
		b = append(b, gb...)
	}
	if kanji {
		b = append(b, fs, '.')
	}
	return b
}

// qr returns GS ( k: select model 2, module size, error correction, store
// the payload, print it.
func (e *Encoder) qr(payload string) ([]byte, error) {
	if len(payload) > maxQRPayload {
		return nil, fmt.Errorf("escpos: QR payload of %d bytes exceeds %d", len(payload), maxQRPayload)
	}
	b := []byte{
		gs, '(', 'k', 4, 0, 49, 65, 50, 0, // fn 165: model 2
		gs, '(', 'k', 3, 0, 49, 67, byte(e.qrModule), // fn 167: module size
		gs, '(', 'k', 3, 0, 49, 69, e.qrLevel, // fn 169: error correction
	}
	n := len(payload) + 3
	b = append(b, gs, '(', 'k', byte(n), byte(n>>8), 49, 80, 48) // fn 180: store
	b = append(b, payload...)
	b = append(b, gs, '(', 'k', 3, 0, 49, 81, 48) // fn 181: print
	return b, nil
}

// Wrap splits s into rows of at most width columns, where ASCII characters
// take one column and all others (Chinese) two, as they print in Kanji mode.
// It breaks after the last space of a row when there is one, so words stay
// whole; a word longer than a row is split. Newlines in s start new rows. An
// empty s is one empty row.
func Wrap(s string, width int) []string {
	if width < 2 {
		width = 2
	}
	var rows []string
	for _, para := range strings.Split(s, "\n") {
		rows = append(rows, wrapPara(para, width)...)
	}
	return rows
}

func wrapPara(s string, width int) []string {
	var rows []string
	runes := []rune(strings.TrimRight(s, " "))
	if len(runes) == 0 {
		return []string{""}
	}
	for len(runes) > 0 {
		cols, cut, lastSpace := 0, 0, -1
		for cut < len(runes) {
			w := RuneWidth(runes[cut])
			if cols+w > width {
				break
			}
			if runes[cut] == ' ' {
				lastSpace = cut
			}
			cols += w
			cut++
		}
		if cut < len(runes) && lastSpace > 0 && runes[cut] != ' ' {
			cut = lastSpace
		}
		rows = append(rows, strings.TrimRight(string(runes[:cut]), " "))
		runes = runes[cut:]
		for len(runes) > 0 && runes[0] == ' ' {
			runes = runes[1:]
		}
	}
	return rows
}

// RuneWidth returns the columns r takes on paper: 1 for ASCII, 2 for
// everything printed in Kanji mode.
func RuneWidth(r rune) int {
	if r < 0x80 {
		return 1
	}
	return 2
}

// TextWidth returns the columns s takes on paper.
func TextWidth(s string) int {
	n := 0
	for _, r := range s {
		n += RuneWidth(r)
	}
	return n
}

func alignByte(a hal.Align) byte {
	switch a {
	case hal.AlignCenter:
		return 1
	case hal.AlignRight:
		return 2
	}
	return 0
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
