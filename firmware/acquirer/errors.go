package acquirer

import (
	"errors"
	"fmt"
)

// ErrMismatch reports an answer that is not the answer to the request sent:
// another MTI, trace number (STAN) or terminal. It is always wrapped in
// ErrNoAnswer.
var ErrMismatch = errors.New("acquirer: answer does not match the request")

// ErrDeclined reports a management exchange (sign-on, settlement, download,
// activation) that the host answered with a response code other than
// approval. Errors wrapping it are *CodeError.
var ErrDeclined = errors.New("acquirer: host declined")

// ErrKeys reports working keys from a sign-on that could not be installed:
// a check value that does not verify, a malformed field 62, no TMK.
var ErrKeys = errors.New("acquirer: working keys refused")

// CodeError is a host's refusal of a management exchange, with its response
// code. Describe(Code) gives the text to show.
type CodeError struct {
	Op   string // "sign-on", "settlement", ...
	Code string // field 39
	// TriesLeft is what the host said is left after a wrong one-time code.
	TriesLeft int
}

// Error names the operation, the code and its English meaning.
func (e *CodeError) Error() string {
	_, en, _ := Describe(e.Code)
	return fmt.Sprintf("acquirer: %s refused by host: %s (%s)", e.Op, e.Code, en)
}

// Unwrap returns ErrDeclined.
func (e *CodeError) Unwrap() error { return ErrDeclined }
