package console

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// command is one console command, declared once as data: its name, its
// arguments, its privilege, its help, its handler and the type of its
// result with how that result reads as text. Help, completion, suggestions,
// argument checks, the privilege check, the audit record, the text output
// and -json all come from this one record, so a command is added by adding
// one record to commands().
type command struct {
	name    string
	usage   string // after the name, e.g. "list | get NAME | set NAME VALUE"
	summary string
	help    string
	// args bounds the arguments the handler gets (after a sub-command's
	// name); the zero value takes none.
	args arity
	// subs are sub-commands: the first argument picks one, and the chosen
	// record's args, privileged and run apply.
	subs []*command
	// words are further second words offered by completion (reprint last,
	// term cols).
	words []string
	// noun names a sub-command in "unknown ..." errors; "sub-command" when
	// empty. need is the error for a missing sub-command ("%s" is the
	// command's name); by default it lists the sub-commands.
	noun, need string
	// privileged reports whether this invocation (args after a
	// sub-command's name) needs privileges; nil means never.
	privileged func(args []string) bool
	// interactive commands prompt for input and run without a timeout.
	interactive bool
	// force: the command takes --force.
	force bool
	run   runner
}

// arity is how many arguments a command takes. msg is the usage error when
// the count is wrong, with %s for the command's name; an empty msg on a
// command that takes no arguments gives "NAME takes no arguments".
type arity struct {
	min, max int
	msg      string
}

// between is an arity of min to max arguments.
func between(lo, hi int, msg string) arity { return arity{lo, hi, msg} }

func always([]string) bool { return true }

// call is one invocation as a handler sees it.
type call struct {
	ctx  context.Context
	s    *session
	top  *command // the command typed (param, not its sub-command set)
	args []string // the arguments after the command and sub-command names
	o    *output
}

func (c *call) svc() *Services { return &c.s.c.svc }

// usage is a bad invocation of the command typed.
func (c *call) usage(format string, a ...any) error { return badUsage(c.top, format, a...) }

// live prints a progress line at once, for people only.
func (c *call) live(msg string) {
	if !c.o.json {
		c.s.println(msg)
	}
}

// runner is a handler bound to its result's text form: it returns the value
// -json prints and the text people read.
type runner func(c *call) (data any, text string, err error)

// handle binds a handler that answers a T to the text form of a T. A nil
// slice is shown to -json as an empty list.
func handle[T any](run func(*call) (T, error), show func(*call, T) string) runner {
	return func(c *call) (any, string, error) {
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

// done is the result of a command that answers only with a sentence: -json
// shows {"ok": true}.
type done string

// say binds a handler that answers a sentence.
func say(run func(*call) (done, error)) runner {
	return func(c *call) (any, string, error) {
		msg, err := run(c)
		return nil, string(msg), err
	}
}

// sentence shows a result as one formatted line.
func sentence[T any](line func(T) string) func(*call, T) string {
	return func(_ *call, v T) string { return line(v) + "\n" }
}

// column is one column of a table of T.
type column[T any] struct {
	head        string
	cell        func(T) string
	right, keep bool // right-aligned (amounts); never cut (card and trace numbers)
}

// tableOf shows a list of T as a table at the session's width; empty, when
// set, is said instead of an empty table.
func tableOf[T any](empty string, cols ...column[T]) func(*call, []T) string {
	return func(c *call, list []T) string {
		if len(list) == 0 && empty != "" {
			return empty + "\n"
		}
		head := make([]string, len(cols))
		var right, keep []int
		for i, col := range cols {
			head[i] = col.head
			if col.right {
				right = append(right, i)
			}
			if col.keep {
				keep = append(keep, i)
			}
		}
		rows := make([][]string, 0, len(list))
		for _, v := range list {
			row := make([]string, len(cols))
			for i, col := range cols {
				row[i] = col.cell(v)
			}
			rows = append(rows, row)
		}
		return c.o.table(head, rows, right, keep)
	}
}

// field is one line of a key/value view of T.
type field[T any] struct {
	key string
	val func(T) string
}

// fieldsOf shows a T as aligned key/value lines.
func fieldsOf[T any](fields ...field[T]) func(*call, T) string {
	return func(_ *call, v T) string {
		pairs := make([][2]string, len(fields))
		for i, f := range fields {
			pairs[i] = [2]string{f.key, f.val(v)}
		}
		return kv(pairs...)
	}
}

// resolve picks the record that runs: the command, or its sub-command named
// by the first argument. sub is nil when the command has none or the
// argument names none; rest are the arguments the record gets.
func (cmd *command) resolve(args []string) (run *command, rest []string) {
	if len(cmd.subs) == 0 {
		return cmd, args
	}
	if len(args) > 0 {
		for _, s := range cmd.subs {
			if s.name == args[0] {
				return s, args[1:]
			}
		}
	}
	return nil, args
}

// needsPriv reports whether this invocation needs privileges.
func (cmd *command) needsPriv(args []string) bool {
	r, rest := cmd.resolve(args)
	return r != nil && r.privileged != nil && r.privileged(rest)
}

// mayNeedPriv reports whether any invocation needs privileges (help's *).
func (cmd *command) mayNeedPriv() bool {
	if cmd.privileged != nil {
		return true
	}
	for _, s := range cmd.subs {
		if s.privileged != nil {
			return true
		}
	}
	return false
}

// completions are the second words completion offers.
func (cmd *command) completions() []string {
	out := make([]string, 0, len(cmd.subs)+len(cmd.words))
	for _, s := range cmd.subs {
		out = append(out, s.name)
	}
	return append(out, cmd.words...)
}

// invoke checks the arguments against the record and runs its handler.
func (cmd *command) invoke(ctx context.Context, s *session, args []string, o *output) error {
	c := &call{ctx: ctx, s: s, top: cmd, o: o}
	r, rest := cmd.resolve(args)
	if r == nil {
		return cmd.badSub(args)
	}
	if n := len(rest); n < r.args.min || n > r.args.max {
		if r.args.msg == "" {
			return fmt.Errorf("%s takes no arguments (got '%s')", cmd.name, rest[0])
		}
		return badUsage(cmd, r.args.msg, cmd.name)
	}
	c.args = rest
	data, text, err := r.run(c)
	if err != nil {
		return err
	}
	o.data = data
	o.text.WriteString(text)
	return nil
}

// badSub is the error for a missing or unknown sub-command.
func (cmd *command) badSub(args []string) error {
	names := cmd.completions()[:len(cmd.subs)]
	if len(args) == 0 {
		if cmd.need != "" {
			return badUsage(cmd, cmd.need, cmd.name)
		}
		return badUsage(cmd, "%s needs %s", cmd.name, orList(names))
	}
	noun := cmd.noun
	if noun == "" {
		noun = "sub-command"
	}
	msg := fmt.Sprintf("unknown %s '%s'", noun, args[0])
	if sug := suggest(args[0], names); sug != "" {
		msg += fmt.Sprintf(" — did you mean '%s'?", sug)
	}
	return badUsage(cmd, "%s", msg)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// available is ErrNotAvailable when a service the board lacks is nil.
func available(present bool) error {
	if !present {
		return ErrNotAvailable
	}
	return nil
}

// errNotFoundAs replaces ErrNotFound from a service with msg.
func errNotFoundAs(err error, msg string) error {
	if errors.Is(err, ErrNotFound) {
		return errors.New(msg)
	}
	return err
}
