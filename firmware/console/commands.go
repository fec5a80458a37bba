package console

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"kpos/firmware/console/command"
)

// Sentinels that end or reset the session.
var (
	errLogout = errors.New("console: logout")
	errExit   = errors.New("console: exit")
)

// execLine parses and runs one command line. It returns exit=true when the
// session ends; err only for a broken connection.
func (s *session) execLine(ctx context.Context, line string) (exit bool, err error) {
	o := &command.Output{Width: s.width}
	if strings.ContainsRune(line, runeBad) {
		// Control characters or bytes that are not UTF-8: line noise, a
		// wrong baud rate, or a binary pasted by mistake. One error for the
		// line, whatever it holds.
		return false, s.refuse(o, nil, errors.New("input is not text (control characters or invalid UTF-8); line ignored"))
	}
	words, perr := command.ParseLine(line)
	if perr != nil {
		return false, s.refuse(o, nil, errors.New(strings.TrimPrefix(perr.Error(), "console: ")))
	}
	if len(words) == 0 {
		s.port.spendLine()
		return false, nil
	}
	var args []string
	var badFlag string
	for _, w := range words[1:] {
		switch w {
		case "-json", "--json":
			o.JSON = true
		case "-force", "--force":
			o.Force = true
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
		if sug := command.Suggest(name, s.c.commandNames()); sug != "" {
			msg += fmt.Sprintf(" — did you mean '%s'?", sug)
		}
		return false, s.refuse(o, nil, errors.New(msg+" Type 'help' for the list."))
	}
	if badFlag != "" {
		return false, s.refuse(o, cmd, command.BadUsage(cmd, "%s: unknown flag '%s'", cmd.Name, badFlag))
	}
	if o.Force && !cmd.Force {
		return false, s.refuse(o, cmd, command.BadUsage(cmd, "%s: unknown flag '--force'", cmd.Name))
	}
	priv := cmd.NeedsPriv(args)
	if priv {
		s.dropExpiredPriv()
		if !s.priv {
			return false, s.refuse(o, cmd, fmt.Errorf("'%s' needs privileges: type 'priv' first", strings.TrimSpace(cmd.Name+" "+first(args))))
		}
		if s.c.cfg.Audit == nil {
			return false, s.refuse(o, cmd, errors.New("privileged commands are disabled: no audit log is configured"))
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	if !cmd.Interactive {
		runCtx, cancel = context.WithTimeout(ctx, s.c.cfg.CommandTimeout)
	}
	var rerr error
	if s.port.startCommand(cancel) {
		// ^C came after the line was sent and before its command started.
		rerr = context.Canceled
	} else {
		if cmd.Interactive {
			s.in.cmdDone = runCtx.Done()
		}
		rerr = cmd.Invoke(&command.Call{Ctx: runCtx, Sess: s, Out: o, Timeout: s.c.cfg.CommandTimeout}, args)
		s.in.cmdDone = nil
	}
	s.port.endCommand()
	if err := s.abandonPrompt(); err != nil {
		return false, err
	}
	timedOut := errors.Is(runCtx.Err(), context.DeadlineExceeded)
	cancel()
	return s.finish(ctx, cmd, args, o, priv, rerr, timedOut)
}

// refuse prints why a line runs no command. The line is spent first: a ^C
// typed from now on is the editor's, not taken for this line.
func (s *session) refuse(o *command.Output, cmd *command.Command, err error) error {
	s.port.spendLine()
	return s.emit(o, cmd, err)
}

// finish ends a command: the session's end for exit, logout and the idle
// timeout; the audit record of a privileged command; then its output.
func (s *session) finish(ctx context.Context, cmd *command.Command, args []string, o *command.Output, priv bool, rerr error, timedOut bool) (exit bool, err error) {
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
		if o.AuditArgs != nil {
			a = o.AuditArgs
		}
		if o.Force {
			a = append(a, "--force")
		}
		if aerr := s.audit(strings.TrimSpace(cmd.Name+" "+subOf(cmd, args)), a, result); aerr != nil && rerr == nil {
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
func subOf(cmd *command.Command, args []string) string {
	if r, _ := cmd.Resolve(args); r != nil && r != cmd {
		return r.Name
	}
	return ""
}

// emit prints a command's output or its error.
func (s *session) emit(o *command.Output, cmd *command.Command, err error) error {
	if o.JSON {
		var v any = o.Data
		if err != nil {
			v = map[string]string{"error": command.Friendly(err)}
		} else if v == nil {
			v = map[string]bool{"ok": true}
		}
		b, merr := command.RedactJSON(v)
		if merr != nil {
			return s.printRaw(`{"error": "console: encoding output"}`)
		}
		return s.printRaw(string(b))
	}
	if err != nil {
		text := o.Text.String()
		msg := "error: " + command.Friendly(err)
		var ue *command.UsageError
		if errors.As(err, &ue) && ue.Cmd != nil {
			msg += fmt.Sprintf("\nusage: %s %s", ue.Cmd.Name, ue.Cmd.Usage)
		}
		return s.println(text + msg)
	}
	if o.Text.Len() == 0 {
		return nil
	}
	return s.println(o.Text.String())
}

func (c *Console) commandNames() []string {
	names := make([]string, len(c.cmds))
	for i, cmd := range c.cmds {
		names[i] = cmd.Name
	}
	return names
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
		cands = cmd.Completions()
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
