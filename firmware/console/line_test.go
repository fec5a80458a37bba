package console

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
	"kpos/firmware/console/command"
)

// TestCtrlCWithTypeAhead is the hang of a ^C typed after type-ahead: a
// command, more typed while it runs, then ^C twice, all in one burst as a
// paste or a fast typist sends it. The command is cancelled at once, and
// what was typed ahead never runs.
func TestCtrlCWithTypeAhead(t *testing.T) {
	for _, tc := range []struct {
		name  string
		parts []string // written one after another, each after the previous one's echo
	}{
		{"one burst", []string{"test reader\rhelp\x03\x03"}},
		{"while it runs", []string{"test reader\r", "help\x03\x03"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			s := r.start(t)
			s.login()
			s.sendRaw(tc.parts[0])
			for _, p := range tc.parts[1:] {
				s.expect("Insert, tap or swipe a card")
				s.sendRaw(p)
			}
			// Cancelled by the ^C: a wait that ran to the command's own
			// deadline would say "gave up after", not this, and no sooner
			// than expect stops waiting.
			s.expect("error: cancelled")
			s.expect("kpos> ")
			// The next command runs; help, typed ahead, never did.
			out := s.run("keys")
			if !strings.Contains(out, "KCV") {
				t.Errorf("keys after the cancel: %q", out)
			}
			if tr := s.transcript(); strings.Contains(tr, "WHAT IT DOES") || strings.Contains(tr, "kpos> help") {
				t.Errorf("typed-ahead help ran or was left on the line:\n%s", tr)
			}
		})
	}
}

// TestCancelledPrivGrantsNothing: a priv whose password was typed ahead,
// or typed and then ^C'd, leaves the session read-only.
func TestCancelledPrivGrantsNothing(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	s.sendRaw("priv\r" + testPassword + "\rlog level debug\r\x03")
	s.expect("error: cancelled")
	s.expect("kpos> ")
	s.send("priv")
	s.expect("Password: ")
	s.sendRaw(testPassword + "\r\x03")
	s.expect("kpos")
	out := s.run("settle")
	if !strings.Contains(out, "needs privileges") {
		t.Errorf("settle after cancelled privs: %q", out)
	}
	if lvl, _ := r.logs.Level(t.Context()); lvl != "info" {
		t.Errorf("typed-ahead log level ran: %s", lvl)
	}
}

// TestCtrlCDuringLoginCheck: a ^C sent with the password cancels the login.
func TestCtrlCDuringLoginCheck(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.expect("Password: ")
	s.sendRaw(testPassword + "\rpriv\r" + testPassword + "\r\x03")
	s.expect("Login cancelled.")
	if strings.Contains(s.transcript(), "Logged in") {
		t.Error("a cancelled login logged in")
	}
	s.login()
}

