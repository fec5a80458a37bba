// Package console is the field technician's console: a password-protected
// command shell over any io.ReadWriter (a serial port, a pty in tests, stdin
// or a unix socket on the simulated board), with line editing in the key
// spellings of real serial terminals, history, tab completion, help, tables
// folded at the terminal's width and -json output. One reader per line
// acts on ^C at once and never waits for the session it feeds.
//
// It runs the commands it is given as records (package console/command)
// beside its own (help, passwd, term, priv, unpriv, logout, exit); the
// commands that act on the terminal are package console/service. It knows
// nothing of what those commands act on. Nothing it prints or audits may
// contain a PAN, a PIN or key material; output passes through a redactor as
// a last line of defence.
package console
