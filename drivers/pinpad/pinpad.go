// Package pinpad is a software PIN pad: it reads PIN digits from a
// hal.Keypad, shows only stars on a hal.Display, and turns the digits into an
// ISO 9564 format 0 PIN block encrypted by the request's hal.PINCipher. The
// clear digits live in one fixed buffer inside PINBlock and are wiped before
// it returns, whatever the outcome.
//
// It is for terminals whose keypad is trusted (a secure keypad on the same
// board, or the emulated keypad of the hil board); a separate secure PIN
// device would implement hal.PINPad itself. It must not know keys, the host
// message the block goes into, or anything but the PAN needed for format 0.
package pinpad

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"kpos/firmware/pinblock"
	"kpos/hal"
)

// Config tunes the PIN pad.
type Config struct {
	// Timeout bounds one whole PIN entry; 60 s when zero.
	Timeout time.Duration
	// Prompt is shown when a request has none.
	Prompt string
}

// The PIN lengths ISO 9564 allows.
const (
	minPIN = 4
	maxPIN = 12
)

// ErrNoCipher reports a request without a cipher: the PIN would have nowhere
// to go but the clear.
var ErrNoCipher = errors.New("pinpad: request has no PIN cipher")

// Flusher is a keypad that can forget keys typed ahead; the PIN pad flushes
// one before each entry so that keys pressed before the prompt never become
// PIN digits. tty.Terminal is one.
type Flusher interface {
	Flush()
}

// PINPad collects PINs on a keypad and display.
type PINPad struct {
	keys hal.Keypad
	disp hal.Display
	cfg  Config
}

var _ hal.PINPad = (*PINPad)(nil)

// New returns a PIN pad reading keys and showing its prompts on disp.
func New(keys hal.Keypad, disp hal.Display, cfg Config) *PINPad {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Prompt == "" {
		cfg.Prompt = "请输入密码 Enter PIN"
	}
	return &PINPad{keys: keys, disp: disp, cfg: cfg}
}

// lengths returns the request's PIN length bounds within ISO 9564's 4..12.
func lengths(req hal.PINRequest) (int, int) {
	lo, hi := req.MinLen, req.MaxLen
	if lo < minPIN {
		lo = minPIN
	}
	if hi == 0 || hi > maxPIN {
		hi = maxPIN
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// PINBlock prompts for a PIN and returns it encrypted. Digit keys add a digit
// (beyond the maximum length they are ignored), Clear erases the entry, Enter
// accepts it (or, on an empty entry of an optional PIN, bypasses), Cancel
// cancels. It fails with hal.ErrPINCancelled, hal.ErrPINBypassed,
// hal.ErrPINTimeout (after Config.Timeout) or ctx's error.
func (p *PINPad) PINBlock(ctx context.Context, req hal.PINRequest) (hal.PINBlock, error) {
	if req.Cipher == nil {
		return hal.PINBlock{}, ErrNoCipher
	}
	lo, hi := lengths(req)
	entry, cancel := context.WithTimeoutCause(ctx, p.cfg.Timeout, hal.ErrPINTimeout)
	defer cancel()

	if f, ok := p.keys.(Flusher); ok {
		f.Flush()
	}
	var digits [maxPIN]byte
	defer pinblock.Wipe(digits[:])
	n := 0
	note := ""
	for {
		if err := p.show(entry, req, n, note); err != nil {
			return hal.PINBlock{}, p.ended(ctx, entry, err)
		}
		k, err := p.keys.Key(entry)
		if err != nil {
			return hal.PINBlock{}, p.ended(ctx, entry, err)
		}
		note = ""
		switch {
		case k.IsDigit():
			if n < hi {
				digits[n] = byte(k)
				n++
			}
		case k == hal.KeyClear:
			pinblock.Wipe(digits[:])
			n = 0
		case k == hal.KeyCancel:
			return hal.PINBlock{}, fmt.Errorf("pinpad: %w", hal.ErrPINCancelled)
		case k == hal.KeyEnter:
			if n == 0 && req.Optional {
				return hal.PINBlock{}, fmt.Errorf("pinpad: %w", hal.ErrPINBypassed)
			}
			if n < lo {
				note = fmt.Sprintf("密码至少%d位 PIN needs %d digits", lo, lo)
				continue
			}
			return encrypt(digits[:n], req)
		}
	}
}

// ended maps the end of the entry context to the PIN pad's errors.
func (p *PINPad) ended(parent, entry context.Context, err error) error {
	if parent.Err() == nil && errors.Is(context.Cause(entry), hal.ErrPINTimeout) {
		return fmt.Errorf("pinpad: after %v: %w", p.cfg.Timeout, hal.ErrPINTimeout)
	}
	return fmt.Errorf("pinpad: %w", err)
}

func (p *PINPad) show(ctx context.Context, req hal.PINRequest, n int, note string) error {
	prompt := req.Prompt
	if prompt == "" {
		prompt = p.cfg.Prompt
	}
	var lines []string
	if req.Amount != "" {
		lines = append(lines, req.Amount)
	}
	if !req.PAN.IsZero() {
		lines = append(lines, "**** "+req.PAN.Last4())
	}
	stars := strings.Repeat("*", n)
	if n == 0 {
		stars = "_"
	}
	lines = append(lines, stars)
	if note != "" {
		lines = append(lines, note)
	} else if req.Optional && n == 0 {
		lines = append(lines, "无密码请按确认 Enter to skip")
	}
	return p.disp.Show(ctx, hal.Screen{ID: "pin", Title: prompt, Lines: lines})
}

// encrypt builds the ISO 9564 format 0 block (or its 16-byte SM4 form) for pin, encrypts it with the
// request's cipher and wipes the clear block. The caller wipes pin.
func encrypt(pin []byte, req hal.PINRequest) (hal.PINBlock, error) {
	clear, err := pinblock.ForCipher(pin, req.PAN.Digits(), req.Cipher) // 16 bytes for an SM4 key
	defer pinblock.Wipe(clear)
	if err != nil {
		return hal.PINBlock{}, fmt.Errorf("pinpad: %w", err)
	}
	enc, err := req.Cipher.EncryptPINBlock(clear)
	if err != nil {
		return hal.PINBlock{}, fmt.Errorf("pinpad: encrypt: %w", err)
	}
	return hal.PINBlock{Block: enc, KeySerial: req.Cipher.KeySerial()}, nil
}
