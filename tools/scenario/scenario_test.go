package scenario

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"kpos/hal"
	"kpos/hal/fake"
)

// echoTarget shows a screen for every key pressed and "prints" scanned text:
// enough to exercise the runner's waiting and matching.
type echoTarget struct {
	display *fake.Display
	mu      sync.Mutex
	printed strings.Builder
	states  map[string]string
}

func newEchoTarget() *echoTarget {
	return &echoTarget{display: fake.NewDisplay(), states: map[string]string{"last": "completed"}}
}

func (e *echoTarget) Press(ctx context.Context, keys ...hal.Key) error {
	for _, k := range keys {
		go e.display.Show(ctx, hal.Screen{ID: "key", Lines: []string{k.String()}})
		time.Sleep(time.Millisecond)
	}
	return nil
}
func (e *echoTarget) Present(ctx context.Context, how, card string) error {
	return e.display.Show(ctx, hal.Screen{ID: how, Lines: []string{card}})
}
func (e *echoTarget) Remove(ctx context.Context) error               { return nil }
func (e *echoTarget) EnterPIN(ctx context.Context, pin string) error { return nil }
func (e *echoTarget) CancelPIN(ctx context.Context) error            { return nil }
func (e *echoTarget) Scan(ctx context.Context, text string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.printed.WriteString(text + "\n")
	return nil
}
func (e *echoTarget) Screens() []hal.Screen { return e.display.History() }
func (e *echoTarget) WaitScreens(ctx context.Context, n int) error {
	_, _, err := e.display.WaitFor(ctx, n, func(hal.Screen) bool { return true })
	return err
}
func (e *echoTarget) Receipts() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.printed.String()
}
func (e *echoTarget) JournalState(ctx context.Context, trace string) (string, error) {
	return e.states[trace], nil
}
func (e *echoTarget) HostCount(ctx context.Context, kind, state string) (int, error) {
	if kind == "sale" || kind == "reversal" && state == "reason=98" {
		return 1, nil
	}
	return 0, nil
}
func (e *echoTarget) Host(ctx context.Context, cmd string) error { return nil }
func (e *echoTarget) PowerCut(ctx context.Context) error         { return nil }

func run(t *testing.T, text string) error {
	t.Helper()
	s, err := Parse("t.txt", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Target: newEchoTarget(), Timeout: 300 * time.Millisecond}
	return r.Run(context.Background(), s)
}

func TestRunnerPasses(t *testing.T) {
	err := run(t, `# a comment
keys 1 2 ENTER
expect screen key 1
expect screen key ENTER   # order matters: after the 1
insert unionpay-debit
expect text "unionpay-debit" within 1s
scan "hello world"
expect receipt "hello world"
expect no-receipt "goodbye"
expect journal last completed
expect host sale 1
expect host reversal 0
expect host reversal reason 98
wait 1ms
`)
	if err != nil {
		t.Fatal(err)
	}
}

