// Package command is the console's command record: a command declared once
// as data (name, arguments, privilege, help, handler and the type of its
// result with its text form), and the text forms every command shares
// (tables folded at the session's width, key/value views, -json with every
// string redacted). The console's session runs the records; the packages
// that declare commands build them with this package alone.
//
// It knows nothing of the session, the transport, the password or the
// services the commands act on; it sees a handler's session only through
// the small Session interface.
package command

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
)

// Command is one console command, declared once as data: its name, its
// arguments, its privilege, its help, its handler and the type of its
// result with how that result reads as text. Help, completion, suggestions,
// argument checks, the privilege check, the audit record, the text output
// and -json all come from this one record, so a command is added by adding
// one record to the list the console is given.
type Command struct {
	Name    string
	Usage   string // after the name, e.g. "list | get NAME | set NAME VALUE"
	Summary string
	Help    string
	// Args bounds the arguments the handler gets (after a sub-command's
	// name); the zero value takes none.
	Args Arity
	// Subs are sub-commands: the first argument picks one, and the chosen
	// record's Args, Privileged and Run apply.
	Subs []*Command
	// Words are further second words offered by completion (reprint last,
	// term cols).
	Words []string
	// Noun names a sub-command in "unknown ..." errors; "sub-command" when
	// empty. Need is the error for a missing sub-command ("%s" is the
	// command's name); by default it lists the sub-commands.
	Noun, Need string
	// Privileged reports whether this invocation (args after a
	// sub-command's name) needs privileges; nil means never.
	Privileged func(args []string) bool
	// Interactive commands prompt for input and run without a timeout.
	Interactive bool
	// Force: the command takes --force.
	Force bool
	Run   Runner
}

// Arity is how many arguments a command takes. Msg is the usage error when
// the count is wrong, with %s for the command's name; an empty Msg on a
// command that takes no arguments gives "NAME takes no arguments".
type Arity struct {
	Min, Max int
	Msg      string
}

// Between is an arity of lo to hi arguments.
func Between(lo, hi int, msg string) Arity { return Arity{lo, hi, msg} }

// Always is a Privileged for commands that always need privileges.
func Always([]string) bool { return true }

// Session is what a handler may ask of the session it runs in.
type Session interface {
	// Println prints a line at once (progress, prompts).
	Println(text string) error
	// ReadSecret reads one line without echo.
	ReadSecret(prompt string) (string, error)
	// Audit writes one audit record; an error means it was not written.
	Audit(command string, args []string, result string) error
}

// Call is one invocation as a handler sees it.
type Call struct {
	Ctx  context.Context
	Sess Session
	Top  *Command // the command typed (param, not its sub-command set)
	Args []string // the arguments after the command and sub-command names
	Out  *Output
	// Timeout is how long a command may run; interactive commands bound
	// their own waits with it once the input is in.
	Timeout time.Duration
}

// Usage is a bad invocation of the command typed.
func (c *Call) Usage(format string, a ...any) error { return BadUsage(c.Top, format, a...) }

// Live prints a progress line at once, for people only.
func (c *Call) Live(msg string) {
	if !c.Out.JSON {
		c.Sess.Println(msg)
	}
}

// Output collects what a command produces: text for people and a value for
// -json.
type Output struct {
	JSON      bool
	Force     bool
	Text      strings.Builder
	Data      any
	AuditArgs []string // replaces the arguments in the audit record when set
	Width     int      // the session's width, which tables fit in
}

// Table renders a table at the session's width.
func (o *Output) Table(header []string, rows [][]string, right, keep []int) string {
	return Table(o.Width, header, rows, right, keep)
}

// Runner is a handler bound to its result's text form: it returns the value
// -json prints and the text people read.
type Runner func(c *Call) (data any, text string, err error)

// Handle binds a handler that answers a T to the text form of a T. A nil
// slice is shown to -json as an empty list.
func Handle[T any](run func(*Call) (T, error), show func(*Call, T) string) Runner {
	return func(c *Call) (any, string, error) {
		v, err := run(c)
		if err != nil {
			return nil, "", err
		}
		var data any = v
		switch rv := reflect.ValueOf(data); {
		case rv.Kind() == reflect.Slice && rv.IsNil():
			data = reflect.MakeSlice(rv.Type(), 0, 0).Interface()
		case rv.Kind() == reflect.Pointer && rv.IsNil():
			data = nil // no value: -json says {"ok": true}
		}
		return data, show(c, v), nil
	}
}

// Done is the result of a command that answers only with a sentence: -json
// shows {"ok": true}.
type Done string

// Say binds a handler that answers a sentence.
func Say(run func(*Call) (Done, error)) Runner {
	return func(c *Call) (any, string, error) {
		msg, err := run(c)
		return nil, string(msg), err
	}
}

// Sentence shows a result as one formatted line.
func Sentence[T any](line func(T) string) func(*Call, T) string {
	return func(_ *Call, v T) string { return line(v) + "\n" }
}

// Column is one column of a table of T.
type Column[T any] struct {
	Head        string
	Cell        func(T) string
	Right, Keep bool // right-aligned (amounts); never cut (card and trace numbers)
}

