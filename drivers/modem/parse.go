package modem

import (
	"fmt"
	"strconv"
	"strings"
)

// maxLine bounds one response line; a longer run of bytes without a line end
// is cut into pieces of this size so that a babbling modem cannot grow memory.
const maxLine = 1024

// maxRawRead bounds the payload a +QIRD header may announce. The driver never
// asks for more than this, so a larger figure is a framing error.
const maxRawRead = 1500

type frameKind int

const (
	frameLine   frameKind = iota // one text line without its terminator
	framePrompt                  // the "> " data prompt of AT+QISEND
	frameData                    // raw socket bytes announced by "+QIRD: n"
)

// frame is one unit the parser recognises in the modem's output.
type frame struct {
	kind frameKind
	line string
	data []byte
}

// parser splits the modem's byte stream into lines, prompts and raw payloads.
// It is fed arbitrary chunks; the frames it emits do not depend on how the
// stream was cut.
type parser struct {
	line   []byte
	raw    int // payload bytes still expected after a "+QIRD: n" line
	data   []byte
	skipLF bool // the last line ended in CR: drop one LF that follows
	// skipSpace drops the space that follows a "> " prompt.
	skipSpace bool
}

// feed consumes b and calls emit for every complete frame.
func (p *parser) feed(b []byte, emit func(frame)) {
	for len(b) > 0 {
		if p.raw > 0 {
			if p.skipLF {
				p.skipLF = false
				if b[0] == '\n' {
					b = b[1:]
					continue
				}
			}
			n := min(p.raw, len(b))
			p.data = append(p.data, b[:n]...)
			p.raw -= n
			b = b[n:]
			if p.raw == 0 {
				emit(frame{kind: frameData, data: p.data})
				p.data = nil
			}
			continue
		}
		c := b[0]
		b = b[1:]
		if p.skipLF {
			p.skipLF = false
			if c == '\n' {
				continue
			}
		}
		if p.skipSpace {
			p.skipSpace = false
			if c == ' ' {
				continue
			}
		}
		switch {
		case c == '\r' || c == '\n':
			p.skipLF = c == '\r'
			p.endLine(emit)
		case c == '>' && len(p.line) == 0:
			// The prompt is not followed by a line end; a space may follow.
			emit(frame{kind: framePrompt})
			p.skipSpace = true
		default:
			p.line = append(p.line, c)
			if len(p.line) >= maxLine {
				p.endLine(emit)
			}
		}
	}
}

func (p *parser) endLine(emit func(frame)) {
	if len(p.line) == 0 {
		return
	}
	line := string(p.line)
	p.line = p.line[:0]
	emit(frame{kind: frameLine, line: line})
	if n, ok := qirdLength(line); ok && n > 0 {
		p.raw = n
	}
}

// qirdLength returns n for a "+QIRD: n" header that announces n raw bytes.
func qirdLength(line string) (int, bool) {
	rest, ok := strings.CutPrefix(line, "+QIRD: ")
	if !ok {
		return 0, false
	}
	// Buffer-access mode answers "+QIRD: <read_actual_length>"; the query
	// form with three numbers (AT+QIRD=id,0) announces no payload.
	if strings.Contains(rest, ",") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 0 || n > maxRawRead {
		return 0, false
	}
	return n, true
}

// resultKind classifies a line that ends a command.
type resultKind int

const (
	notFinal resultKind = iota
	finalOK
	finalError
)

// finalResult reports whether line ends a command, and how.
func finalResult(line string) resultKind {
	switch line {
	case "OK", "SEND OK":
		return finalOK
	case "ERROR", "SEND FAIL", "NO CARRIER", "NO ANSWER", "BUSY", "NO DIALTONE":
		return finalError
	}
	if strings.HasPrefix(line, "+CME ERROR:") || strings.HasPrefix(line, "+CMS ERROR:") {
		return finalError
	}
	return notFinal
}

