// Package scenario is the small language that drives a terminal and checks
// what it does: press keys, present a named test card, type a PIN, scan a
// code, wait, cut the power, and expect screens, receipt lines, journal
// states and host records. docs/scenarios.md is its manual.
//
// A scenario runs against a Target: the simulated board in-process, or the
// HIL rig's control socket. The package knows nothing of how a target is
// built, only the verbs.
package scenario

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"kpos/hal"
)

// Target is what a scenario drives and inspects.
type Target interface {
	Press(ctx context.Context, keys ...hal.Key) error
	Present(ctx context.Context, how, card string) error // how: insert, tap, swipe
	Remove(ctx context.Context) error
	EnterPIN(ctx context.Context, pin string) error // "" with cancel=true cancels
	CancelPIN(ctx context.Context) error
	Scan(ctx context.Context, text string) error
	// Screens returns every screen shown since the target started.
	Screens() []hal.Screen
	// WaitScreens blocks until more than n screens were shown or ctx ends.
	WaitScreens(ctx context.Context, n int) error
	// Receipts returns the text of everything printed so far.
	Receipts() string
	// JournalState returns the state of the transaction with trace ("last"
	// for the latest).
	JournalState(ctx context.Context, trace string) (string, error)
	// HostCount counts the host simulator's records of kind ("sale",
	// "reversal", …) and state ("approved", "declined", "" for any;
	// "reason=CODE" for a reversal sent with reason CODE in field 39).
	HostCount(ctx context.Context, kind, state string) (int, error)
	// Host sends a control command to the host simulator ("fault no-answer").
	Host(ctx context.Context, command string) error
	// PowerCut stops the terminal as a power loss would and starts it again.
	PowerCut(ctx context.Context) error
}

// CardPuller is a target that can pull the next inserted card out of the
// slot as its N-th command arrives (scenario step `pull-at N`).
type CardPuller interface {
	PullAt(ctx context.Context, n int) error
}

// HostRecord is one transaction record of the host, field by field, as
// `expect host record` names them: type (authorization, reversal), kind
// (sale, void, refund, …; "reversal" for a reversal), trace, code (the
// response code), amount (yuan, "30.00"), entry (chip, contactless, stripe,
// fallback, manual, qr), orig-trace, reason (a reversal's reason code),
// applied and answered (yes or no), voided and reversed (yes or no).
type HostRecord map[string]string

// HostInspector is a target whose host's transaction records can be read,
// oldest first (scenario steps `expect host record` and `expect host order`).
type HostInspector interface {
	HostRecords(ctx context.Context) ([]HostRecord, error)
}

// Clock is a target whose clock (the terminal's, the host's and the
// scheduler's alike) the scenario sets and moves (`clock set`, `clock
// advance`). Time keeps running from where it was put.
type Clock interface {
	SetClock(ctx context.Context, t time.Time) error
	AdvanceClock(ctx context.Context, d time.Duration) error
}

// Step is one line of a scenario.
type Step struct {
	Line int
	Verb string
	Args []string
	Text string // the line as written
}

// Script is a parsed scenario.
type Script struct {
	Name  string
	Steps []Step
}

// ParseError names the line that could not be read.
type ParseError struct {
	Name string
	Line int
	Err  error
}

func (e *ParseError) Error() string { return fmt.Sprintf("scenario: %s:%d: %v", e.Name, e.Line, e.Err) }
func (e *ParseError) Unwrap() error { return e.Err }

// verbs lists each verb with its argument count range.
var verbs = map[string][2]int{
	"keys":      {1, 64},
	"type":      {1, 1},
	"insert":    {1, 1},
	"tap":       {1, 1},
	"swipe":     {1, 1},
	"remove":    {0, 0},
	"pin":       {1, 1},
	"scan":      {1, 1},
	"wait":      {1, 1},
	"host":      {1, 8},
	"power-cut": {0, 0},
	"pull-at":   {1, 1},
	"expect":    {1, 64},
	"clock":     {2, 2},
}

var keyNames = map[string]hal.Key{
	"ENTER": hal.KeyEnter, "OK": hal.KeyEnter, "CANCEL": hal.KeyCancel, "CLEAR": hal.KeyClear,
	"MENU": hal.KeyMenu, "UP": hal.KeyUp, "DOWN": hal.KeyDown, "F1": hal.KeyF1, ".": hal.KeyDot,
}

