// Package boards knows which hardware a terminal model has: which driver
// serves each hal device, on which device path, baud rate and GPIO pin. A
// board is built by name from the registry; boards with real hardware read
// their wiring from a board file (boards/*.toml, docs/boards.md).
//
// Only firmware/cmd/kpos and tools use boards. The payment logic never sees
// which board it runs on.
package boards

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"kpos/firmware/durable"
	"kpos/hal"
)

// Board is a terminal's devices, wired.
type Board struct {
	Name      string
	Reader    hal.CardReader
	PINPad    hal.PINPad
	Printer   hal.Printer
	Scanner   hal.Scanner
	Display   hal.Display
	Keypad    hal.Keypad
	Indicator hal.Indicator
	Link      hal.Link
	// Modem is the cellular modem's diagnostic AT pass-through, nil when
	// the board has none.
	Modem ModemAT
	// Console is the technician's serial line, nil when the board has none.
	Console io.ReadWriter
	// DisplaySize is the customer display's text area, which every screen
	// is laid out to (docs/boards.md).
	DisplaySize DisplaySize

	HostAddr string // the acquirer's address as the Link dials it
	// HostTimeout bounds the wait for the host's answer (the acquirer's
	// default when zero).
	HostTimeout time.Duration
	DataDir     string // journal, keys, parameters
	ParamsDir   string // EMV parameters, CA keys (and test cards on simulated boards)
	DeviceKey   []byte // 32 bytes that seal data at rest
	// JournalRetentionDays is how long settled batches stay in the
	// journal (0: the journal's default).
	JournalRetentionDays int
	// PasswordIterations is the PBKDF2 cost of the merchant password, tuned
	// to about 100 ms on the board's CPU (firmware/merchantpw).
	PasswordIterations int
	// FirmwareSlots are the root partitions of update slots A and B on a
	// board booted from the device image; nil: the slots are files under
	// the data folder.
	FirmwareSlots []string
	// FirmwareKey is the Ed25519 public key that firmware images must be
	// signed with: a file, relative to ParamsDir unless absolute. Empty:
	// the board takes no updates (there is no default key to fall back on).
	FirmwareKey string

	// Serial is the device serial number the acquirer knows the terminal by
	// when it is bound with a K code.
	Serial string
	// Identity is the terminal's identity until binding replaces it.
	Identity Identity
	// InitialTMK is a clear TMK loaded at first boot on simulated and test
	// boards (TEST ONLY); real boards receive theirs through K-code binding.
	InitialTMK []byte
	// Crypto selects RSA/3DES, SM or both (crypto.go).
	Crypto Crypto

	// Now is the board's clock, which the firmware reads (the system clock
	// when nil; the simulated board's can be set).
	Now func() time.Time

	// Sim is set on simulated boards (boards/sim, which only the
	// development build links), nil on real ones.
	Sim Sim

	closers []func() error
}

// ModemAT passes one diagnostic AT command to a modem and returns the lines
// it answered, its final result code last (drivers/modem.Modem.AT). It
// refuses any command that could disturb the data link.
type ModemAT interface {
	AT(ctx context.Context, cmd string) ([]string, error)
}

// DisplaySize is a display's text area: Columns wide (a Chinese character
// takes two) and Rows high, the title's row included.
type DisplaySize struct {
	Columns, Rows int
}

// Identity names a terminal to its acquirer.
type Identity struct {
	TerminalID   string
	MerchantID   string
	MerchantName string
}

// Sim is what the firmware may ask of a simulated board. Its fakes, test
// cards and host simulator controls are reached through boards/sim, so that
// neither this package nor the production firmware links them.
type Sim interface {
	// TestPasswords are the technician and merchant passwords the board
	// starts with (TEST ONLY, docs/test-cards.md).
	TestPasswords() (console, merchant string)
	// HostInProcess reports whether the host simulator runs inside this
	// process, and so starts afresh with it.
	HostInProcess() bool
}

// OnClose registers a release function; Close runs them in reverse order.
func (b *Board) OnClose(f func() error) { b.closers = append(b.closers, f) }

// Close releases the board's devices.
func (b *Board) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// SubKey derives a purpose-bound 32-byte key from the device key, so the
// journal and the key store never share one.
func (b *Board) SubKey(purpose string) []byte {
	h := sha256.New()
	h.Write(b.DeviceKey)
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	return h.Sum(nil)
}

// Options are what the command line says about the board.
type Options struct {
	DataDir   string // where the terminal keeps its state
	ParamsDir string // parameter files; "testdata" in the source tree
	File      string // the board file, for boards that read one
	HostAddr  string // override the host address (a separate host simulator)
	// Blank starts a simulated board as it leaves the factory: no identity
	// and no keys, so it must be bound with a K code first.
	Blank bool
	// Crypto is the -crypto switch: "rsa", "sm" or "both" ("" leaves the
	// board's own choice).
	Crypto string
	Logger *slog.Logger
}

// Factory builds a board.
type Factory func(ctx context.Context, opt Options) (*Board, error)

var (
	mu       sync.Mutex
	registry = map[string]Factory{}
)

// Register makes a board available by name. It panics on a duplicate, which
// is a build mistake.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("boards: duplicate board " + name)
	}
	registry[name] = f
}

// Names lists the registered boards.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownBoard reports a board name nobody registered.
var ErrUnknownBoard = errors.New("boards: unknown board")

// Open builds the named board.
func Open(ctx context.Context, name string, opt Options) (*Board, error) {
	mu.Lock()
	f, ok := registry[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (have %v)", ErrUnknownBoard, name, Names())
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opt.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("boards: data dir: %w", err)
	}
	return f(ctx, opt)
}

// LoadDeviceKey reads the 32-byte device key from path, creating it with
// fresh random bytes when there is none (written durably, readable only by
// the owner). Boards place their key with OpenDeviceKey; tools that open a
// simulated board's journal read its key file with this.
func LoadDeviceKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != 32 {
			return nil, fmt.Errorf("boards: device key %s: want 32 bytes, have %d", filepath.Base(path), len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("boards: device key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("boards: device key: %w", err)
	}
	if err := durable.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("boards: device key: %w", err)
	}
	return key, nil
}
