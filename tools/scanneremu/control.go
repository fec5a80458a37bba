package scanneremu

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
)

// Control carries out one control command on e and writes "ok …" or
// "error …" to w. The commands are:
//
//	show TEXT     present a code whose text is TEXT (the rest of the line)
//	raw HEX       send these bytes as they are (garbage, overlong lines, no-read messages)
//	status        the mode, whether a read is triggered, trigger and stop counts
func Control(e *Emulator, line string, w io.Writer) error {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	var err error
	switch cmd {
	case "":
		return nil
	case "show":
		if arg == "" {
			_, err = fmt.Fprintln(w, "error show wants the code's text")
			return err
		}
		if err := e.Show(arg); err != nil {
			_, err = fmt.Fprintf(w, "error %v\n", err)
			return err
		}
		_, err = fmt.Fprintln(w, "ok shown")
	case "raw":
		b, herr := hex.DecodeString(strings.ReplaceAll(arg, " ", ""))
		if herr != nil {
			_, err = fmt.Fprintf(w, "error raw wants hex bytes: %v\n", herr)
			return err
		}
		if err := e.SendRaw(b); err != nil {
			_, err = fmt.Fprintf(w, "error %v\n", err)
			return err
		}
		_, err = fmt.Fprintf(w, "ok sent %d bytes\n", len(b))
	case "status":
		on, off := e.Triggers()
		mode := "continuous"
		if e.opts.Trigger {
			mode = "trigger"
		}
		_, err = fmt.Fprintf(w, "ok mode=%s triggered=%t triggers=%d stops=%d\n", mode, e.Triggered(), on, off)
	default:
		_, err = fmt.Fprintf(w, "error unknown command %q\n", cmd)
	}
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