// Parse reads a scenario. Errors name the line.
func Parse(name string, r io.Reader) (*Script, error) {
	s := &Script{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64*1024)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if !utf8.ValidString(line) {
			return nil, &ParseError{name, n, errors.New("not UTF-8")}
		}
		fields, err := split(line)
		if err != nil {
			return nil, &ParseError{name, n, err}
		}
		if len(fields) == 0 {
			continue
		}
		verb := strings.ToLower(fields[0])
		limits, ok := verbs[verb]
		if !ok {
			return nil, &ParseError{name, n, fmt.Errorf("unknown verb %q", fields[0])}
		}
		args := fields[1:]
		if len(args) < limits[0] || len(args) > limits[1] {
			return nil, &ParseError{name, n, fmt.Errorf("%s takes %d to %d arguments, got %d", verb, limits[0], limits[1], len(args))}
		}
		st := Step{Line: n, Verb: verb, Args: args, Text: strings.TrimSpace(line)}
		if err := check(st); err != nil {
			return nil, &ParseError{name, n, err}
		}
		s.Steps = append(s.Steps, st)
	}
	if err := sc.Err(); err != nil {
		return nil, &ParseError{name, n + 1, err}
	}
	return s, nil
}

// split cuts a line into words; "double quotes" keep spaces, # starts a
// comment. Inside quotes \" is a quote and \\ a backslash; a backslash
// before anything else stays, so that a regular expression keeps its
// escapes ("/Trace \d{6}/", "/\[approved\]/").
func split(line string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(line) && (line[i+1] == '"' || line[i+1] == '\\'):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			inQuote = !inQuote
			have = true
		case !inQuote && c == '#':
			i = len(line)
		case !inQuote && (c == ' ' || c == '\t'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQuote {
		return nil, errors.New("unclosed quote")
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

func parseKeys(args []string) ([]hal.Key, error) {
	var keys []hal.Key
	for _, a := range args {
		if k, ok := keyNames[strings.ToUpper(a)]; ok {
			keys = append(keys, k)
			continue
		}
		for _, r := range a {
			if r < '0' || r > '9' {
				return nil, fmt.Errorf("unknown key %q", a)
			}
			keys = append(keys, hal.Key(r))
		}
	}
	return keys, nil
}

var expectForms = map[string][2]int{
	"screen": {1, 63}, "text": {1, 63}, "receipt": {1, 1}, "no-receipt": {1, 1}, "journal": {2, 2}, "host": {2, 63},
	"never": {2, 63},
}

// recordFields are the fields `expect host record` may name.
var recordFields = map[string]bool{"type": true, "kind": true, "trace": true, "code": true, "amount": true, "entry": true,
	"orig-trace": true, "reason": true, "applied": true, "answered": true, "voided": true, "reversed": true}

// timeLayouts are the ways `clock set` takes a time (local time unless it
// names its zone); a time of day alone is that time on the day the
// scenario runs.
var timeLayouts = []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			return t, nil
		}
	}
	for _, l := range []string{"15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(l, s, time.Local); err == nil {
			y, m, d := time.Now().Date()
			return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), 0, time.Local), nil
		}
	}
	return time.Time{}, fmt.Errorf("clock set: %q is not a time like 2026-12-03T23:59:00", s)
}

func check(st Step) error {
	switch st.Verb {
	case "keys":
		_, err := parseKeys(st.Args)
		return err
	case "type":
		_, err := parseKeys(st.Args)
		return err
	case "wait":
		_, err := time.ParseDuration(st.Args[0])
		return err
	case "pull-at":
		if n, err := strconv.Atoi(st.Args[0]); err != nil || n < 1 {
			return fmt.Errorf("pull-at takes the number of the command (1 or more) at which the card leaves, not %q", st.Args[0])
		}
	case "clock":
		switch st.Args[0] {
		case "set":
			_, err := parseTime(st.Args[1])
			return err
		case "advance":
			if d, err := time.ParseDuration(st.Args[1]); err != nil || d < 0 {
				return fmt.Errorf("clock advance takes a duration forward (like 2m or 24h), not %q", st.Args[1])
			}
			return nil
		}
		return fmt.Errorf("clock takes set TIME or advance DURATION, not %q", st.Args[0])
	case "expect":
		form := st.Args[0]
		lim, ok := expectForms[form]
		if !ok {
			return fmt.Errorf("unknown expectation %q", form)
		}
		rest := st.Args[1:]
		if i := indexOf(rest, "within"); i >= 0 {
			if form == "never" {
				return errors.New("expect never holds over the rest of the scenario: it takes no within")
			}
			if i+1 >= len(rest) {
				return errors.New("within needs a duration")
			}
			if _, err := time.ParseDuration(rest[i+1]); err != nil {
				return err
			}
			rest = append(rest[:i:i], rest[i+2:]...)
		}
		if len(rest) < lim[0] || len(rest) > lim[1] {
			return fmt.Errorf("expect %s takes %d to %d arguments", form, lim[0], lim[1])
		}
		switch form {
		case "host":
			return checkHost(rest)
		case "never":
			if rest[0] != "screen" && rest[0] != "text" {
				return fmt.Errorf("expect never takes screen ID [TEXT…] or text TEXT…, not %q", rest[0])
			}
		}
	}
	return nil
}

