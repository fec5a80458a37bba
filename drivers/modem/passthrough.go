package modem

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrATRefused is a pass-through command the driver will not send: one that
// could change the module's state under the driver (power, radio, PDP
// context, sockets, echo, result format, serial settings, URC reporting).
var ErrATRefused = errors.New("modem: command refused")

// passThroughActions are the action commands the pass-through sends besides
// read (AT+X?) and test (AT+X=?) forms: each only reports (identification,
// IMEI, IMSI, ICCID, signal, serving network), none changes a setting. The
// names follow 3GPP TS 27.007 (and V.250 for I), with the Quectel
// equivalents of the same reports.
var passThroughActions = map[string]bool{
	"AT": true, "ATI": true,
	"AT+CGMI": true, "AT+CGMM": true, "AT+CGMR": true, "AT+CGSN": true,
	"AT+GMI": true, "AT+GMM": true, "AT+GMR": true, "AT+GSN": true,
	"AT+CIMI": true, "AT+CCID": true, "AT+QCCID": true, "AT+ICCID": true,
	"AT+CSQ": true, "AT+QCSQ": true, "AT+QNWINFO": true, "AT+QSPN": true, "AT+QGMR": true,
	`AT+QENG="SERVINGCELL"`: true, `AT+QENG="NEIGHBOURCELL"`: true,
}

// CheckPassThrough reports whether cmd may go through AT: it must be one
// command (no ';' chain, no A/ repeat, no +++ escape), printable, and either
// a read or test form of an extended command, which 3GPP TS 27.007 §4.1
// defines as changing nothing, or one of the reporting actions above. It
// fails closed: a command not known to be harmless is refused.
func CheckPassThrough(cmd string) error {
	up := strings.ToUpper(strings.TrimSpace(cmd))
	for i := 0; i < len(up); i++ {
		if up[i] < 0x20 || up[i] > 0x7e {
			return fmt.Errorf("%w: not printable ASCII", ErrATRefused)
		}
	}
	switch {
	case len(up) > 256:
		return fmt.Errorf("%w: longer than 256 characters", ErrATRefused)
	case !strings.HasPrefix(up, "AT"):
		return fmt.Errorf("%w: %q is not an AT command", ErrATRefused, cmd)
	case strings.ContainsAny(up, ";"):
		return fmt.Errorf("%w: one command at a time", ErrATRefused)
	case passThroughActions[up]:
		return nil
	case isQuery(up):
		return nil
	}
	return fmt.Errorf("%w: %s could disturb the data link; only queries and reports are passed through", ErrATRefused, cmd)
}

// isQuery reports whether up is the read (AT+NAME?) or test (AT+NAME=?)
// form of an extended command.
func isQuery(up string) bool {
	if len(up) < 4 || (up[2] != '+' && up[2] != '$') {
		return false
	}
	name := up[3:]
	switch {
	case strings.HasSuffix(name, "=?"):
		name = strings.TrimSuffix(name, "=?")
	case strings.HasSuffix(name, "?"):
		name = strings.TrimSuffix(name, "?")
	default:
		return false
	}
	if name == "" {
		return false
	}
	for _, c := range name {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// AT passes one diagnostic command to the module and returns every line it
// answered, the final result code (OK, ERROR, +CME ERROR: n) last. A final
// result other than OK is an answer, not an error; an error means the module
// did not answer within the command timeout or ctx, or the command was
// refused (ErrATRefused, see CheckPassThrough). It shares the command slot
// with the driver, so it waits for a socket's command in flight and never
// interleaves with one; open sockets are left as they are.
func (m *Modem) AT(ctx context.Context, cmd string) ([]string, error) {
	if err := CheckPassThrough(cmd); err != nil {
		return nil, err
	}
	if m.isClosed() {
		return nil, ErrClosed
	}
	cmd = strings.TrimSpace(cmd)
	e := m.e
	actx, cancel := context.WithTimeout(ctx, m.cfg.CommandTimeout)
	err := e.acquire(actx)
	cancel()
	if err != nil {
		return nil, err
	}
	defer e.release()
	p, err := e.start(cmd)
	if err != nil {
		return nil, err
	}
	ctx, cancel = context.WithTimeout(ctx, m.cfg.CommandTimeout)
	defer cancel()
	var out []string
	for {
		f, err := e.next(ctx, p)
		if err != nil {
			return out, err
		}
		if f.kind != frameLine {
			continue // no query answers with data or a prompt
		}
		out = append(out, f.line)
		if finalResult(f.line) != notFinal {
			return out, nil
		}
	}
}
