package modem

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"
)

func parseAll(chunks ...[]byte) []frame {
	var p parser
	var out []frame
	for _, c := range chunks {
		p.feed(c, func(f frame) {
			if f.data != nil {
				f.data = append([]byte(nil), f.data...)
			}
			out = append(out, f)
		})
	}
	return out
}

func TestParserFrames(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []frame
	}{
		{"ok", "\r\nOK\r\n", []frame{{kind: frameLine, line: "OK"}}},
		{"info and ok", "\r\n+CSQ: 24,99\r\n\r\nOK\r\n", []frame{{kind: frameLine, line: "+CSQ: 24,99"}, {kind: frameLine, line: "OK"}}},
		{"echo", "AT\r\r\nOK\r\n", []frame{{kind: frameLine, line: "AT"}, {kind: frameLine, line: "OK"}}},
		{"prompt", "\r\n> ", []frame{{kind: framePrompt}}},
		{"qird payload with CR LF inside", "\r\n+QIRD: 6\r\n\r\nOK\r\n\r\n\r\nOK\r\n", []frame{
			{kind: frameLine, line: "+QIRD: 6"}, {kind: frameData, data: []byte("\r\nOK\r\n")}, {kind: frameLine, line: "OK"}}},
		{"qird prompt byte in payload", "\r\n+QIRD: 2\r\n> \r\nOK\r\n", []frame{
			{kind: frameLine, line: "+QIRD: 2"}, {kind: frameData, data: []byte("> ")}, {kind: frameLine, line: "OK"}}},
		{"qird empty", "\r\n+QIRD: 0\r\n\r\nOK\r\n", []frame{{kind: frameLine, line: "+QIRD: 0"}, {kind: frameLine, line: "OK"}}},
		{"qird query form has no payload", "\r\n+QIRD: 10,10,0\r\n\r\nOK\r\n", []frame{{kind: frameLine, line: "+QIRD: 10,10,0"}, {kind: frameLine, line: "OK"}}},
		{"qird too large is not payload", "\r\n+QIRD: 99999\r\nOK\r\n", []frame{{kind: frameLine, line: "+QIRD: 99999"}, {kind: frameLine, line: "OK"}}},
		{"bare LF lines", "\nRING\n+CREG: 1\n", []frame{{kind: frameLine, line: "RING"}, {kind: frameLine, line: "+CREG: 1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := parseAll([]byte(tc.in))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			// Byte by byte gives the same frames.
			var chunks [][]byte
			for i := range len(tc.in) {
				chunks = append(chunks, []byte{tc.in[i]})
			}
			if got := parseAll(chunks...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("byte by byte: got %+v", got)
			}
		})
	}
}

func TestParserBoundsLongLines(t *testing.T) {
	got := parseAll(bytes.Repeat([]byte("A"), 3*maxLine+5))
	if len(got) != 3 {
		t.Fatalf("got %d frames, want 3 cut lines", len(got))
	}
	for _, f := range got {
		if len(f.line) != maxLine {
			t.Errorf("line of %d bytes", len(f.line))
		}
	}
}

// FuzzParser checks that any byte stream parses without panic, that frames
// do not depend on how the stream is cut, that lines are bounded and carry
// no line ends, and that payloads have the length their header announced.
func FuzzParser(f *testing.F) {
	f.Add([]byte("\r\n+QIRD: 4\r\nab\r\n\r\nOK\r\n"), uint8(3))
	f.Add([]byte("AT+CSQ\r\r\n+CSQ: 24,99\r\n\r\nOK\r\n> abc"), uint8(1))
	f.Add([]byte("\r\n+QIURC: \"recv\",0\r\n+QIRD: 1500\r\n"), uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, cut uint8) {
		whole := parseAll(in)
		step := int(cut)%16 + 1
		var chunks [][]byte
		for i := 0; i < len(in); i += step {
			chunks = append(chunks, in[i:min(len(in), i+step)])
		}
		if split := parseAll(chunks...); !reflect.DeepEqual(whole, split) {
			t.Fatalf("frames depend on chunking:\n%+v\n%+v", whole, split)
		}
		for i, fr := range whole {
			switch fr.kind {
			case frameLine:
				if len(fr.line) == 0 || len(fr.line) > maxLine || bytes.ContainsAny([]byte(fr.line), "\r\n") {
					t.Fatalf("bad line %q", fr.line)
				}
			case frameData:
				if i == 0 || whole[i-1].kind != frameLine {
					t.Fatalf("payload without header")
				}
				n, ok := qirdLength(whole[i-1].line)
				if !ok || n != len(fr.data) {
					t.Fatalf("payload of %d bytes after %q", len(fr.data), whole[i-1].line)
				}
			}
		}
	})
}

