package fake

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"kpos/firmware/pinblock"
	"kpos/hal"
)

// PINEntry is what the cardholder does at one PIN prompt: type Digits, or
// cancel, bypass or walk away (Err set to hal.ErrPINCancelled, ErrPINBypassed
// or ErrPINTimeout).
type PINEntry struct {
	Digits string
	Err    error
}

// PINPad answers PIN prompts from a queue of entries. It builds the real ISO
// 9564 format 0 block and encrypts it with the request's cipher, as the
// hardware would; the digits it was given never leave it.
type PINPad struct {
	entries *queue[PINEntry]

	mu      sync.Mutex
	prompts []hal.PINRequest
}

var _ hal.PINPad = (*PINPad)(nil)

// NewPINPad returns a PIN pad with no entries queued.
func NewPINPad() *PINPad { return &PINPad{entries: newQueue[PINEntry]()} }

// Enter queues what the cardholder will do at the next prompts.
func (p *PINPad) Enter(e ...PINEntry) { p.entries.push(e...) }

// EnterPIN queues a typed PIN.
func (p *PINPad) EnterPIN(digits string) { p.Enter(PINEntry{Digits: digits}) }

// Prompts returns the requests seen so far (the cipher field included).
func (p *PINPad) Prompts() []hal.PINRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hal.PINRequest(nil), p.prompts...)
}

// PINBlock waits for the next queued entry and returns it encrypted.
func (p *PINPad) PINBlock(ctx context.Context, req hal.PINRequest) (hal.PINBlock, error) {
	p.mu.Lock()
	p.prompts = append(p.prompts, req)
	p.mu.Unlock()
	e, err := next(ctx, p.entries)
	if err != nil {
		return hal.PINBlock{}, err
	}
	if e.Err != nil {
		return hal.PINBlock{}, e.Err
	}
	return EncryptPIN([]byte(e.Digits), req)
}

// EncryptPIN is what every PIN pad does with collected digits: build the
// format 0 block (16-byte SM4 form for an SM4 key), encrypt it, wipe the
// clear copies. pin is wiped too.
func EncryptPIN(pin []byte, req hal.PINRequest) (hal.PINBlock, error) {
	defer pinblock.Wipe(pin)
	if req.Cipher == nil {
		return hal.PINBlock{}, errors.New("fake: PIN request without a cipher")
	}
	min, max := req.MinLen, req.MaxLen
	if min == 0 {
		min = 4
	}
	if max == 0 {
		max = 12
	}
	if len(pin) < min || len(pin) > max {
		return hal.PINBlock{}, fmt.Errorf("fake: PIN length outside %d..%d", min, max)
	}
	clear, err := pinblock.ForCipher(pin, req.PAN.Digits(), req.Cipher) // 16 bytes for an SM4 key
	if err != nil {
		return hal.PINBlock{}, err
	}
	defer pinblock.Wipe(clear)
	enc, err := req.Cipher.EncryptPINBlock(clear)
	if err != nil {
		return hal.PINBlock{}, err
	}
	return hal.PINBlock{Block: enc, KeySerial: req.Cipher.KeySerial()}, nil
}
