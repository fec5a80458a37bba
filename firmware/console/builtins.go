package console

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"kpos/firmware/console/command"
)

// The console's own commands: the session's help, password, privileges,
// width and end. help comes first and the others after the commands the
// console is given, in the order help lists them.

// builtinsFirst are listed before the given commands.
func builtinsFirst() []*command.Command {
	return []*command.Command{
		{Name: "help", Usage: "[COMMAND]", Summary: "list commands, or explain one",
			Help: "help lists every command; help COMMAND shows its usage. Commands marked * need 'priv'.\nEvery command takes -json for machine-readable output.",
			Args: command.Between(0, 1, "%s takes at most one command name"), Run: runHelp},
	}
}

// builtinsLast are listed after the given commands.
func builtinsLast() []*command.Command {
	return []*command.Command{
		{Name: "passwd", Summary: "change the technician password (*)", Help: "Asks for the current and the new password (8+ characters, digits and others).",
			Privileged: command.Always, Interactive: true, Run: command.Say(runPasswd)},
		{Name: "term", Usage: "[cols N | cols auto]", Summary: "terminal width", Words: []string{"cols"},
			Help: "Shows the width output is folded at. cols N sets it (20 to 1000); cols auto asks the terminal\n(ESC[6n), as every login does.",
			Args: command.Between(0, 2, "%s takes 'cols N' or 'cols auto'"), Run: command.Handle(runTerm, command.Sentence(termText))},
		{Name: "priv", Summary: "enable privileged commands", Help: "Asks for the technician password again. Privileges lapse after a quiet period, on logout\nand on 'unpriv'.",
			Interactive: true, Run: command.Say(runPriv)},
		{Name: "unpriv", Summary: "drop privileges", Help: "Returns to read-only commands.", Run: command.Say(runUnpriv)},
		{Name: "logout", Summary: "end the session, back to the login prompt", Help: "Logs out.", Run: command.Say(func(*command.Call) (command.Done, error) { return "", errLogout })},
		{Name: "exit", Summary: "end the session and disconnect", Help: "Logs out and closes the connection.", Run: command.Say(func(*command.Call) (command.Done, error) { return "", errExit })},
	}
}

// sessionOf is the session a built-in runs in.
func sessionOf(c *command.Call) *session { return c.Sess.(*session) }

// helpEntry is one line of help's list.
type helpEntry struct {
	Name       string `json:"name"`
	Usage      string `json:"usage"`
	Summary    string `json:"summary"`
	Privileged bool   `json:"privileged"`
}

// helpTopic is help COMMAND.
type helpTopic struct {
	Command string `json:"command"`
	Usage   string `json:"usage"`
	Summary string `json:"summary"`
	Help    string `json:"help"`
}

func runHelp(c *command.Call) (any, string, error) {
	cs := sessionOf(c).c
	if len(c.Args) == 1 {
		cmd := cs.byName[c.Args[0]]
		if cmd == nil {
			msg := fmt.Sprintf("no command '%s'", c.Args[0])
			if sug := command.Suggest(c.Args[0], cs.commandNames()); sug != "" {
				msg += fmt.Sprintf(" — did you mean '%s'?", sug)
			}
			return nil, "", errors.New(msg)
		}
		t := helpTopic{cmd.Name, strings.TrimSpace(cmd.Name + " " + cmd.Usage), cmd.Summary, cmd.Help}
		return t, fmt.Sprintf("usage: %s %s\n%s\n", cmd.Name, cmd.Usage, cmd.Help), nil
	}
	var list []helpEntry
	for _, cmd := range cs.cmds {
		list = append(list, helpEntry{cmd.Name, cmd.Usage, cmd.Summary, cmd.MayNeedPriv()})
	}
	text := command.TableOf("",
		command.Column[helpEntry]{Head: "COMMAND", Cell: func(e helpEntry) string { return e.Name }},
		command.Column[helpEntry]{Head: "WHAT IT DOES", Cell: func(e helpEntry) string { return e.Summary }})(c, list)
	return list, text + "(*) needs 'priv'. 'help COMMAND' for details; every command takes -json.\n", nil
}