// urcPrefixes are the unsolicited result codes the driver listens for. A line
// with one of these prefixes is a response, not a URC, while a command whose
// own prefix it is (AT+CREG? answers "+CREG: …") is waiting.
var urcPrefixes = []string{
	"+QIURC:", "+QIOPEN:", "+CREG:", "+CEREG:", "+CGREG:", "+CPIN:",
	"RING", "RDY", "POWERED DOWN", "+QIND:", "+CFUN:",
}

// isURC reports whether line is an unsolicited result code given the prefix
// (such as "+CREG") of the command waiting for an answer, "" when none.
func isURC(line, cmdPrefix string) bool {
	for _, p := range urcPrefixes {
		if strings.HasPrefix(line, p) {
			if cmdPrefix != "" && strings.HasPrefix(line, cmdPrefix+":") {
				return false
			}
			return true
		}
	}
	return false
}

// commandPrefix returns the information-response prefix of an AT command:
// "AT+CREG?" → "+CREG", "AT+QIRD=0,100" → "+QIRD", "ATE0" → "".
func commandPrefix(cmd string) string {
	if len(cmd) < 3 || !strings.EqualFold(cmd[:2], "AT") || (cmd[2] != '+' && cmd[2] != '$') {
		return ""
	}
	end := strings.IndexAny(cmd, "=?")
	if end < 0 {
		end = len(cmd)
	}
	return strings.ToUpper(cmd[2:end])
}

