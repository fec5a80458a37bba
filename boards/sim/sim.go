// Package sim is the simulated board, the default: every device is a fake
// from hal/fake, the test cards are built from the card simulator's profiles,
// and the acquirer is the host simulator running in-process (or a separate
// one named with -host). It runs on any Linux machine.
package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"kpos/boards"
	"kpos/hal"
	"kpos/hal/fake"
	"kpos/tools/cardsim"
)

func init() { boards.Register("sim", Open) }

// The simulated terminal's identity and TMK: TEST ONLY values, the same as
// the host simulator's terminal record (docs/test-cards.md).
var (
	testIdentity = boards.Identity{TerminalID: "12345678", MerchantID: "898320154110001", MerchantName: "测试商户 KPOS Test Shop"}
	// The serial the host simulator's terminal record carries.
	testSerial = "KPOS-SIM-0001"
	// A short answer timeout keeps "the host never answered" scenarios quick.
	hostTimeout = 3 * time.Second
	// The display of a countertop terminal: 32 columns (16 Chinese
	// characters) by 10 rows, drawn in the terminal window as it is.
	displaySize = boards.DisplaySize{Columns: 32, Rows: 10}
	// A PBKDF2 cost for the TEST ONLY merchant password that stays quick
	// under qemu (a few milliseconds); real boards tune theirs to 100 ms.
	testPasswordIterations = 1000
	testTMK                = []byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22}
	// The technician password a simulated board's console starts with.
	testConsolePassword = "tech-pass-2026"
	// The merchant password of simulated boards: it protects nothing but a
	// simulated terminal.
	testMerchantPassword = "123456"
)

// DeviceKeyPath is where the simulated board keeps its TEST ONLY device
// key: in a directory beside the data directory, named as a test key, never
// in the data directory itself.
func DeviceKeyPath(dataDir string) string {
	return filepath.Join(filepath.Clean(dataDir)+".TEST-ONLY-key", "device.key")
}

// Devices are the fakes behind a simulated board and the host simulator's
// controls: what scenarios, the interactive console and tests drive.
type Devices struct {
	Reader  *fake.CardReader
	PINPad  *fake.PINPad
	Printer *fake.Printer
	Scanner *fake.Scanner
	Display *fake.Display
	Keypad  *fake.Keypad
	Link    *fake.Link
	// Host is the in-process host simulator's controls, nil when the
	// board talks to a separate one (-host).
	Host HostControl
	// Clock is the board's clock, which the firmware, the in-process host
	// simulator and the scheduler read.
	Clock *fake.Clock
	// Card builds a test card from its profile name ("unionpay-debit") for
	// the given interface.
	Card func(name string, iface hal.CardInterface) (hal.Card, error)
	// Track returns a test card's magnetic stripe.
	Track func(name string) (*hal.Track, error)
	// Cards lists the test cards' names.
	Cards func() []string
	// ConsolePassword is the technician password the board starts with
	// (TEST ONLY; the technician changes it with `passwd`).
	ConsolePassword string
	// MerchantPassword guards void, refund, settlement and unbinding until
	// the merchant sets another (TEST ONLY, docs/test-cards.md).
	MerchantPassword string
}

// HostControl reaches the host simulator a simulated board talks to.
type HostControl interface {
	// Count counts records of kind ("sale", "reversal", …) in state ("" any).
	Count(kind, state string) int
	// Command runs a control command ("fault no-answer", "fault clear", …).
	Command(cmd string) error
}

// TestPasswords implements boards.Sim.
func (d *Devices) TestPasswords() (console, merchant string) {
	return d.ConsolePassword, d.MerchantPassword
}

// HostInProcess implements boards.Sim.
func (d *Devices) HostInProcess() bool { return d.Host != nil }

// Of returns the devices of a simulated board, nil for any other board.
func Of(b *boards.Board) *Devices {
	d, _ := b.Sim.(*Devices)
	return d
}