func TestParseInfoLines(t *testing.T) {
	tests := []struct {
		name string
		got  func() (any, error)
		want any
	}{
		{"csq", func() (any, error) { return parseCSQ("+CSQ: 24,99") }, 24},
		{"csq unknown", func() (any, error) { return parseCSQ("+CSQ: 99,99") }, -1},
		{"creg answer", func() (any, error) { return parseReg("+CREG: 1,5", true) }, 5},
		{"creg answer with cell", func() (any, error) { return parseReg(`+CREG: 2,1,"1A2B","01C3D4E5",7`, true) }, 1},
		{"cereg urc", func() (any, error) { return parseReg("+CEREG: 2", false) }, 2},
		{"creg urc with cell", func() (any, error) { return parseReg(`+CREG: 1,"1A2B","01C3D4E5",7`, false) }, 1},
		{"cops", func() (any, error) { return parseCOPS(`+COPS: 0,0,"CHINA MOBILE, LTE",7`) }, "CHINA MOBILE, LTE"},
		{"cops no operator", func() (any, error) { return parseCOPS("+COPS: 0") }, ""},
		{"qiact", func() (any, error) {
			id, on, ip, err := parseQIACT(`+QIACT: 1,1,1,"10.7.1.2"`)
			return fmt.Sprintf("%d %v %s", id, on, ip), err
		}, "1 true 10.7.1.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.got()
			if err != nil || got != tc.want {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	bad := []func() error{
		func() error { _, err := parseCSQ("+CSQ: x,99"); return err },
		func() error { _, err := parseCSQ("+CSQ: 40,99"); return err },
		func() error { _, err := parseCSQ("+CREG: 1"); return err },
		func() error { _, err := parseReg("+CREG: 1", true); return err },
		func() error { _, err := parseReg("OK", false); return err },
		func() error { _, _, _, err := parseQIACT("+QIACT: 1"); return err },
	}
	for i, f := range bad {
		if f() == nil {
			t.Errorf("bad line %d accepted", i)
		}
	}
}

func TestURCs(t *testing.T) {
	tests := []struct {
		line      string
		cmdPrefix string
		isURC     bool
		want      urc
	}{
		{`+QIURC: "recv",3`, "", true, urc{kind: urcRecv, id: 3}},
		{`+QIURC: "closed",0`, "+QIRD", true, urc{kind: urcClosed, id: 0}},
		{`+QIURC: "pdpdeact",1`, "", true, urc{kind: urcPDPDeact, id: 1}},
		{"+QIOPEN: 2,566", "", true, urc{kind: urcOpen, id: 2, code: 566}},
		{"+CREG: 2", "+CSQ", true, urc{kind: urcReg, id: 2}},
		{"+CREG: 0,1", "+CREG", false, urc{}},
		{"+CPIN: READY", "+CPIN", false, urc{}},
		{"+CPIN: NOT READY", "", true, urc{kind: urcSIM, text: "NOT READY"}},
		{"RING", "", true, urc{kind: urcRing}},
		{"RDY", "", true, urc{kind: urcReady}},
		{"POWERED DOWN", "", true, urc{kind: urcPoweredDown}},
		{"+CSQ: 20,99", "+CSQ", false, urc{}},
		{`+QIURC: "dnsgip",0`, "", true, urc{kind: urcOther, text: `+QIURC: "dnsgip",0`}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			if got := isURC(tc.line, tc.cmdPrefix); got != tc.isURC {
				t.Fatalf("isURC = %v", got)
			}
			if !tc.isURC {
				return
			}
			got, err := parseURC(tc.line)
			if err != nil || got != tc.want {
				t.Errorf("parseURC = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

// FuzzURC checks that URC and information-line parsers never panic and
// that what they accept is in range.
func FuzzURC(f *testing.F) {
	for _, s := range []string{`+QIURC: "recv",3`, "+QIOPEN: 2,0", "+CREG: 1,\"1A\",\"2B\",7", "+CSQ: 31,99", `+QIACT: 1,1,1,"10.0.0.1"`, `+COPS: 0,0,"X",7`, "+CME ERROR: 10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if u, err := parseURC(line); err == nil && u.kind == urcReg && (u.id < 0 || u.id > 10) {
			t.Fatalf("registration state %d accepted", u.id)
		}
		if n, err := parseCSQ(line); err == nil && (n < -1 || n > 31) {
			t.Fatalf("rssi %d accepted", n)
		}
		if s, err := parseReg(line, true); err == nil && (s < 0 || s > 10) {
			t.Fatalf("state %d accepted", s)
		}
		parseCOPS(line)
		parseQIACT(line)
		cmeError(line)
		_ = finalResult(line)
		commandPrefix(line)
	})
}