// splitFields splits the parameters of an information line ("+X: a,"b",c")
// at commas outside quotes and unquotes each field.
func splitFields(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// infoFields strips "prefix: " from line and splits the rest into fields.
func infoFields(line, prefix string) ([]string, error) {
	rest, ok := strings.CutPrefix(line, prefix+":")
	if !ok {
		return nil, fmt.Errorf("modem: %q is not a %s line", line, prefix)
	}
	return splitFields(strings.TrimSpace(rest)), nil
}

func atoiField(fields []string, i int) (int, error) {
	if i >= len(fields) {
		return 0, fmt.Errorf("modem: field %d missing", i)
	}
	n, err := strconv.Atoi(fields[i])
	if err != nil {
		return 0, fmt.Errorf("modem: field %d: %w", i, err)
	}
	return n, nil
}

// parseCSQ reads "+CSQ: <rssi>,<ber>"; rssi 99 (unknown) becomes -1.
func parseCSQ(line string) (int, error) {
	f, err := infoFields(line, "+CSQ")
	if err != nil {
		return 0, err
	}
	rssi, err := atoiField(f, 0)
	if err != nil {
		return 0, err
	}
	if rssi == 99 {
		return -1, nil
	}
	if rssi < 0 || rssi > 31 {
		return 0, fmt.Errorf("modem: rssi %d out of range", rssi)
	}
	return rssi, nil
}

// Registration states as 3GPP TS 27.007 numbers them.
const (
	regNotSearching = 0
	regHome         = 1
	regSearching    = 2
	regDenied       = 3
	regUnknown      = 4
	regRoaming      = 5
)

func registered(stat int) bool { return stat == regHome || stat == regRoaming }

// parseReg reads the registration state from a +CREG/+CEREG/+CGREG line.
// The answer to the query carries the URC mode first ("+CREG: 1,5"); the URC
// does not ("+CREG: 5" or "+CREG: 5,"1A2B","01C3D4E5",7").
func parseReg(line string, answer bool) (int, error) {
	i := strings.IndexByte(line, ':')
	if i < 0 || !strings.HasPrefix(line, "+C") {
		return 0, fmt.Errorf("modem: %q is not a registration line", line)
	}
	f := splitFields(strings.TrimSpace(line[i+1:]))
	idx := 0
	if answer {
		idx = 1
	}
	stat, err := atoiField(f, idx)
	if err != nil {
		return 0, err
	}
	if stat < 0 || stat > 10 {
		return 0, fmt.Errorf("modem: registration state %d out of range", stat)
	}
	return stat, nil
}

// parseCOPS reads the operator name from "+COPS: <mode>[,<format>,<oper>[,<act>]]".
func parseCOPS(line string) (string, error) {
	f, err := infoFields(line, "+COPS")
	if err != nil {
		return "", err
	}
	if len(f) < 3 {
		return "", nil
	}
	return f[2], nil
}

// parseQIACT reads "+QIACT: <ctxid>,<state>,<type>[,<ip>]" and returns the
// context ID, whether it is active, and its address.
func parseQIACT(line string) (id int, active bool, ip string, err error) {
	f, err := infoFields(line, "+QIACT")
	if err != nil {
		return 0, false, "", err
	}
	if id, err = atoiField(f, 0); err != nil {
		return 0, false, "", err
	}
	state, err := atoiField(f, 1)
	if err != nil {
		return 0, false, "", err
	}
	if len(f) > 3 {
		ip = f[3]
	}
	return id, state == 1, ip, nil
}

// urcKind names the unsolicited result codes the driver acts on.
type urcKind int

const (
	urcOther       urcKind = iota
	urcRecv                // +QIURC: "recv",<id>: data waits in the socket buffer
	urcClosed              // +QIURC: "closed",<id>: the peer closed the socket
	urcPDPDeact            // +QIURC: "pdpdeact",<ctx>: the PDP context is gone
	urcOpen                // +QIOPEN: <id>,<err>: the answer to AT+QIOPEN
	urcReg                 // +CREG/+CEREG/+CGREG: <stat>: registration changed
	urcRing                // RING
	urcReady               // RDY: the module has booted
	urcPoweredDown         // POWERED DOWN
	urcSIM                 // +CPIN: <state>
)

// urc is a parsed unsolicited result code.
type urc struct {
	kind urcKind
	id   int    // socket or context ID, or registration state for urcReg
	code int    // error code of urcOpen
	text string // the SIM state of urcSIM, the whole line of urcOther
}

// parseURC interprets an unsolicited line.
func parseURC(line string) (urc, error) {
	switch {
	case line == "RING":
		return urc{kind: urcRing}, nil
	case line == "RDY":
		return urc{kind: urcReady}, nil
	case line == "POWERED DOWN":
		return urc{kind: urcPoweredDown}, nil
	case strings.HasPrefix(line, "+CPIN:"):
		return urc{kind: urcSIM, text: strings.TrimSpace(line[len("+CPIN:"):])}, nil
	case strings.HasPrefix(line, "+CREG:"), strings.HasPrefix(line, "+CEREG:"), strings.HasPrefix(line, "+CGREG:"):
		stat, err := parseReg(line, false)
		if err != nil {
			return urc{}, err
		}
		return urc{kind: urcReg, id: stat}, nil
	case strings.HasPrefix(line, "+QIOPEN:"):
		f, err := infoFields(line, "+QIOPEN")
		if err != nil {
			return urc{}, err
		}
		id, err := atoiField(f, 0)
		if err != nil {
			return urc{}, err
		}
		code, err := atoiField(f, 1)
		if err != nil {
			return urc{}, err
		}
		return urc{kind: urcOpen, id: id, code: code}, nil
	case strings.HasPrefix(line, "+QIURC:"):
		f, err := infoFields(line, "+QIURC")
		if err != nil {
			return urc{}, err
		}
		if len(f) < 2 {
			return urc{kind: urcOther, text: line}, nil
		}
		id, err := atoiField(f, 1)
		if err != nil {
			return urc{}, err
		}
		switch f[0] {
		case "recv":
			return urc{kind: urcRecv, id: id}, nil
		case "closed":
			return urc{kind: urcClosed, id: id}, nil
		case "pdpdeact":
			return urc{kind: urcPDPDeact, id: id}, nil
		}
	}
	return urc{kind: urcOther, text: line}, nil
}

// cmeError turns a "+CME ERROR: n" line into its sentinel where one exists.
func cmeError(line string) error {
	rest, ok := strings.CutPrefix(line, "+CME ERROR:")
	if !ok {
		return nil
	}
	rest = strings.TrimSpace(rest)
	switch rest {
	case "10", "SIM not inserted", "13", "SIM failure":
		return ErrNoSIM
	case "11", "SIM PIN required", "12", "SIM PUK required":
		return ErrSIMLocked
	case "14", "SIM busy":
		return ErrSIMBusy
	}
	return nil
}
