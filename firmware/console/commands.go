package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// command is one console command.
type command struct {
	name    string
	usage   string // after the name, e.g. "list | get NAME | set NAME VALUE"
	summary string
	help    string
	subs    []string // sub-commands, for completion and suggestions
	// privileged reports whether this invocation needs privileges; nil
	// means never.
	privileged func(args []string) bool
	// interactive commands prompt for input and run without a timeout.
	interactive bool
	run         func(ctx context.Context, s *session, args []string, o *output) error
}

func always([]string) bool { return true }

// output collects what a command produces: text for people and a value for
// -json.
type output struct {
	json      bool
	force     bool
	text      strings.Builder
	data      any
	auditArgs []string // replaces the arguments in the audit record when set
	width     int      // the session's width, which tables fit in
}

// table renders a table at the session's width.
func (o *output) table(header []string, rows [][]string, right, keep []int) string {
	return table(o.width, header, rows, right, keep)
}

func (o *output) printf(format string, a ...any) { fmt.Fprintf(&o.text, format, a...) }

// Sentinels that end or reset the session.
var (
	errLogout = errors.New("console: logout")
	errExit   = errors.New("console: exit")
)

// usageError is a bad invocation; the console prints the usage with it.
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func badUsage(cmd *command, format string, a ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, a...)}
}