// TableOf shows a list of T as a table at the session's width; empty, when
// set, is said instead of an empty table.
func TableOf[T any](empty string, cols ...Column[T]) func(*Call, []T) string {
	return func(c *Call, list []T) string {
		if len(list) == 0 && empty != "" {
			return empty + "\n"
		}
		head := make([]string, len(cols))
		var right, keep []int
		for i, col := range cols {
			head[i] = col.Head
			if col.Right {
				right = append(right, i)
			}
			if col.Keep {
				keep = append(keep, i)
			}
		}
		rows := make([][]string, 0, len(list))
		for _, v := range list {
			row := make([]string, len(cols))
			for i, col := range cols {
				row[i] = col.Cell(v)
			}
			rows = append(rows, row)
		}
		return c.Out.Table(head, rows, right, keep)
	}
}

// Field is one line of a key/value view of T.
type Field[T any] struct {
	Key string
	Val func(T) string
}

// FieldsOf shows a T as aligned key/value lines.
func FieldsOf[T any](fields ...Field[T]) func(*Call, T) string {
	return func(_ *Call, v T) string {
		pairs := make([][2]string, len(fields))
		for i, f := range fields {
			pairs[i] = [2]string{f.Key, f.Val(v)}
		}
		return KV(pairs...)
	}
}

// Resolve picks the record that runs: the command, or its sub-command named
// by the first argument. run is nil when the command has sub-commands and
// the argument names none; rest are the arguments the record gets.
func (cmd *Command) Resolve(args []string) (run *Command, rest []string) {
	if len(cmd.Subs) == 0 {
		return cmd, args
	}
	if len(args) > 0 {
		for _, s := range cmd.Subs {
			if s.Name == args[0] {
				return s, args[1:]
			}
		}
	}
	return nil, args
}

// NeedsPriv reports whether this invocation needs privileges.
func (cmd *Command) NeedsPriv(args []string) bool {
	r, rest := cmd.Resolve(args)
	return r != nil && r.Privileged != nil && r.Privileged(rest)
}

// MayNeedPriv reports whether any invocation needs privileges (help's *).
func (cmd *Command) MayNeedPriv() bool {
	if cmd.Privileged != nil {
		return true
	}
	for _, s := range cmd.Subs {
		if s.Privileged != nil {
			return true
		}
	}
	return false
}

// Completions are the second words completion offers.
func (cmd *Command) Completions() []string {
	out := make([]string, 0, len(cmd.Subs)+len(cmd.Words))
	for _, s := range cmd.Subs {
		out = append(out, s.Name)
	}
	return append(out, cmd.Words...)
}

// Invoke checks the arguments against the record and runs its handler; the
// handler's value and text land in c.Out.
func (cmd *Command) Invoke(c *Call, args []string) error {
	c.Top = cmd
	r, rest := cmd.Resolve(args)
	if r == nil {
		return cmd.badSub(args)
	}
	if n := len(rest); n < r.Args.Min || n > r.Args.Max {
		if r.Args.Msg == "" {
			return fmt.Errorf("%s takes no arguments (got '%s')", cmd.Name, rest[0])
		}
		return BadUsage(cmd, r.Args.Msg, cmd.Name)
	}
	c.Args = rest
	data, text, err := r.Run(c)
	if err != nil {
		return err
	}
	c.Out.Data = data
	c.Out.Text.WriteString(text)
	return nil
}

// badSub is the error for a missing or unknown sub-command.
func (cmd *Command) badSub(args []string) error {
	names := cmd.Completions()[:len(cmd.Subs)]
	if len(args) == 0 {
		if cmd.Need != "" {
			return BadUsage(cmd, cmd.Need, cmd.Name)
		}
		return BadUsage(cmd, "%s needs %s", cmd.Name, orList(names))
	}
	noun := cmd.Noun
	if noun == "" {
		noun = "sub-command"
	}
	msg := fmt.Sprintf("unknown %s '%s'", noun, args[0])
	if sug := Suggest(args[0], names); sug != "" {
		msg += fmt.Sprintf(" — did you mean '%s'?", sug)
	}
	return BadUsage(cmd, "%s", msg)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ErrNotAvailable: the board has no such device or service.
var ErrNotAvailable = errors.New("console: not available on this board")

// Available is ErrNotAvailable when a service the board lacks is nil.
func Available(present bool) error {
	if !present {
		return ErrNotAvailable
	}
	return nil
}

// UsageError is a bad invocation; the console prints the usage with it.
type UsageError struct {
	Cmd *Command
	msg string
}

func (e *UsageError) Error() string { return e.msg }

// BadUsage is a UsageError of cmd.
func BadUsage(cmd *Command, format string, a ...any) error {
	return &UsageError{Cmd: cmd, msg: fmt.Sprintf(format, a...)}
}

// Friendly turns an error into what a technician reads.
func Friendly(err error) string {
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

// Suggest returns the candidate closest to word when it is close enough to
// be a typo: an edit distance of at most 2 (1 for short words), or a unique
// prefix.
func Suggest(word string, candidates []string) string {
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
