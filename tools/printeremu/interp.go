package printeremu

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Align is a printed line's alignment as ESC a set it.
type Align int

// The alignments.
const (
	Left Align = iota
	Center
	Right
)

// Line is one printed row of a page.
type Line struct {
	Text   string // decoded text (GB18030 in Kanji mode turned back into UTF-8)
	Align  Align
	Bold   bool
	Double bool   // double width (and height)
	QR     string // for a printed QR code: the payload decoded back from its modules
	QRErr  string // why the QR code could not be rendered or decoded
}

// Page is paper between two cuts.
type Page struct {
	Lines []Line
	// Cut is true when the page ended with GS V; false when it was torn off
	// after paper ran out.
	Cut bool
	// Interrupted is true when paper ran out (or the cover opened) while this
	// page was printing, so part of what was sent never reached paper.
	Interrupted bool
}

// State is the printer's mechanical state, as DLE EOT reports it.
type State struct {
	PaperOut     bool
	PaperNearEnd bool
	CoverOpen    bool
	CutterError  bool // autocutter jam
	Overheat     bool // an auto-recoverable error
}

// maxPending bounds how many bytes of one unfinished command are kept:
// GS ( k can announce 65535 data bytes, and raster images more; longer
// commands are skipped rather than stored.
const maxPending = 1 << 17

// Interpreter turns ESC/POS bytes into pages. It is not safe for concurrent
// use; the Emulator serialises access. Unknown commands are skipped by their
// length where the command set defines one, else by two bytes.
type Interpreter struct {
	Columns int   // characters per line in the normal font
	state   State // mechanical state
	// paperLeft is how many more rows fit on the roll; <0 means endless.
	paperLeft int

	pending []byte // an unfinished command or multi-byte character
	skip    int    // bytes still to discard of an over-long command

	// print mode
	align  Align
	bold   bool
	double bool
	kanji  bool
	qrData []byte
	qrMod  int
	qrECC  byte

	row      strings.Builder
	rowCols  int
	rowStyle Line // style captured at the row's first character
	rowOpen  bool
	page     Page
	pages    []Page
}

// NewInterpreter returns an interpreter for a paper of columns characters,
// with an endless roll.
func NewInterpreter(columns int) *Interpreter {
	if columns <= 0 {
		columns = 48
	}
	in := &Interpreter{Columns: columns, paperLeft: -1}
	in.reset()
	return in
}

func (in *Interpreter) reset() {
	in.align, in.bold, in.double, in.kanji = Left, false, false, false
	in.qrMod, in.qrECC = 3, 48
}

// State returns the mechanical state.
func (in *Interpreter) State() State { return in.state }

// SetState replaces the mechanical state. Clearing PaperOut loads a new roll:
// a page left unfinished by the paper end is torn off as it is.
func (in *Interpreter) SetState(s State) {
	if in.state.PaperOut && !s.PaperOut {
		in.tearOff()
		in.paperLeft = -1
	}
	if (s.PaperOut || s.CoverOpen) && (in.rowOpen || len(in.page.Lines) > 0) {
		in.page.Interrupted = true
	}
	in.state = s
}

// RunOutAfter makes the roll end after n more printed rows (n < 0: endless).
func (in *Interpreter) RunOutAfter(n int) {
	in.paperLeft = n
	if n == 0 {
		in.state.PaperOut = true
	}
}

// Pages returns the finished pages (cut or torn off).
func (in *Interpreter) Pages() []Page { return append([]Page(nil), in.pages...) }

// Current returns the page being printed, not yet cut.
func (in *Interpreter) Current() Page { return in.page }

func (in *Interpreter) tearOff() {
	in.flushRow()
	if len(in.page.Lines) > 0 || in.page.Interrupted {
		in.pages = append(in.pages, in.page)
	}
	in.page = Page{}
}