// checkHost checks the forms of `expect host`: KIND [STATE] COUNT, record
// N FIELD=VALUE…, order KIND….
func checkHost(rest []string) error {
	switch rest[0] {
	case "record":
		if len(rest) < 3 {
			return errors.New("expect host record takes N (1 or more, -1 or last for the latest) and FIELD=VALUE…")
		}
		if _, err := recordIndex(rest[1], 1); err != nil {
			return err
		}
		for _, fv := range rest[2:] {
			f, _, ok := strings.Cut(fv, "=")
			if !ok || !recordFields[f] {
				return fmt.Errorf("expect host record: %q is not FIELD=VALUE with a known field", fv)
			}
		}
		return nil
	case "order":
		return nil
	}
	if len(rest) == 3 && rest[1] == "reason" {
		if !reasonCode(rest[2]) {
			return fmt.Errorf("expect host: reason %q is not a two-character code", rest[2])
		}
		return nil
	}
	if len(rest) > 3 {
		return errors.New("expect host takes KIND [STATE] COUNT")
	}
	if _, err := strconv.Atoi(rest[len(rest)-1]); err != nil {
		return fmt.Errorf("expect host: count %q is not a number", rest[len(rest)-1])
	}
	return nil
}

// reasonCode reports whether s is a two-character response code.
func reasonCode(s string) bool {
	if len(s) != 2 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// recordIndex turns N of `expect host record N` into an index into n
// records: 1 is the first, -1 (or last) the latest.
func recordIndex(arg string, n int) (int, error) {
	if arg == "last" {
		arg = "-1"
	}
	i, err := strconv.Atoi(arg)
	if err != nil || i == 0 {
		return 0, fmt.Errorf("expect host record: %q is not a record number (1 or more, -1 or last)", arg)
	}
	if i < 0 {
		i += n
	} else {
		i--
	}
	return i, nil
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// Failure is a step whose expectation did not hold.
type Failure struct {
	Script string
	Step   Step
	Err    error
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s:%d: step %q failed: %v", f.Script, f.Step.Line, f.Step.Text, f.Err)
}
func (f *Failure) Unwrap() error { return f.Err }

// Runner runs scripts against a target.
type Runner struct {
	Target  Target
	Timeout time.Duration // default wait for an expectation (5 s when zero)
	Log     io.Writer     // each step as it runs, when set
	// Scale multiplies every wait, the default and each "within": the
	// slow-down of a binary under emulation or on a loaded machine (1
	// when zero). Waits end early on the event, so a large scale only
	// delays a failure.
	Scale float64
}

// never is an `expect never` step in force: no screen shown from from on
// may match.
type never struct {
	step  Step
	from  int
	match func(hal.Screen) bool
}

// Run executes s and returns the first failure. An `expect never` holds
// from its line to the end: it is checked after every later step, and at
// the end.
func (r *Runner) Run(ctx context.Context, s *Script) error {
	cursor := 0 // screens before this index are already matched
	var nevers []never
	checkNevers := func() error {
		screens := r.Target.Screens()
		for _, n := range nevers {
			for i := n.from; i < len(screens); i++ {
				if n.match(screens[i]) {
					return &Failure{Script: s.Name, Step: n.step, Err: fmt.Errorf("shown after all:\n%s", indent(screens[i].String()))}
				}
			}
		}
		return nil
	}
	for _, st := range s.Steps {
		if r.Log != nil {
			fmt.Fprintf(r.Log, "%s:%d: %s\n", s.Name, st.Line, st.Text)
		}
		if st.Verb == "expect" && st.Args[0] == "never" {
			nevers = append(nevers, never{step: st, from: len(r.Target.Screens()), match: screenMatcher(st.Args[1], st.Args[2:])})
			continue
		}
		next, err := r.step(ctx, st, cursor)
		if err != nil {
			return &Failure{Script: s.Name, Step: st, Err: err}
		}
		cursor = next
		if err := checkNevers(); err != nil {
			return err
		}
	}
	return checkNevers()
}

func (r *Runner) timeout(st Step) time.Duration {
	d := 5 * time.Second
	if i := indexOf(st.Args, "within"); i >= 0 && i+1 < len(st.Args) {
		d, _ = time.ParseDuration(st.Args[i+1])
	} else if r.Timeout > 0 {
		d = r.Timeout
	}
	if r.Scale > 1 {
		d = time.Duration(float64(d) * r.Scale)
	}
	return d
}

func withoutWithin(args []string) []string {
	if i := indexOf(args, "within"); i >= 0 && i+1 < len(args) {
		return append(append([]string(nil), args[:i]...), args[i+2:]...)
	}
	return args
}

func (r *Runner) step(ctx context.Context, st Step, cursor int) (int, error) {
	t := r.Target
	switch st.Verb {
	case "keys", "type":
		keys, _ := parseKeys(st.Args)
		return cursor, t.Press(ctx, keys...)
	case "insert", "tap", "swipe":
		return cursor, t.Present(ctx, st.Verb, st.Args[0])
	case "remove":
		return cursor, t.Remove(ctx)
	case "pin":
		if strings.EqualFold(st.Args[0], "cancel") {
			return cursor, t.CancelPIN(ctx)
		}
		return cursor, t.EnterPIN(ctx, st.Args[0])
	case "scan":
		return cursor, t.Scan(ctx, st.Args[0])
	case "wait":
		d, _ := time.ParseDuration(st.Args[0])
		select {
		case <-time.After(d):
			return cursor, nil
		case <-ctx.Done():
			return cursor, ctx.Err()
		}
	case "host":
		return cursor, t.Host(ctx, strings.Join(st.Args, " "))
	case "pull-at":
		p, ok := t.(CardPuller)
		if !ok {
			return cursor, errors.New("this target cannot pull a card at a command")
		}
		n, _ := strconv.Atoi(st.Args[0])
		return cursor, p.PullAt(ctx, n)
	case "power-cut":
		// Screens shown before the cut cannot be expected after it; what the
		// restarted terminal shows at once can, so the position is taken
		// before the restart.
		before := len(t.Screens())
		if err := t.PowerCut(ctx); err != nil {
			return cursor, err
		}
		return before, nil
	case "clock":
		c, ok := t.(Clock)
		if !ok {
			return cursor, errors.New("this target has no clock a scenario can set")
		}
		if st.Args[0] == "set" {
			at, _ := parseTime(st.Args[1])
			return cursor, c.SetClock(ctx, at)
		}
		d, _ := time.ParseDuration(st.Args[1])
		return cursor, c.AdvanceClock(ctx, d)
	case "expect":
		return r.expect(ctx, st, cursor)
	}
	return cursor, fmt.Errorf("unknown verb %q", st.Verb)
}

func (r *Runner) expect(ctx context.Context, st Step, cursor int) (int, error) {
	t := r.Target
	args := withoutWithin(st.Args)
	ctx, cancel := context.WithTimeout(ctx, r.timeout(st))
	defer cancel()
	switch args[0] {
	case "screen", "text":
		match := screenMatcher(args[0], args[1:])
		for {
			screens := t.Screens()
			for i := cursor; i < len(screens); i++ {
				if match(screens[i]) {
					return i + 1, nil
				}
			}
			if err := t.WaitScreens(ctx, len(screens)); err != nil {
				last := "none"
				if len(screens) > 0 {
					last = screens[len(screens)-1].String()
				}
				return cursor, fmt.Errorf("not shown within %v; last screen:\n%s", r.timeout(st), indent(last))
			}
		}
	case "receipt":
		want := args[1]
		return cursor, poll(ctx, func() (bool, string, error) {
			return strings.Contains(t.Receipts(), want), fmt.Sprintf("no receipt line contains %q; printed:\n%s", want, indent(t.Receipts())), nil
		})
	case "no-receipt":
		if strings.Contains(t.Receipts(), args[1]) {
			return cursor, fmt.Errorf("a receipt contains %q", args[1])
		}
		return cursor, nil
	case "journal":
		return cursor, poll(ctx, func() (bool, string, error) {
			state, err := t.JournalState(ctx, args[1])
			return state == args[2], "journal " + args[1] + " is " + strconv.Quote(state), err
		})
	case "host":
		switch args[1] {
		case "record":
			return cursor, r.expectRecord(ctx, args[2], args[3:])
		case "order":
			return cursor, r.expectOrder(ctx, args[2:])
		}
		if len(args) == 4 && args[2] == "reason" {
			// expect host KIND reason CODE: a record of KIND (a reversal)
			// whose field 39 is CODE.
			kind, code := args[1], args[3]
			return cursor, poll(ctx, func() (bool, string, error) {
				n, err := t.HostCount(ctx, kind, "reason="+code)
				return n > 0, fmt.Sprintf("host holds no %s with reason %s", kind, code), err
			})
		}
		kind, state, count := args[1], "", args[len(args)-1]
		if len(args) == 4 {
			state = args[2]
		}
		want, _ := strconv.Atoi(count)
		return cursor, poll(ctx, func() (bool, string, error) {
			n, err := t.HostCount(ctx, kind, state)
			return n == want, fmt.Sprintf("host holds %d %s %s records, want %d", n, state, kind, want), err
		})
	}
	return cursor, fmt.Errorf("unknown expectation %q", args[0])
}

func (r *Runner) inspector() (HostInspector, error) {
	h, ok := r.Target.(HostInspector)
	if !ok {
		return nil, errors.New("this target cannot show the host's records")
	}
	return h, nil
}

// expectRecord waits until the host's record n has every field=value (a
// /regexp/ value matches).
func (r *Runner) expectRecord(ctx context.Context, n string, want []string) error {
	h, err := r.inspector()
	if err != nil {
		return err
	}
	return poll(ctx, func() (bool, string, error) {
		recs, err := h.HostRecords(ctx)
		if err != nil {
			return false, "host records", err
		}
		i, _ := recordIndex(n, len(recs))
		if i < 0 || i >= len(recs) {
			return false, fmt.Sprintf("the host holds %d transaction records, no record %s", len(recs), n), nil
		}
		rec := recs[i]
		for _, fv := range want {
			f, v, _ := strings.Cut(fv, "=")
			if !matches(rec[f], v) {
				return false, fmt.Sprintf("host record %s has %s=%q, want %q; the record: %s", n, f, rec[f], v, formatRecord(rec)), nil
			}
		}
		return true, "", nil
	})
}

// expectOrder waits until the kinds of the host's transaction records, in
// order, are exactly kinds.
func (r *Runner) expectOrder(ctx context.Context, kinds []string) error {
	h, err := r.inspector()
	if err != nil {
		return err
	}
	return poll(ctx, func() (bool, string, error) {
		recs, err := h.HostRecords(ctx)
		if err != nil {
			return false, "host records", err
		}
		got := make([]string, len(recs))
		for i, rec := range recs {
			got[i] = rec["kind"]
		}
		ok := len(got) == len(kinds)
		for i := 0; ok && i < len(got); i++ {
			ok = matches(got[i], kinds[i])
		}
		return ok, fmt.Sprintf("host records in order: %q, want %q", got, kinds), nil
	})
}

// matches compares a value with what a scenario wants: equal, or a
// /regexp/ that matches.
func matches(got, want string) bool {
	if len(want) > 2 && strings.HasPrefix(want, "/") && strings.HasSuffix(want, "/") {
		re, err := regexp.Compile(want[1 : len(want)-1])
		return err == nil && re.MatchString(got)
	}
	return got == want
}

func formatRecord(rec HostRecord) string {
	keys := make([]string, 0, len(rec))
	for k := range rec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q ", k, rec[k])
	}
	return strings.TrimSpace(b.String())
}

// poll retries check until it holds or ctx ends.
func poll(ctx context.Context, check func() (bool, string, error)) error {
	for {
		ok, what, err := check()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%s: %w", what, err)
			}
			return errors.New(what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// screenMatcher: "screen ID [text]" matches the ID (and a text on it);
// "text T" matches any screen whose text contains T; a /regexp/ matches too.
func screenMatcher(form string, args []string) func(hal.Screen) bool {
	contains := func(s hal.Screen, want string) bool {
		text := s.String()
		if len(want) > 2 && strings.HasPrefix(want, "/") && strings.HasSuffix(want, "/") {
			re, err := regexp.Compile(want[1 : len(want)-1])
			return err == nil && re.MatchString(text)
		}
		return strings.Contains(text, want)
	}
	return func(s hal.Screen) bool {
		if form == "screen" {
			if s.ID != args[0] {
				return false
			}
			for _, w := range args[1:] {
				if !contains(s, w) {
					return false
				}
			}
			return true
		}
		for _, w := range args {
			if !contains(s, w) {
				return false
			}
		}
		return true
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