func runPasswd(c *command.Call) (command.Done, error) {
	s := sessionOf(c)
	old, err := s.readSecret("Current password: ")
	if err != nil {
		return "", err
	}
	pw, err := s.readSecret("New password: ")
	if err != nil {
		return "", err
	}
	again, err := s.readSecret("Repeat new password: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the new passwords differ; password not changed")
	}
	if err := s.c.guard.change(old, pw); err != nil {
		return "", fmt.Errorf("password not changed: %w", err)
	}
	return "password changed\n", nil
}

func runPriv(c *command.Call) (command.Done, error) {
	s := sessionOf(c)
	if s.priv {
		return "already privileged\n", nil
	}
	pw, err := s.readSecret("Password: ")
	if err != nil {
		return "", err
	}
	res, err := s.c.guard.attempt(pw)
	if c.Ctx.Err() != nil {
		// ^C while the password was checked: no privileges, whatever the
		// answer.
		s.audit(c.Top.Name, nil, "cancelled")
		return "", c.Ctx.Err()
	}
	switch {
	case err == nil && res.ok:
		s.priv = true
		s.privUntil = s.c.cfg.Now().Add(s.c.cfg.PrivTimeout)
		if aerr := s.audit(c.Top.Name, nil, "ok"); aerr != nil {
			s.priv = false
			return "", fmt.Errorf("privileges refused: %w", aerr)
		}
		return command.Done(fmt.Sprintf("privileged commands enabled for %s after the last one\n", s.c.cfg.PrivTimeout)), nil
	case errors.Is(err, ErrLocked):
		s.audit(c.Top.Name, nil, "refused: locked")
		return "", fmt.Errorf("console locked: try again in %s", roundUp(res.lockFor))
	case errors.Is(err, ErrBadPassword):
		s.audit(c.Top.Name, nil, fmt.Sprintf("failed (%d consecutive)", res.failures))
		if res.lockFor > 0 {
			return "", fmt.Errorf("wrong password; console locked for %s", roundUp(res.lockFor))
		}
		return "", errors.New("wrong password")
	}
	return "", err
}

func runUnpriv(c *command.Call) (command.Done, error) {
	if s := sessionOf(c); s.priv {
		s.priv = false
		s.audit(c.Top.Name, nil, "ok")
	}
	return "read-only\n", nil
}

// termWidth is term's answer.
type termWidth struct {
	Cols   int    `json:"cols"`
	Source string `json:"source"`
}

func termText(t termWidth) string {
	if t.Source == "asked" {
		return fmt.Sprintf("asked the terminal for its width; until it answers, %d columns", t.Cols)
	}
	return fmt.Sprintf("%d columns (%s)", t.Cols, t.Source)
}

func runTerm(c *command.Call) (termWidth, error) {
	s, args := sessionOf(c), c.Args
	switch {
	case len(args) == 0:
	case len(args) == 2 && args[0] == "cols" && args[1] == "auto":
		s.widthSet = false
		if err := s.askWidth(); err != nil {
			return termWidth{}, err
		}
		return termWidth{s.width, "asked"}, nil
	case len(args) == 2 && args[0] == "cols":
		n, err := strconv.Atoi(args[1])
		if err != nil || n < command.MinWidth || n > command.MaxWidth {
			return termWidth{}, c.Usage("'%s' is not a width (%d to %d)", args[1], command.MinWidth, command.MaxWidth)
		}
		s.widthSet = true
		s.setWidth(n)
	default:
		return termWidth{}, c.Usage("%s takes 'cols N' or 'cols auto'", c.Top.Name)
	}
	source := "default"
	switch {
	case s.widthSet:
		source = "set with term cols"
	case s.port.reportedCols() == s.width:
		source = "reported by the terminal"
	}
	return termWidth{s.width, source}, nil
}