// StatusByte returns the reply to DLE EOT n, or false for an n it does not
// answer.
func (in *Interpreter) StatusByte(n byte) (byte, bool) {
	const fixed = 0x12
	s := in.state
	switch n {
	case 1:
		b := byte(fixed)
		if s.PaperOut || s.CoverOpen || s.CutterError || s.Overheat {
			b |= 0x08
		}
		return b, true
	case 2:
		b := byte(fixed)
		if s.CoverOpen {
			b |= 0x04
		}
		if s.PaperOut {
			b |= 0x20
		}
		if s.CutterError || s.Overheat {
			b |= 0x40
		}
		return b, true
	case 3:
		b := byte(fixed)
		if s.CutterError {
			b |= 0x08
		}
		if s.Overheat {
			b |= 0x40
		}
		return b, true
	case 4:
		b := byte(fixed)
		if s.PaperNearEnd {
			b |= 0x0C
		}
		if s.PaperOut {
			b |= 0x60
		}
		return b, true
	}
	return 0, false
}

// Feed interprets data and returns what the printer answers (status bytes).
func (in *Interpreter) Feed(data []byte) []byte {
	var reply []byte
	for len(data) > 0 {
		if in.skip > 0 {
			n := min(in.skip, len(data))
			in.skip -= n
			data = data[n:]
			continue
		}
		in.pending = append(in.pending, data[0])
		data = data[1:]
		need := in.need(in.pending)
		switch {
		case need == 0:
			reply = in.exec(in.pending, reply)
			in.pending = in.pending[:0]
		case need < 0: // not a GB18030 sequence: print the lead byte as '?'
			rest := append([]byte(nil), in.pending[1:]...)
			in.pending = in.pending[:0]
			in.putText("?", 1)
			data = append(rest, data...)
		case need > maxPending:
			in.skip = need - len(in.pending)
			in.pending = in.pending[:0]
		}
	}
	return reply
}

// need returns 0 when b is a complete unit (command, character), else the
// total length the unit will have (or len(b)+1 when unknown yet).
func (in *Interpreter) need(b []byte) int {
	switch c := b[0]; {
	case c == 0x10: // DLE
		return needDLE(b)
	case c == 0x1B: // ESC
		return needESC(b)
	case c == 0x1C: // FS
		return needFS(b)
	case c == 0x1D: // GS
		return needGS(b)
	case c >= 0x80 && in.kanji: // GB18030 multi-byte character
		return gbNeed(b)
	}
	return 0
}

// want is need's answer for a unit of n bytes: 0 once b holds them, else n.
func want(b []byte, n int) int {
	if len(b) >= n {
		return 0
	}
	return n
}

// more is need's answer while b is too short to tell the unit's length.
func more(b []byte) int { return len(b) + 1 }

// le16 reads a little-endian 16-bit count (nL nH).
func le16(lo, hi byte) int { return int(lo) | int(hi)<<8 }

func needDLE(b []byte) int {
	if len(b) < 2 {
		return more(b)
	}
	switch b[1] {
	case 0x04, 0x05: // EOT n, ENQ n
		return want(b, 3)
	case 0x14: // DC4 fn ...
		if len(b) < 3 {
			return more(b)
		}
		switch b[2] {
		case 1, 2:
			return want(b, 5)
		case 8:
			return want(b, 10)
		}
		return want(b, 3)
	}
	return want(b, 2)
}

func needESC(b []byte) int {
	if len(b) < 2 {
		return more(b)
	}
	switch b[1] {
	case '@', '2', '<':
		return want(b, 2)
	case 'p':
		return want(b, 5)
	case '$', '\\':
		return want(b, 4)
	case '*': // ESC * m nL nH d1..dk
		if len(b) < 5 {
			return more(b)
		}
		k := le16(b[3], b[4])
		if b[2] == 32 || b[2] == 33 {
			k *= 3
		}
		return want(b, 5+k)
	case 'D': // tab positions, NUL terminated
		if b[len(b)-1] == 0 && len(b) > 2 || len(b) > 34 {
			return 0
		}
		return more(b)
	}
	return want(b, 3)
}

func needFS(b []byte) int {
	if len(b) < 2 {
		return more(b)
	}
	switch b[1] {
	case '&', '.':
		return want(b, 2)
	case 'S':
		return want(b, 4)
	case '2':
		return want(b, 76)
	}
	return want(b, 3)
}