// Open builds the simulated board.
func Open(ctx context.Context, opt boards.Options) (*boards.Board, error) {
	key, err := boards.OpenDeviceKey(ctx, boards.KeySource{Kind: boards.KeyFile, Path: DeviceKeyPath(opt.DataDir), Test: true}, opt.DataDir)
	if err != nil {
		return nil, err
	}
	cardsDir := filepath.Join(opt.ParamsDir, "cards")
	if _, err := os.Stat(cardsDir); err != nil {
		return nil, fmt.Errorf("sim: test cards: %w (run from the source tree or pass -params)", err)
	}
	s := &Devices{
		Reader: fake.NewCardReader(), PINPad: fake.NewPINPad(), Printer: fake.NewPrinter(),
		Scanner: fake.NewScanner(), Display: fake.NewDisplay(), Keypad: fake.NewKeypad(), Clock: fake.NewClock(),
		ConsolePassword: testConsolePassword, MerchantPassword: testMerchantPassword,
	}
	b := &boards.Board{
		Name: "sim", Reader: s.Reader, PINPad: s.PINPad, Printer: s.Printer, Scanner: s.Scanner,
		Display: s.Display, Keypad: s.Keypad, Indicator: &fake.Indicator{},
		DataDir: opt.DataDir, ParamsDir: opt.ParamsDir, DeviceKey: key,
		FirmwareKey: filepath.Join("update", "fwsign-test.pub"), // TEST ONLY: the lab's signing key
		Identity:    testIdentity, InitialTMK: testTMK, Sim: s, HostTimeout: hostTimeout,
		Serial: testSerial, DisplaySize: displaySize, Now: s.Clock.Now, PasswordIterations: testPasswordIterations,
	}
	if opt.Blank {
		b.Identity, b.InitialTMK = boards.Identity{}, nil
	}
	if err := applyCrypto(b, opt); err != nil {
		return nil, err
	}
	profiles := map[string]*cardsim.Profile{}
	s.Cards = func() []string { return profileNames(cardsDir) }
	load := func(name string) (*cardsim.Profile, error) {
		if p, ok := profiles[name]; ok {
			return p, nil
		}
		if strings.ContainsAny(name, `/\`) || name == "" {
			return nil, fmt.Errorf("sim: no test card %q", name)
		}
		p, err := cardsim.LoadProfile(filepath.Join(cardsDir, name+".toml"))
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sim: no test card %q (have %s)", name, strings.Join(s.Cards(), ", "))
		}
		if err != nil {
			return nil, err
		}
		profiles[name] = p
		return p, nil
	}
	// One card object per profile, so its ATC and PIN tries persist between
	// presentations as a real card's do.
	cards := map[string]*cardsim.Card{}
	s.Card = func(name string, iface hal.CardInterface) (hal.Card, error) {
		p, err := load(name)
		if err != nil {
			return nil, err
		}
		c, ok := cards[name]
		if !ok {
			if c, err = cardsim.New(p, iface); err != nil {
				return nil, err
			}
			cards[name] = c
		}
		if err := c.Present(iface); err != nil {
			return nil, err
		}
		return c, nil
	}
	s.Track = func(name string) (*hal.Track, error) {
		p, err := load(name)
		if err != nil {
			return nil, err
		}
		if t := p.Track(); t != nil {
			return t, nil
		}
		return nil, fmt.Errorf("sim: test card %q has no magnetic stripe", name)
	}

	if opt.HostAddr != "" {
		// A host simulator of its own (the power-cut tests run one, so that
		// its records outlive the terminal's process).
		s.Link = fake.NewLink(nil)
		b.HostAddr = opt.HostAddr
	} else {
		host, err := startHost(ctx, opt, s.Clock.Now)
		if err != nil {
			return nil, err
		}
		b.OnClose(host.Close)
		s.Link = fake.NewLink(func(ctx context.Context, network, addr string) (net.Conn, error) {
			return host.Pipe(ctx)
		})
		b.HostAddr = "hostsim.in-process:0"
		// The host simulator's controls type the SMS code and scan the
		// merchant code as the merchant and the customer would.
		host.AttachDevices(s.Keypad, s.Display)
		s.Host = host
	}
	b.Link = s.Link
	sm := &simModem{}
	b.Modem = sm
	b.OnClose(sm.Close)
	return b, nil
}

func profileNames(dir string) []string {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.toml"))
	var names []string
	for _, m := range matches {
		names = append(names, strings.TrimSuffix(filepath.Base(m), ".toml"))
	}
	sort.Strings(names)
	return names
}