func TestFailingExpectationNamesTheStep(t *testing.T) {
	cases := []struct{ script, line string }{
		{"keys 1\nexpect screen approved\n", ":2: step \"expect screen approved\""},
		{"keys 1 2\nexpect screen key 2\nexpect screen key 1\n", ":3:"}, // the 1 came before the 2
		{"expect journal last declined\n", ":1:"},
		{"expect receipt \"nothing\"\n", ":1:"},
		{"\n\nexpect host sale 2\n", ":3:"},
		{"expect host reversal reason A0\n", ":1:"},
	}
	for _, c := range cases {
		err := run(t, c.script)
		var f *Failure
		if !errors.As(err, &f) || !strings.Contains(err.Error(), c.line) {
			t.Errorf("%q: got %v, want a failure naming %s", c.script, err, c.line)
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []string{
		"keys 1\nfly away\n",
		"keys 1\nkeys X\n",
		"keys 1\nwait forever\n",
		"keys 1\nexpect color red\n",
		"keys 1\nexpect host sale many\n",
		"keys 1\nexpect host reversal reason 9\n",
		"keys 1\nexpect host reversal reason a0\n",
		"keys 1\nscan \"unclosed\n",
		"keys 1\nremove now\n",
		"keys 1\nexpect screen x within\n",
	}
	for _, c := range cases {
		_, err := Parse("p.txt", strings.NewReader(c))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 2 {
			t.Errorf("%q: got %v, want an error on line 2", c, err)
		}
	}
}

func TestSplit(t *testing.T) {
	cases := map[string][]string{
		`expect text "交易 成功"`:   {"expect", "text", "交易 成功"},
		`scan "a\"b" # comment`: {"scan", `a"b`},
		"  keys\t1  2 ":         {"keys", "1", "2"},
		`scan "#not a comment"`: {"scan", "#not a comment"},
		`expect receipt ""`:     {"expect", "receipt", ""},
	}
	for in, want := range cases {
		got, err := split(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("split(%q) = %q %v", in, got, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("keys 1 2 ENTER\nexpect screen approved within 3s\n")
	f.Add("scan \"62000\"\nexpect host sale approved 1\n")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse("fuzz", strings.NewReader(text))
		if err != nil {
			return
		}
		for _, st := range s.Steps {
			if _, ok := verbs[st.Verb]; !ok {
				t.Fatalf("parsed an unknown verb %q", st.Verb)
			}
		}
	})
}

// restartTarget shows a screen while it restarts, as a booting terminal does.
type restartTarget struct{ *echoTarget }

func (r restartTarget) PowerCut(ctx context.Context) error {
	return r.display.Show(ctx, hal.Screen{ID: "booted"})
}

func TestScreensShownDuringARestartCanBeExpected(t *testing.T) {
	s, err := Parse("t.txt", strings.NewReader("keys 1\nexpect screen key\npower-cut\nexpect screen booted within 100ms\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Runner{Target: restartTarget{newEchoTarget()}}
	if err := r.Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// inspectTarget is an echo target with host records and a clock.
type inspectTarget struct {
	*echoTarget
	recs  []HostRecord
	clock time.Time
}

func (i *inspectTarget) HostRecords(ctx context.Context) ([]HostRecord, error) { return i.recs, nil }
func (i *inspectTarget) SetClock(ctx context.Context, t time.Time) error {
	i.clock = t
	return nil
}
func (i *inspectTarget) AdvanceClock(ctx context.Context, d time.Duration) error {
	i.clock = i.clock.Add(d)
	return nil
}

func runOn(t *testing.T, target Target, text string) error {
	t.Helper()
	s, err := Parse("t.txt", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return (&Runner{Target: target, Timeout: 200 * time.Millisecond}).Run(context.Background(), s)
}

func TestNewForms(t *testing.T) {
	target := func() *inspectTarget {
		return &inspectTarget{echoTarget: newEchoTarget(), recs: []HostRecord{
			{"type": "authorization", "kind": "sale", "code": "00", "amount": "30.00", "entry": "chip", "applied": "yes"},
			{"type": "reversal", "kind": "reversal", "code": "00", "orig-trace": "000005", "reason": "98", "applied": "no"},
		}}
	}
	pass := []string{
		"insert a\ninsert b\nexpect screen insert a a a a a\nexpect screen insert b\n",
		"keys 1 2 3 4 5\nexpect text \"/\\[key\\]\\s+5/\"\n",
		"expect host record 1 code=00 amount=30.00 entry=chip applied=yes\nexpect host record last reason=98 applied=no orig-trace=/0+5/\n",
		"expect host order sale reversal\n",
		"expect never screen declined\nkeys 1\nexpect screen key 1\n",
		"clock set 2026-12-03T23:59:00\nclock advance 2m\n",
		"clock set 23:50\nclock set \"2026-12-03 08:00\"\n",
	}
	for _, p := range pass {
		if err := runOn(t, target(), p); err != nil {
			t.Errorf("%q: %v", p, err)
		}
	}
	it := target()
	if err := runOn(t, it, "clock set 2026-12-03T23:59:00\nclock advance 2m\n"); err != nil || it.clock.Format("2006-01-02 15:04") != "2026-12-04 00:01" {
		t.Errorf("clock %v %v", it.clock, err)
	}
	fail := map[string]string{
		"expect host record 1 code=05\n":                                                 ":1:",
		"expect host record 3 code=00\n":                                                 ":1:",
		"expect host order reversal sale\n":                                              ":1:",
		"expect host order sale\n":                                                       ":1:",
		"keys 1\nexpect never screen key\nkeys 2\n":                                      ":2:", // shown after the never: its line fails
		"expect never text \"/\\[key\\]\\s+9/\"\nkeys 1\nwait 10ms\nkeys 9\nwait 50ms\n": ":1:",
	}
	for script, line := range fail {
		err := runOn(t, target(), script)
		var f *Failure
		if !errors.As(err, &f) || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: got %v, want a failure naming %s", script, err, line)
		}
	}
	// Every text of expect screen counts, however many.
	if err := runOn(t, target(), "insert a\nexpect screen insert a a a a a b\n"); err == nil {
		t.Error("a sixth text that is not there passed")
	}
	// Targets without records or a clock say so.
	if err := runOn(t, newEchoTarget(), "clock advance 1s\n"); err == nil {
		t.Error("a clock step passed on a target without a clock")
	}
}

func TestNewFormsParseErrors(t *testing.T) {
	for _, c := range []string{
		"keys 1\nclock set yesterday\n",
		"keys 1\nclock advance -1h\n",
		"keys 1\nclock rewind 1h\n",
		"keys 1\nexpect host record 0 code=00\n",
		"keys 1\nexpect host record 1 colour=red\n",
		"keys 1\nexpect host record 1\n",
		"keys 1\nexpect never receipt x\n",
		"keys 1\nexpect never screen x within 1s\n",
	} {
		_, err := Parse("p.txt", strings.NewReader(c))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 2 {
			t.Errorf("%q: got %v, want an error on line 2", c, err)
		}
	}
}

func TestSplitEscapes(t *testing.T) {
	cases := map[string][]string{
		`expect text "/\[approved\] \d+/"`: {"expect", "text", `/\[approved\] \d+/`},
		`scan "a\\b"`:                      {"scan", `a\b`},
		`scan "say \"hi\""`:                {"scan", `say "hi"`},
	}
	for in, want := range cases {
		got, err := split(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("split(%q) = %q %v", in, got, err)
		}
	}
}

func TestTimeoutScales(t *testing.T) {
	within := Step{Args: []string{"screen", "idle", "within", "2s"}}
	plain := Step{Args: []string{"screen", "idle"}}
	tests := []struct {
		r    Runner
		st   Step
		want time.Duration
	}{
		{Runner{}, within, 2 * time.Second},
		{Runner{}, plain, 5 * time.Second},
		{Runner{Timeout: time.Second}, plain, time.Second},
		{Runner{Scale: 3}, within, 6 * time.Second},
		{Runner{Scale: 3}, plain, 15 * time.Second},
		{Runner{Scale: 2.5, Timeout: 2 * time.Second}, plain, 5 * time.Second},
		{Runner{Scale: 0.5}, within, 2 * time.Second}, // never shorter than written
	}
	for _, tc := range tests {
		if got := tc.r.timeout(tc.st); got != tc.want {
			t.Errorf("%+v %v: %v, want %v", tc.r, tc.st.Args, got, tc.want)
		}
	}
}