// keyCases are the editing keys as the terminals send them. picocom and
// minicom pass the bytes of the terminal they run in unchanged, and take
// ^A for themselves (as screen does): HomeKey (^O) is the start of line
// there.
var keyCases = []struct {
	term, key, seq string
}{
	{"xterm", "Home", "\x1b[H"}, {"xterm", "End", "\x1b[F"},
	{"xterm (application mode)", "Home", "\x1bOH"}, {"xterm (application mode)", "End", "\x1bOF"},
	{"xterm", "Delete", "\x1b[3~"}, {"xterm", "Ctrl-Left", "\x1b[1;5D"}, {"xterm", "Ctrl-Right", "\x1b[1;5C"},
	{"xterm", "Alt-Left", "\x1b[1;3D"}, {"xterm", "Alt-Right", "\x1b[1;3C"},
	{"xterm", "Left", "\x1b[D"}, {"xterm", "Right", "\x1b[C"},
	{"VT100", "Left", "\x1bOD"}, {"VT100", "Right", "\x1bOC"}, {"VT100", "Start of line", "\x0f"},
	{"VT220", "Home", "\x1b[1~"}, {"VT220", "End", "\x1b[4~"}, {"VT220", "Delete", "\x1b[3~"},
	{"Linux console", "Home", "\x1b[1~"}, {"Linux console", "End", "\x1b[4~"},
	{"rxvt", "Home", "\x1b[7~"}, {"rxvt", "End", "\x1b[8~"}, {"rxvt", "Ctrl-Left", "\x1bOd"}, {"rxvt", "Ctrl-Right", "\x1bOc"},
	{"screen", "Home", "\x1b[1~"}, {"screen", "End", "\x1b[4~"}, {"screen", "Delete", "\x1b[3~"},
	{"screen", "Ctrl-Left", "\x1b[1;5D"}, {"screen", "Ctrl-Right", "\x1b[1;5C"}, {"screen", "Start of line", "\x0f"},
	{"tmux", "Home", "\x1b[1~"}, {"tmux", "End", "\x1b[4~"}, {"tmux", "Delete", "\x1b[3~"},
	{"tmux", "Ctrl-Left", "\x1b[1;5D"}, {"tmux", "Ctrl-Right", "\x1b[1;5C"},
	{"picocom (in xterm)", "Home", "\x1b[H"}, {"picocom (in xterm)", "End", "\x1b[F"}, {"picocom (in xterm)", "Delete", "\x1b[3~"},
	{"picocom (in xterm)", "Ctrl-Left", "\x1b[1;5D"}, {"picocom (in xterm)", "Ctrl-Right", "\x1b[1;5C"},
	{"picocom", "Start of line", "\x0f"}, {"picocom (in screen)", "Home", "\x1b[1~"},
	{"minicom (VT102)", "Home", "\x1b[1~"}, {"minicom (VT102)", "End", "\x1b[4~"}, {"minicom (VT102)", "Delete", "\x1b[3~"},
	{"minicom (in xterm)", "Home", "\x1bOH"}, {"minicom (in xterm)", "End", "\x1bOF"},
	{"minicom", "Start of line", "\x0f"}, {"minicom", "Backspace", "\x08"}, {"xterm", "Backspace", "\x7f"},
	{"xterm (old)", "Ctrl-Left", "\x1b[5D"}, {"xterm (old)", "Ctrl-Right", "\x1b[5C"},
	{"readline Meta", "Ctrl-Left", "\x1bb"}, {"readline Meta", "Ctrl-Right", "\x1bf"},
}

// keyEffect is what each key does to "ab cd" typed with the cursor at the
// end, then followed by "X" (Delete and Right are pressed after two Lefts).
var keyEffect = map[string]struct{ before, want string }{
	"Home":          {"", "Xab cd"},
	"Start of line": {"", "Xab cd"},
	"End":           {"\x1b[D\x1b[D", "ab cdX"},
	"Delete":        {"\x1b[D\x1b[D", "ab Xd"},
	"Ctrl-Left":     {"", "ab Xcd"},
	"Alt-Left":      {"", "ab Xcd"},
	"Ctrl-Right":    {"\x01", "ab Xcd"},
	"Alt-Right":     {"\x01", "ab Xcd"},
	"Left":          {"", "ab cXd"},
	"Right":         {"\x1b[D\x1b[D", "ab cXd"},
	"Backspace":     {"", "ab cX"},
}

// TestKeyTable types "ab cd", a key, and "X" for every terminal's spelling
// of every editing key, and reads the line back from the error the console
// gives for it (it is no command).
func TestKeyTable(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	seen := map[string]bool{}
	for _, kc := range keyCases {
		eff, ok := keyEffect[kc.key]
		if !ok {
			t.Fatalf("no expected effect for %s", kc.key)
		}
		seen[kc.seq] = true
		s.sendRaw("ab cd" + eff.before + kc.seq + "X\r")
		s.expect("error: unknown command")
		got := s.expect("\n")
		if !strings.HasPrefix(got, " '"+strings.Fields(eff.want)[0]+"'") {
			t.Errorf("%s %s (%q): line %q, want the first word of %q", kc.term, kc.key, kc.seq, got, eff.want)
		}
		s.expect("kpos> ")
	}
	// Every sequence of the normaliser's table is in the test.
	for seq := range keySequences {
		if !seen[seq] && seq != edUp && seq != edDown && seq != "\x1bOA" && seq != "\x1bOB" {
			t.Errorf("key sequence %q is not tested", seq)
		}
	}
}