func needGS(b []byte) int {
	if len(b) < 2 {
		return more(b)
	}
	switch b[1] {
	case '(', '8': // GS ( fn pL pH …
		if len(b) < 5 {
			return more(b)
		}
		return want(b, 5+le16(b[3], b[4]))
	case 'V':
		if len(b) < 3 {
			return more(b)
		}
		if b[2] >= 65 {
			return want(b, 4)
		}
		return want(b, 3)
	case 'v': // GS v 0 m xL xH yL yH d…
		if len(b) < 8 {
			return more(b)
		}
		return want(b, 8+le16(b[4], b[5])*le16(b[6], b[7]))
	case 'k': // barcode
		return needBarcode(b)
	case 'L', 'W', 'P', '$', '\\':
		return want(b, 4)
	}
	return want(b, 3)
}

// needBarcode sizes GS k: function A (m 0..6) ends at a NUL, function B
// (m 65..) carries its length.
func needBarcode(b []byte) int {
	if len(b) < 3 {
		return more(b)
	}
	if b[2] <= 6 {
		if len(b) > 3 && b[len(b)-1] == 0 || len(b) > 258 {
			return 0
		}
		return more(b)
	}
	if len(b) < 4 {
		return more(b)
	}
	return want(b, 4+int(b[3]))
}

// gbNeed is need for a GB18030 sequence starting at b[0] >= 0x80: 0 when
// complete, -1 when b cannot start one, else the length it will have.
func gbNeed(b []byte) int {
	lead := func(c byte) bool { return c >= 0x81 && c <= 0xFE }
	digit := func(c byte) bool { return c >= 0x30 && c <= 0x39 }
	if !lead(b[0]) {
		return -1
	}
	if len(b) < 2 {
		return 2
	}
	if digit(b[1]) {
		switch {
		case len(b) < 3:
			return 4
		case !lead(b[2]):
			return -1
		case len(b) < 4:
			return 4
		case !digit(b[3]):
			return -1
		}
		return 0
	}
	if b[1] < 0x40 || b[1] == 0x7F || b[1] == 0xFF {
		return -1
	}
	return 0
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// exec carries out one complete unit.
func (in *Interpreter) exec(b []byte, reply []byte) []byte {
	c := b[0]
	switch {
	case c == 0x0A: // LF
		in.printRow()
	case c == 0x09: // HT
		in.putText(" ", 1)
	case c == 0x10:
		if b[1] == 0x04 {
			if st, ok := in.StatusByte(b[2]); ok {
				reply = append(reply, st)
			}
		}
		if b[1] == 0x14 && b[2] == 8 && string(b[3:]) == "\x01\x03\x14\x01\x06\x02\x08" { // clear buffers
			in.row.Reset()
			in.rowCols, in.rowOpen = 0, false
			in.qrData = nil
			reply = append(reply, 0x37, 0x25, 0x00)
		}
	case c == 0x1B:
		in.esc(b)
	case c == 0x1C:
		switch b[1] {
		case '&':
			in.kanji = true
		case '.':
			in.kanji = false
		case '!': // FS ! n: Kanji print mode, bit 2/3 double width/height
			in.double = b[2]&0x0C != 0
		}
	case c == 0x1D:
		if b[1] == '(' && b[2] == 'H' && len(b) == 11 && b[5] == 48 && b[6] == 48 {
			// Process ID response: sent once everything before it is printed,
			// which an off-line printer (no paper, cover open) never reaches.
			if !in.state.PaperOut && !in.state.CoverOpen && digits(b[7:11]) {
				reply = append(append(append(reply, 0x37, 0x22), b[7:11]...), 0x00)
			}
			break
		}
		in.gs(b)
	case c >= 0x20 && c < 0x7F:
		in.putText(string(rune(c)), 1)
	case c >= 0x80:
		if !in.kanji {
			in.putText("?", 1)
			break
		}
		s, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b)
		if err != nil || !utf8.Valid(s) {
			in.putText("?", 1)
			break
		}
		in.putText(string(s), 2)
	}
	// Other control bytes (CR, NUL, …) are ignored.
	return reply
}

func (in *Interpreter) esc(b []byte) {
	switch b[1] {
	case '@':
		in.flushRow()
		in.reset()
		in.qrData = nil
	case 'a':
		switch b[2] {
		case 1, '1':
			in.align = Center
		case 2, '2':
			in.align = Right
		default:
			in.align = Left
		}
	case 'E':
		in.bold = b[2]&1 != 0
	case '!':
		in.bold = b[2]&0x08 != 0
		in.double = b[2]&0x30 != 0
	case 'd': // print and feed n lines
		in.flushRow()
		for i := 0; i < int(b[2]); i++ {
			in.printBlank()
		}
	case 'J': // print and feed n dots
		in.flushRow()
	}
}

