package hal

import (
	"context"
	"errors"
)

// PINCipher turns a clear ISO 9564 PIN block into the encrypted block sent to
// the host. It lives inside the PIN pad's trust boundary: the firmware's key
// store implements it and hands it to the PIN pad, which is the only caller.
type PINCipher interface {
	// EncryptPINBlock encrypts an 8- or 16-byte clear PIN block under the
	// current PIN key. The caller wipes the clear block afterwards.
	EncryptPINBlock(clear []byte) ([]byte, error)
	// KeySerial returns the DUKPT key serial number of the last encryption, or
	// nil for fixed working keys.
	KeySerial() []byte
}

// PINRequest asks the PIN pad for one online PIN.
type PINRequest struct {
	PAN      PAN       // the account the PIN block is bound to (ISO 9564 format 0)
	Amount   string    // formatted for the prompt, e.g. "CNY 12.34"
	Prompt   string    // what the cardholder sees above the stars
	MinLen   int       // shortest PIN accepted (4 when zero)
	MaxLen   int       // longest PIN accepted (12 when zero)
	Cipher   PINCipher // encrypts the block inside the PIN pad
	Optional bool      // bypass (Enter on an empty entry) allowed
}

// PINBlock is an encrypted PIN block and the key serial that encrypted it.
type PINBlock struct {
	Block     []byte
	KeySerial []byte // DUKPT KSN, nil for fixed keys
}

// Errors a PIN pad returns.
var (
	ErrPINCancelled = errors.New("hal: PIN entry cancelled")
	ErrPINBypassed  = errors.New("hal: PIN entry bypassed")
	ErrPINTimeout   = errors.New("hal: PIN entry timed out")
)

// PINPad collects a PIN and returns it encrypted. The clear PIN never leaves
// the implementation.
type PINPad interface {
	PINBlock(ctx context.Context, req PINRequest) (PINBlock, error)
}