// TestKeyTableWholeLine checks the whole edited line (the error shows only
// the first word): it feeds the normaliser and the editor directly.
func TestKeyTableWholeLine(t *testing.T) {
	for _, kc := range keyCases {
		eff := keyEffect[kc.key]
		var k keyNormaliser
		var out []byte
		for _, c := range []byte("ab cd" + eff.before + kc.seq + "X\r") {
			out = k.step(out, c)
		}
		got := editLine(t, out)
		if got != eff.want {
			t.Errorf("%s %s (%q): %q, want %q", kc.term, kc.key, kc.seq, got, eff.want)
		}
	}
}

// TestUpDownHistory covers the arrows of both cursor modes.
func TestUpDownHistory(t *testing.T) {
	for _, up := range []string{"\x1b[A", "\x1bOA"} {
		r := newRig(t)
		s := r.start(t)
		s.login()
		s.run("keys")
		s.sendRaw(up + "\r")
		s.expect("KCV")
	}
}

// TestNonTextInput: random bytes get one error per line and no more
// output than a small multiple of their size.
func TestNonTextInput(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	before := len(s.out.String())
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]byte, 64<<10)
	for i := range in {
		in[i] = byte(rng.UintN(256))
		if in[i] == 0x04 || in[i] == 0x03 {
			in[i] = 0xff // ^D would log out and ^C clear the line: tested elsewhere
		}
	}
	lines := bytes.Count(in, []byte{'\r'}) + bytes.Count(in, []byte{'\n'})
	for i := 0; i < len(in); i += 512 {
		s.sendRaw(string(in[i:min(i+512, len(in))]))
	}
	s.sendRaw("\r")
	s.run("keys")
	out := s.out.String()[before:]
	if len(out) > 2*len(in) {
		t.Errorf("%d bytes of binary input gave %d bytes of output", len(in), len(out))
	}
	if n := strings.Count(out, "error:"); n > lines+1 {
		t.Errorf("%d errors for %d lines", n, lines)
	}
	if n := strings.Count(out, "error: input is not text"); n == 0 {
		t.Error("binary input was not refused as such")
	}
	t.Logf("%d bytes in, %d lines, %d bytes out, %d errors", len(in), lines, len(out), strings.Count(out, "error:"))
}

// TestWidth: the width the terminal reports is the one output is folded
// at; term cols overrides it.
func TestWidth(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.expect("technician console")
	if !strings.Contains(s.out.String(), "\x1b[6n") {
		t.Fatal("no cursor-position query at the banner")
	}
	s.sendRaw("\x1b[24;100R") // the terminal's answer
	s.login()
	long := strings.Repeat("z", 300)
	out := s.runError(long)
	if w := widest(out); w > 100 || w <= 80 {
		t.Errorf("folded at %d columns, want 100:\n%s", w, out)
	}
	if got := s.run("term"); !strings.Contains(got, "100 columns (reported by the terminal)") {
		t.Errorf("term: %q", got)
	}
	s.run("term cols 60")
	out = s.runError(long)
	if w := widest(out); w > 60 || w < 50 {
		t.Errorf("folded at %d columns after term cols 60:\n%s", w, out)
	}
	if got := s.run("term cols 5"); !strings.Contains(got, "not a width") {
		t.Errorf("term cols 5: %q", got)
	}
	// A report that nobody asked for (xterm's Shift-F3 looks like one)
	// changes nothing.
	s.sendRaw("\x1b[1;2R")
	if got := s.run("term"); !strings.Contains(got, "60 columns (set with term cols)") {
		t.Errorf("term: %q", got)
	}
}

// TestFoldAt80 is the documented default: no line over 80 columns, even
// a word longer than a line.
func TestFoldAt80(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.login()
	out := s.runError(strings.Repeat("y", 200))
	if w := widest(out); w > 80 {
		t.Errorf("a line of %d columns:\n%s", w, out)
	}
}

// runError types a line that is no command and returns the error printed
// for it, which quotes the line.
func (s *ptySession) runError(line string) string {
	s.t.Helper()
	s.send(line)
	s.expect("\nerror: ")
	out := "error: " + s.expect("\nkpos")
	s.expect(" ")
	return strings.TrimSuffix(out, "kpos")
}