func (in *Interpreter) gs(b []byte) {
	switch b[1] {
	case '!':
		in.double = b[2] != 0
	case 'V':
		in.flushRow()
		if in.state.PaperOut || in.state.CoverOpen {
			return // the cutter cannot run; the page stays for tearing off
		}
		in.page.Cut = true
		in.pages = append(in.pages, in.page)
		in.page = Page{}
	case '(':
		if b[2] == 'k' && len(b) >= 8 && b[5] == 49 {
			in.qr(b[6], b[7:])
		}
	}
}

// qr handles GS ( k for the QR symbol (cn = 49).
func (in *Interpreter) qr(fn byte, params []byte) {
	switch fn {
	case 67: // module size
		if len(params) >= 1 && params[0] >= 1 && params[0] <= 16 {
			in.qrMod = int(params[0])
		}
	case 69: // error correction
		if len(params) >= 1 && params[0] >= 48 && params[0] <= 51 {
			in.qrECC = params[0]
		}
	case 80: // store: m=48 then data
		if len(params) >= 1 {
			in.qrData = append([]byte(nil), params[1:]...)
		}
	case 81: // print
		in.flushRow()
		l := Line{Align: in.align}
		if in.qrData == nil {
			l.QRErr = "no data stored"
		} else {
			l.QR, l.QRErr = renderAndDecode(in.qrData, in.qrECC, in.qrMod)
		}
		in.emit(l)
	}
}

func (in *Interpreter) putText(s string, cols int) {
	if in.double {
		cols *= 2
	}
	if in.rowCols+cols > in.Columns {
		in.printRow() // the printer wraps by itself
	}
	if !in.rowOpen {
		in.rowStyle = Line{Align: in.align, Bold: in.bold, Double: in.double}
		in.rowOpen = true
	}
	in.row.WriteString(s)
	in.rowCols += cols
}

// flushRow prints a row that has characters but no LF yet (ESC @ and cuts
// print the buffer first).
func (in *Interpreter) flushRow() {
	if in.rowOpen {
		in.printRow()
	}
}

func (in *Interpreter) printRow() {
	l := in.rowStyle
	if !in.rowOpen {
		l = Line{Align: in.align, Bold: in.bold, Double: in.double}
	}
	l.Text = in.row.String()
	in.row.Reset()
	in.rowCols, in.rowOpen = 0, false
	in.emit(l)
}

func (in *Interpreter) printBlank() {
	in.emit(Line{Align: in.align})
}

// emit puts l on paper, or loses it when there is no paper.
func (in *Interpreter) emit(l Line) {
	if in.state.PaperOut || in.state.CoverOpen {
		in.page.Interrupted = true
		return
	}
	in.page.Lines = append(in.page.Lines, l)
	if in.paperLeft > 0 {
		in.paperLeft--
		if in.paperLeft == 0 {
			in.state.PaperOut = true
			in.page.Interrupted = true // the page cannot be finished
		}
	}
}

// Text renders the page as the paper shows it: each row laid out on
// columns characters (Chinese characters two columns wide, double-size text
// twice as wide), QR codes as "[QR payload]".
func (p Page) Text(columns int) string {
	var b strings.Builder
	for _, l := range p.Lines {
		s := l.Text
		if l.QR != "" || l.QRErr != "" {
			s = "[QR " + l.QR + "]"
			if l.QRErr != "" {
				s = "[QR unreadable: " + l.QRErr + "]"
			}
		}
		w := width(s)
		if l.Double && l.QR == "" {
			w *= 2
		}
		pad := 0
		switch l.Align {
		case Center:
			pad = (columns - w) / 2
		case Right:
			pad = columns - w
		}
		if pad > 0 && s != "" {
			b.WriteString(strings.Repeat(" ", pad))
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

func width(s string) int {
	n := 0
	for _, r := range s {
		if r < 0x80 {
			n++
		} else {
			n += 2
		}
	}
	return n
}
