// Package hw builds boards with real hardware from a board file: which
// driver serves each device, on which device path, at which baud rate, on
// which GPIO pins (docs/boards.md). The "hil" board is the same thing wired
// to emulators on pseudo-terminals and pcscd's virtual reader; "hw" is any
// real board, described entirely by its file.
package hw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"go.bug.st/serial"

	"kpos/boards"
	"kpos/drivers/camera"
	"kpos/drivers/escpos"
	"kpos/drivers/gpio"
	"kpos/drivers/keyseal"
	"kpos/drivers/modem"
	"kpos/drivers/netlink"
	"kpos/drivers/pcsc"
	"kpos/drivers/pinpad"
	"kpos/drivers/serialport"
	"kpos/drivers/serialscan"
	"kpos/drivers/tpmseal"
	"kpos/drivers/tty"
	"kpos/firmware/merchantpw"
	"kpos/hal"
)

func init() {
	boards.Register("hw", Open)
	boards.Register("hil", Open)
}

// File is a board file.
type File struct {
	Name        string
	Description string
	// Serial is the device serial; SerialFile reads it from a file (e.g.
	// the SoC serial under /proc/device-tree) when Serial is empty.
	Serial     string
	SerialFile string `toml:"serial_file"`
	// DeviceKeyFile is the older spelling of [device_key] source = "file".
	DeviceKeyFile string `toml:"device_key_file"`
	// DeviceKey says where the device key lives and how it is protected.
	DeviceKey DeviceKeySection `toml:"device_key"`
	// PasswordIterations is the PBKDF2 cost of the merchant password, about
	// 100 ms on the board's CPU (measure it with tools/pwcost);
	// merchantpw.DefaultIterations when absent.
	PasswordIterations int `toml:"password_iterations"`
	// Host is the acquirer's address until binding parameters replace it.
	Host string
	// Crypto is "rsa", "sm" or "both" (boards.Crypto); HostAlgorithm is the
	// acquirer's link mode, "3DES" or "SM4", which decides the link in both.
	Crypto        string
	HostAlgorithm string `toml:"host_algorithm"`
	// JournalRetentionDays keeps settled batches this long in the journal
	// (0: the journal's default, 90 days; docs/journal.md).
	JournalRetentionDays int `toml:"journal_retention_days"`

	Reader  ReaderSection
	Printer escpos.Config
	Scanner ScannerSection
	Link    LinkSection
	Modem   modem.Config
	Tty     tty.Config // the keypad and the display
	PINPad  pinpad.Config
	GPIO    gpio.Config
	Console ConsoleSection
	// Firmware names the root partitions of slots A and B on a board
	// booted from the device image (docs/image.md); without it the update
	// slots are files in the data folder.
	Firmware FirmwareSection
}

// FirmwareSection is the A/B root partitions, in that order.
type FirmwareSection struct {
	Slots []string
	// Key is the firmware-signing public key (relative to the parameter
	// folder unless absolute); without it the board takes no updates.
	Key string
}

// ReaderSection lists the PC/SC readers and what each is.
type ReaderSection struct {
	Slots []SlotSection
}

// SlotSection is one PC/SC reader: a name pattern and its interface.
type SlotSection struct {
	Pattern     string
	Contactless bool
}

// ScannerSection chooses the QR scanner: "serial" (a scanner module) or
// "camera" (V4L2 with in-process decoding); "" for none.
type ScannerSection struct {
	Driver string
	Serial serialscan.Config
	Camera camera.Config
}

// LinkSection chooses the acquirer link: "modem" or "net".
type LinkSection struct {
	Driver string
	Net    netlink.Config
}

// DeviceKeySection places the device key outside the data directory
// (docs/keys.md): source "file" keeps it in Path, a root-only file; source
// "sealed" keeps it in Path sealed with the hardware-unique secret the board
// exposes at Secret (drivers/keyseal); source "tpm" keeps it in Path sealed
// by the TPM 2.0 at Device (drivers/tpmseal, /dev/tpmrm0 when empty). A
// relative path is relative to the board file's directory.
type DeviceKeySection struct {
	Source string
	Path   string
	Secret string
	Device string
}

// keySourceTPM is the board file's name for a key sealed by a TPM.
const keySourceTPM = "tpm"

// ConsoleSection is the technician's serial port; empty Device for none.
type ConsoleSection struct {
	Device string
	Baud   int
}

// ConsoleReadTimeout is the console port's read timeout: the console's one
// reader of the port wakes at least this often, so that it notices the
// terminal shutting down (docs/console.md).
const ConsoleReadTimeout = time.Second