func widest(text string) int {
	w := 0
	for _, l := range strings.Split(text, "\n") {
		w = max(w, command.TextWidth(l))
	}
	return w
}

// TestLateConnection: the banner went out before anyone listened. The
// first byte on the quiet line, or a BREAK, draws it again; what was typed
// is kept.
func TestLateConnection(t *testing.T) {
	r := newRig(t)
	s := r.start(t)
	s.expect("Password: ")
	r.clock.Advance(time.Minute)
	s.sendRaw("\x00") // BREAK
	s.expect("technician console")
	s.expect("Password: ")
	r.clock.Advance(time.Minute)
	s.send(testPassword) // typed blind: the banner comes, the password counts
	s.expect("technician console")
	s.expect("Logged in")
	if n := strings.Count(s.transcript(), "technician console"); n != 3 {
		t.Errorf("banner drawn %d times, want 3", n)
	}
}

// TestWakeKeepsWhatWasTyped: a pause in the middle of a password is no
// late connection; only a prompt nothing was typed at is redrawn.
func TestWakeKeepsWhatWasTyped(t *testing.T) {
	clock := &fakeClock{now: t0}
	p := newPort(strings.NewReader(""), clock.Now, 30*time.Second)
	p.touch()
	in := &input{p: p, wakes: true, fresh: true}
	buf := make([]byte, 64)
	p.feed([]byte("tech-"))
	if n, err := in.Read(buf); err != nil || string(buf[:n]) != "tech-" {
		t.Fatalf("first burst: %q %v", buf[:n], err)
	}
	clock.Advance(time.Minute)
	p.feed([]byte("pass-2026\r"))
	if n, err := in.Read(buf); err != nil || string(buf[:n]) != "pass-2026\r" {
		t.Fatalf("second burst after a pause: %q %v", buf[:n], err)
	}
	// At a fresh prompt, the same pause wakes.
	in.fresh = true
	clock.Advance(time.Minute)
	p.feed([]byte("x"))
	if _, err := in.Read(buf); !errors.Is(err, errWake) {
		t.Fatalf("input on a quiet line at a fresh prompt: %v, want errWake", err)
	}
}

// editLine runs the line editor over in and returns the first line.
func editLine(t *testing.T, in []byte) string {
	t.Helper()
	tm := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(in), io.Discard}, "")
	line, err := tm.ReadLine()
	if err != nil {
		t.Fatalf("editing %q: %v", in, err)
	}
	return line
}

// FuzzKeyNormaliser: whatever a line sends, the editor gets valid UTF-8
// with no control byte but its own editing keys, and the result does not
// depend on how the input was split across reads.
func FuzzKeyNormaliser(f *testing.F) {
	for _, kc := range keyCases {
		f.Add([]byte("ab"+kc.seq+"c\r"), uint8(3))
	}
	f.Add([]byte("\x1b[24;100R\x1b[1;2R\x1b[200~x\x1b[201~\xff\xfe\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, split uint8) {
		var whole keyNormaliser
		whole.cpr = func(int) {}
		var a []byte
		for _, c := range in {
			a = whole.step(a, c)
		}
		var parts keyNormaliser
		parts.cpr = func(int) {}
		var b []byte
		step := int(split)%7 + 1
		for i := 0; i < len(in); i += step {
			for _, c := range in[i:min(i+step, len(in))] {
				b = parts.step(b, c)
			}
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("split input gave %q, whole %q", b, a)
		}
		if !utf8.Valid(a) {
			t.Fatalf("invalid UTF-8 for the editor: %q", a)
		}
		for i := 0; i < len(a); i++ {
			c := a[i]
			if c >= 0x20 || c == 0x1b {
				continue
			}
			switch c {
			case '\r', '\t', 0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x0b, 0x0c, 0x0e, 0x10, 0x14, 0x15, 0x17:
			default:
				t.Fatalf("control byte %#x for the editor in %q", c, a)
			}
		}
	})
}

