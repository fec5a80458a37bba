// Package console is the field technician's console: a password-protected
// command shell over any io.ReadWriter (a serial port, a pty in tests, stdin
// or a unix socket on the simulated board), with line editing in the key
// spellings of real serial terminals, history, tab completion, help, tables
// folded at the terminal's width and -json output. One reader per line
// acts on ^C at once and never waits for the session it feeds.
//
// The console declares one small interface per command group (Services) and
// value types of its own; the firmware's main package wires real
// implementations behind them. The console must not import the journal, the
// key store, the acquirer, the binding logic or any driver: it only sees
// masked, display-ready values. Nothing it prints or audits may contain a
// PAN, a PIN or key material; output passes through a redactor as a last line
// of defence.
package console
