package printeremu

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Control carries out one control command on e and writes the answer to w:
// "ok" plus a detail, or "error …", and for commands that return text the
// text followed by a line holding a single ".". The commands are:
//
//	paper out | paper in | paper near-end | paper ok
//	cover open | cover close
//	cutter jam | cutter ok
//	overheat on | overheat off
//	runout N            paper ends after N more printed rows
//	status              the mechanical state
//	pages               how many pages are finished
//	page N              the text of page N (1-based), "-1" for the last
//	current             the text of the page under the print head
func Control(e *Emulator, line string, w io.Writer) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	arg := ""
	if len(f) > 1 {
		arg = f[1]
	}
	set := func(fn func(*State)) error {
		e.Set(fn)
		_, err := fmt.Fprintf(w, "ok %s\n", stateString(e.State()))
		return err
	}
	switch f[0] + " " + arg {
	case "paper out":
		return set(func(s *State) { s.PaperOut = true })
	case "paper in":
		return set(func(s *State) { s.PaperOut, s.PaperNearEnd = false, false })
	case "paper near-end":
		return set(func(s *State) { s.PaperNearEnd = true })
	case "paper ok":
		return set(func(s *State) { s.PaperNearEnd = false })
	case "cover open":
		return set(func(s *State) { s.CoverOpen = true })
	case "cover close":
		return set(func(s *State) { s.CoverOpen = false })
	case "cutter jam":
		return set(func(s *State) { s.CutterError = true })
	case "cutter ok":
		return set(func(s *State) { s.CutterError = false })
	case "overheat on":
		return set(func(s *State) { s.Overheat = true })
	case "overheat off":
		return set(func(s *State) { s.Overheat = false })
	case "status ":
		_, err := fmt.Fprintf(w, "ok %s\n", stateString(e.State()))
		return err
	case "pages ":
		_, err := fmt.Fprintf(w, "ok %d\n", len(e.Pages()))
		return err
	case "current ":
		return writeText(w, e.Current(), e.Columns())
	}
	switch f[0] {
	case "runout":
		n, err := strconv.Atoi(arg)
		if err != nil {
			_, err = fmt.Fprintf(w, "error runout wants a number of rows\n")
			return err
		}
		e.RunOutAfter(n)
		_, err = fmt.Fprintf(w, "ok paper ends after %d rows\n", n)
		return err
	case "page":
		pages := e.Pages()
		n, err := strconv.Atoi(arg)
		if n < 0 {
			n = len(pages) + 1 + n
		}
		if err != nil || n < 1 || n > len(pages) {
			_, err = fmt.Fprintf(w, "error no page %q (have %d)\n", arg, len(pages))
			return err
		}
		return writeText(w, pages[n-1], e.Columns())
	}
	_, err := fmt.Fprintf(w, "error unknown command %q\n", line)
	return err
}

// Serve reads control commands from rw, one a line, until it ends.
func Serve(e *Emulator, rw io.ReadWriter) error {
	sc := bufio.NewScanner(rw)
	for sc.Scan() {
		if err := Control(e, sc.Text(), rw); err != nil {
			return err
		}
	}
	return sc.Err()
}

func writeText(w io.Writer, p Page, columns int) error {
	_, err := fmt.Fprintf(w, "ok cut=%t interrupted=%t\n%s.\n", p.Cut, p.Interrupted, p.Text(columns))
	return err
}

func stateString(s State) string {
	return fmt.Sprintf("paper-out=%t near-end=%t cover-open=%t cutter-jam=%t overheat=%t",
		s.PaperOut, s.PaperNearEnd, s.CoverOpen, s.CutterError, s.Overheat)
}