// stepConn is a connection whose input is typed at chosen points of the
// output: when the console writes the text the next step waits for, the
// step's bytes are read and queued by the port before that write returns.
// The editor draws a prompt before it reads, so bytes typed at a prompt,
// and a ^C among them, are acted on before the editor reads again: the
// order a slow session sees under load, made certain.
type stepConn struct {
	out   *syncBuffer
	steps []step
	mark  int // end of the last step's text in the cleaned output

	in   chan []byte
	ack  chan struct{} // the port is back for more: what it read is queued
	stop chan struct{}
	read bool // the reader's own: a chunk was returned
}

// step types send once the output, past the previous step's text, shows
// after.
type step struct{ after, send string }

func newStepConn(steps []step) *stepConn {
	return &stepConn{out: newSyncBuffer(), steps: steps, in: make(chan []byte), ack: make(chan struct{}), stop: make(chan struct{})}
}

func (c *stepConn) Read(b []byte) (int, error) {
	if c.read {
		select {
		case c.ack <- struct{}{}:
		case <-c.stop:
			return 0, io.EOF
		}
	}
	select {
	case chunk := <-c.in:
		c.read = true
		return copy(b, chunk), nil
	case <-c.stop:
		return 0, io.EOF
	}
}

// Write records the output and types every step whose text has appeared.
// Only the session writes, from one goroutine.
func (c *stepConn) Write(b []byte) (int, error) {
	c.out.Write(b)
	for len(c.steps) > 0 {
		text := clean(c.out.String())
		i := strings.Index(text[c.mark:], c.steps[0].after)
		if i < 0 {
			break
		}
		c.mark += i + len(c.steps[0].after)
		select {
		case c.in <- []byte(c.steps[0].send):
		case <-c.stop:
			return 0, io.ErrClosedPipe
		}
		select {
		case <-c.ack:
		case <-c.stop:
			return 0, io.ErrClosedPipe
		}
		c.steps = c.steps[1:]
	}
	return len(b), nil
}

// TestCtrlCAtTheNextPrompt: a command and a ^C typed at a prompt the
// editor has drawn but not yet read at. The line before (the password, an
// empty line, one that runs no command, a command) is spent: the ^C is the
// new command's, which is cancelled, and what follows it never runs. At
// the password prompt the ^C cancels the login.
func TestCtrlCAtTheNextPrompt(t *testing.T) {
	const burst = "test reader\rhelp\x03\x03"
	// The first byte on a line draws the banner again: a BREAK gets that
	// done before the steps that matter.
	wake := step{"Password: ", "\x00"}
	login := step{"Password: ", testPassword + "\r"}
	for _, tc := range []struct {
		name   string
		steps  []step
		want   string // after the ^C, then a prompt
		refuse string // in the transcript only if typed-ahead input ran
	}{
		{"after login", []step{wake, login, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"after an empty line", []step{wake, login, {"kpos> ", "\r"}, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"after an unknown command", []step{wake, login, {"kpos> ", "nosuch\r"}, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"after a bad flag", []step{wake, login, {"kpos> ", "keys -x\r"}, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"after a command that needs priv", []step{wake, login, {"kpos> ", "settle\r"}, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"after a command", []step{wake, login, {"kpos> ", "keys\r"}, {"kpos> ", burst}}, "error: cancelled", "WHAT IT DOES"},
		{"at the password prompt", []step{wake, {"Password: ", "\r"}, {"Password: ", testPassword + "\rkeys\r\x03"}}, "Login cancelled.", "Logged in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			c := newStepConn(tc.steps)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- New(r.cfg, r.cmds()...).Serve(ctx, c) }()
			defer func() {
				cancel()
				close(c.stop)
				<-done
			}()
			// A session that took the ^C for the line before prints
			// nothing more: the deadline only ends the wait for it.
			deadline := time.NewTimer(10 * time.Second)
			defer deadline.Stop()
			for {
				raw, wake := c.out.snapshot()
				text := clean(raw)
				if i := strings.Index(text, tc.want); i >= 0 && strings.HasSuffix(text[i:], " ") {
					break
				}
				select {
				case <-wake:
				case <-deadline.C:
					t.Fatalf("no %q and prompt after the ^C; transcript:\n%s", tc.want, text)
				}
			}
			if tr := clean(c.out.String()); strings.Contains(tr, tc.refuse) {
				t.Errorf("typed-ahead input ran:\n%s", tr)
			}
		})
	}
}
