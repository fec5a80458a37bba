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
	if kind == "sale" {
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