// execLine parses and runs one command line. It returns exit=true when the
// session ends; err only for a broken connection.
func (s *session) execLine(ctx context.Context, line string) (exit bool, err error) {
	if strings.ContainsRune(line, runeBad) {
		// Control characters or bytes that are not UTF-8: line noise, a
		// wrong baud rate, or a binary pasted by mistake. One error for the
		// line, whatever it holds.
		return false, s.println("error: input is not text (control characters or invalid UTF-8); line ignored")
	}
	words, perr := ParseLine(line)
	if perr != nil {
		return false, s.println("error: " + strings.TrimPrefix(perr.Error(), "console: "))
	}
	if len(words) == 0 {
		return false, nil
	}
	o := &output{width: s.width}
	var args []string
	var badFlag string
	for _, w := range words[1:] {
		switch w {
		case "-json", "--json":
			o.json = true
		case "-force", "--force":
			o.force = true
		default:
			if len(w) > 1 && w[0] == '-' && badFlag == "" {
				badFlag = w
			}
			args = append(args, w)
		}
	}
	name := words[0]
	cmd := s.c.byName[name]
	if cmd == nil {
		msg := fmt.Sprintf("unknown command '%s'", name)
		if sug := suggest(name, s.c.commandNames()); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return false, s.emit(o, nil, errors.New(msg+" Type 'help' for the list."))
	}
	if badFlag != "" {
		return false, s.emit(o, cmd, badUsage(cmd, "%s: unknown flag '%s'", cmd.name, badFlag))
	}
	if o.force && cmd.name != "update" {
		return false, s.emit(o, cmd, badUsage(cmd, "%s: unknown flag '--force'", cmd.name))
	}
	priv := cmd.privileged != nil && cmd.privileged(args)
	if priv {
		s.dropExpiredPriv()
		if !s.priv {
			return false, s.emit(o, cmd, fmt.Errorf("'%s' needs privileges: type 'priv' first", strings.TrimSpace(cmd.name+" "+first(args))))
		}
		if s.c.cfg.Audit == nil {
			return false, s.emit(o, cmd, errors.New("privileged commands are disabled: no audit log is configured"))
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	if !cmd.interactive {
		runCtx, cancel = context.WithTimeout(ctx, s.c.cfg.CommandTimeout)
	}
	var rerr error
	if s.port.startCommand(cancel) {
		// ^C came after the line was sent and before its command started.
		rerr = context.Canceled
	} else {
		if cmd.interactive {
			s.in.cmdDone = runCtx.Done()
		}
		rerr = cmd.run(runCtx, s, args, o)
		s.in.cmdDone = nil
	}
	s.port.endCommand()
	if err := s.abandonPrompt(); err != nil {
		return false, err
	}
	timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	cancel()
	if errors.Is(rerr, errExit) {
		s.audit("exit", nil, "ok")
		return true, s.println("Bye.")
	}
	if errors.Is(rerr, errIdle) {
		s.audit("logout", nil, "idle timeout")
		if err := s.endSession(true); err != nil {
			return false, err
		}
		return false, s.println(fmt.Sprintf("no input for %s: logged out", s.c.cfg.IdleTimeout))
	}
	if errors.Is(rerr, errLogout) {
		s.audit("logout", nil, "ok")
		if err := s.endSession(false); err != nil {
			return false, err
		}
		return false, s.println("Logged out.")
	}
	if rerr != nil && ctx.Err() != nil {
		return false, ctx.Err()
	}
	if rerr != nil && timedOut {
		rerr = fmt.Errorf("%w (gave up after %s)", rerr, s.c.cfg.CommandTimeout)
	}
	if priv {
		result := "ok"
		if rerr != nil {
			result = "error: " + rerr.Error()
		}
		a := args
		if o.auditArgs != nil {
			a = o.auditArgs
		}
		if o.force {
			a = append(a, "--force")
		}
		if aerr := s.audit(strings.TrimSpace(cmd.name+" "+subOf(cmd, args)), a, result); aerr != nil && rerr == nil {
			rerr = fmt.Errorf("done, but %w", aerr)
		}
		if rerr == nil {
			s.privUntil = s.c.cfg.Now().Add(s.c.cfg.PrivTimeout)
		}
	}
	return false, s.emit(o, cmd, rerr)
}

func first(a []string) string {
	if len(a) == 0 {
		return ""
	}
	return a[0]
}

// subOf names the sub-command for the audit log.
func subOf(cmd *command, args []string) string {
	if len(cmd.subs) > 0 && len(args) > 0 {
		for _, s := range cmd.subs {
			if s == args[0] {
				return s
			}
		}
	}
	return ""
}

// emit prints a command's output or its error.
func (s *session) emit(o *output, cmd *command, err error) error {
	if o.json {
		var v any = o.data
		if err != nil {
			v = map[string]string{"error": friendly(err)}
		} else if v == nil {
			v = map[string]bool{"ok": true}
		}
		b, merr := redactJSON(v)
		if merr != nil {
			return s.printRaw(`{"error": "console: encoding output"}`)
		}
		return s.printRaw(string(b))
	}
	if err != nil {
		text := o.text.String()
		msg := "error: " + friendly(err)
		var ue *usageError
		if errors.As(err, &ue) && ue.cmd != nil {
			msg += fmt.Sprintf("\nusage: %s %s", ue.cmd.name, ue.cmd.usage)
		}
		return s.println(text + msg)
	}
	if o.text.Len() == 0 {
		return nil
	}
	return s.println(o.text.String())
}

// friendly turns an error into what a technician reads.
func friendly(err error) string {
	switch {
	case errors.Is(err, ErrNotAvailable):
		return "not available on this board"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + err.Error()
	}
	return err.Error()
}

func (c *Console) commandNames() []string {
	names := make([]string, len(c.cmds))
	for i, cmd := range c.cmds {
		names[i] = cmd.name
	}
	return names
}

// suggest returns the candidate closest to word when it is close enough to
// be a typo: an edit distance of at most 2 (1 for short words), or a unique
// prefix.
func suggest(word string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(word, c)
		if d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(word) <= 3 {
		limit = 1
	}
	if bestD <= limit {
		return best
	}
	var pre []string
	for _, c := range candidates {
		if strings.HasPrefix(c, word) {
			pre = append(pre, c)
		}
	}
	if len(pre) == 1 {
		return pre[0]
	}
	return ""
}

// editDistance is the Damerau-Levenshtein distance (with adjacent
// transpositions) between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}

// complete is the terminal's tab completion: command names for the first
// word, sub-commands (or command names after help) for the second. An
// ambiguous prefix is extended as far as it goes; pressing tab again lists
// the candidates.
func (s *session) complete(line string, pos int, key rune) (string, int, bool) {
	if key != '\t' {
		return "", 0, false
	}
	head, tail := line[:pos], line[pos:]
	words := strings.Fields(head)
	if strings.HasSuffix(head, " ") || len(words) == 0 {
		words = append(words, "")
	}
	if len(words) > 2 {
		return "", 0, false
	}
	var cands []string
	if len(words) == 1 {
		cands = s.c.commandNames()
	} else if words[0] == "help" {
		cands = s.c.commandNames()
	} else if cmd := s.c.byName[words[0]]; cmd != nil {
		cands = cmd.subs
	}
	cur := words[len(words)-1]
	var match []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			match = append(match, c)
		}
	}
	if len(match) == 0 {
		return "", 0, false
	}
	base := head[:len(head)-len(cur)]
	if len(match) == 1 {
		nl := base + match[0] + " "
		return nl + tail, len(nl), true
	}
	lcp := match[0]
	for _, m := range match[1:] {
		for !strings.HasPrefix(m, lcp) {
			lcp = lcp[:len(lcp)-1]
		}
	}
	if lcp == cur {
		sort.Strings(match)
		s.t.Write([]byte(strings.Join(match, "  ") + "\n"))
		return "", 0, false
	}
	nl := base + lcp
	return nl + tail, len(nl), true
}

// timeStr formats times for tables in the terminal's local time.
func timeStr(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}

// redactJSON encodes v with every string (keys included) redacted, and any
// number that reads as a PAN turned into its masked string, so that the
// redactor never has to cut through JSON syntax.
func redactJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("console: encoding output: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("console: encoding output: %w", err)
	}
	return json.MarshalIndent(redactTree(tree), "", "  ")
}

func redactTree(v any) any {
	switch x := v.(type) {
	case string:
		return Redact(x)
	case json.Number:
		if r := Redact(x.String()); r != x.String() {
			return r
		}
		return x
	case []any:
		for i := range x {
			x[i] = redactTree(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[Redact(k)] = redactTree(e)
		}
		return out
	}
	return v
}