// OpenConsole opens the technician's serial port: raw, 8N1, at the board's
// baud rate (115200 when zero), with ConsoleReadTimeout. In raw mode a
// BREAK reads as a NUL byte, which the console takes as a wake-up.
func OpenConsole(c ConsoleSection) (serial.Port, error) {
	baud := c.Baud
	if baud == 0 {
		baud = 115200
	}
	port, err := serialport.Open(c.Device, baud, ConsoleReadTimeout)
	if err != nil {
		return nil, fmt.Errorf("hw: console: %w", err)
	}
	return port, nil
}

// Load reads and checks a board file.
func Load(path string) (File, error) {
	var f File
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return f, fmt.Errorf("hw: board file: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return f, fmt.Errorf("hw: board file %s: unknown keys %v", filepath.Base(path), und)
	}
	if f.Name == "" {
		return f, fmt.Errorf("hw: board file %s: no name", filepath.Base(path))
	}
	switch f.Scanner.Driver {
	case "", "serial", "camera":
	default:
		return f, fmt.Errorf("hw: board %s: scanner driver %q (serial, camera)", f.Name, f.Scanner.Driver)
	}
	switch f.Link.Driver {
	case "modem", "net":
	default:
		return f, fmt.Errorf("hw: board %s: link driver %q (modem, net)", f.Name, f.Link.Driver)
	}
	if err := f.keySection(path); err != nil {
		return f, err
	}
	switch {
	case f.PasswordIterations == 0:
		f.PasswordIterations = merchantpw.DefaultIterations
	case f.PasswordIterations < merchantpw.MinIterations || f.PasswordIterations > merchantpw.MaxIterations:
		return f, fmt.Errorf("hw: board %s: password_iterations %d outside %d..%d", f.Name, f.PasswordIterations, merchantpw.MinIterations, merchantpw.MaxIterations)
	}
	if f.Tty.Device == "" {
		return f, fmt.Errorf("hw: board %s: no keypad/display device ([tty] device)", f.Name)
	}
	if f.Printer.Device == "" {
		return f, fmt.Errorf("hw: board %s: no printer device ([printer] device)", f.Name)
	}
	if n := len(f.Firmware.Slots); n != 0 && n != 2 {
		return f, fmt.Errorf("hw: board %s: [firmware] slots names %d partitions, want 2 (A, B)", f.Name, n)
	}
	return f, nil
}

// keySection checks the device key's section, folds the older
// device_key_file into it and makes its paths absolute.
func (f *File) keySection(path string) error {
	k := &f.DeviceKey
	if f.DeviceKeyFile != "" {
		if k.Source != "" {
			return fmt.Errorf("hw: board %s: device_key_file and [device_key] both given", f.Name)
		}
		k.Source, k.Path = boards.KeyFile, f.DeviceKeyFile
	}
	if k.Secret != "" && k.Source != boards.KeySealed {
		return fmt.Errorf("hw: board %s: [device_key] secret is for source %q", f.Name, boards.KeySealed)
	}
	if k.Device != "" && k.Source != keySourceTPM {
		return fmt.Errorf("hw: board %s: [device_key] device is for source %q", f.Name, keySourceTPM)
	}
	switch k.Source {
	case boards.KeyFile:
	case boards.KeySealed:
		if k.Secret == "" {
			return fmt.Errorf("hw: board %s: [device_key] source %q needs the hardware secret (secret)", f.Name, boards.KeySealed)
		}
	case keySourceTPM:
		if k.Device == "" {
			k.Device = "/dev/tpmrm0"
		}
	case "":
		return fmt.Errorf("hw: board %s: no [device_key]: say where the device key lives (docs/keys.md)", f.Name)
	default:
		return fmt.Errorf("hw: board %s: [device_key] source %q (%s, %s, %s)", f.Name, k.Source, boards.KeyFile, boards.KeySealed, keySourceTPM)
	}
	if k.Path == "" {
		return fmt.Errorf("hw: board %s: [device_key] has no path", f.Name)
	}
	base, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("hw: board file: %w", err)
	}
	for _, p := range []*string{&k.Path, &k.Secret} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	return nil
}

// KeySource is where the board file puts the device key.
func (f File) KeySource() boards.KeySource {
	src := boards.KeySource{Kind: f.DeviceKey.Source, Path: f.DeviceKey.Path}
	switch f.DeviceKey.Source {
	case boards.KeySealed:
		src.Sealer = keyseal.HUK{SecretPath: f.DeviceKey.Secret}
	case keySourceTPM:
		src.Kind, src.Sealer = boards.KeySealed, tpmseal.Device(f.DeviceKey.Device)
	}
	return src
}

// Open builds a board from the board file named in opt.File.
func Open(ctx context.Context, opt boards.Options) (*boards.Board, error) {
	if opt.File == "" {
		return nil, errors.New("hw: this board needs a board file (-board-file, see docs/boards.md)")
	}
	f, err := Load(opt.File)
	if err != nil {
		return nil, err
	}
	b := &boards.Board{Name: f.Name, DataDir: opt.DataDir, ParamsDir: opt.ParamsDir, HostAddr: f.Host, Serial: f.Serial,
		FirmwareSlots: f.Firmware.Slots, FirmwareKey: f.Firmware.Key}
	mode := f.Crypto
	if opt.Crypto != "" {
		mode = opt.Crypto
	}
	if b.Crypto, err = boards.ParseCrypto(mode, f.HostAlgorithm); err != nil {
		return nil, err
	}
	if opt.HostAddr != "" {
		b.HostAddr = opt.HostAddr
	}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	if f.JournalRetentionDays < 0 {
		return nil, fmt.Errorf("hw: journal_retention_days %d: must be 0 (the default) or more", f.JournalRetentionDays)
	}
	b.JournalRetentionDays = f.JournalRetentionDays
	if b.Serial == "" && f.SerialFile != "" {
		raw, err := os.ReadFile(f.SerialFile)
		if err != nil {
			return nil, fmt.Errorf("hw: serial: %w", err)
		}
		b.Serial = strings.Trim(strings.TrimSpace(string(raw)), "\x00")
	}
	if b.DeviceKey, err = boards.OpenDeviceKey(ctx, f.KeySource(), opt.DataDir); err != nil {
		return nil, err
	}
	b.PasswordIterations = f.PasswordIterations

	slots := make([]pcsc.Slot, 0, len(f.Reader.Slots))
	for _, s := range f.Reader.Slots {
		iface := hal.Contact
		if s.Contactless {
			iface = hal.Contactless
		}
		slots = append(slots, pcsc.Slot{Pattern: s.Pattern, Interface: iface})
	}
	reader, err := pcsc.Open(pcsc.Config{Slots: slots})
	if err != nil {
		return nil, err
	}
	b.Reader = reader
	b.OnClose(reader.Close)

	printer, err := escpos.Open(f.Printer)
	if err != nil {
		return nil, err
	}
	b.Printer = printer
	b.OnClose(printer.Close)

	term, err := tty.Open(f.Tty)
	if err != nil {
		return nil, err
	}
	b.Display, b.Keypad = term, term
	b.DisplaySize.Columns, b.DisplaySize.Rows = f.Tty.Size()
	b.OnClose(term.Close)
	b.PINPad = pinpad.New(term, term, f.PINPad)

	dev, err := gpio.Open(f.GPIO)
	if err != nil {
		return nil, err
	}
	b.Indicator = dev.Indicator

	switch f.Scanner.Driver {
	case "serial":
		sc, err := serialscan.Open(f.Scanner.Serial)
		if err != nil {
			return nil, err
		}
		b.Scanner = sc
		b.OnClose(sc.Close)
	case "camera":
		cam, err := camera.Open(f.Scanner.Camera)
		if err != nil {
			return nil, err
		}
		b.Scanner = cam
		b.OnClose(cam.Close)
	}

	switch f.Link.Driver {
	case "net":
		b.Link = netlink.New(f.Link.Net)
	case "modem":
		var key modem.PowerKey
		if dev.PowerKey != nil {
			key = dev.PowerKey
		}
		m, err := modem.Open(f.Modem, key, opt.Logger.With("component", "modem"))
		if err != nil {
			return nil, err
		}
		b.OnClose(m.Close)
		if err := m.Start(ctx); err != nil {
			// Not fatal: the supervisor keeps trying, and the terminal shows
			// "check the network" until the modem is up.
			opt.Logger.Error("modem start", "err", err)
		}
		go func() {
			if err := m.Supervise(ctx); err != nil && ctx.Err() == nil {
				opt.Logger.Error("modem supervisor stopped", "err", err)
			}
		}()
		b.Link = m
		b.Modem = m
	}

	if f.Console.Device != "" {
		port, err := OpenConsole(f.Console)
		if err != nil {
			return nil, err
		}
		b.Console = port
		b.OnClose(port.Close)
	}
	ok = true
	return b, nil
}
