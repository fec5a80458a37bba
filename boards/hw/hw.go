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

	"github.com/BurntSushi/toml"
	"go.bug.st/serial"

	"kpos/boards"
	"kpos/drivers/camera"
	"kpos/drivers/escpos"
	"kpos/drivers/gpio"
	"kpos/drivers/modem"
	"kpos/drivers/netlink"
	"kpos/drivers/pcsc"
	"kpos/drivers/pinpad"
	"kpos/drivers/serialscan"
	"kpos/drivers/tty"
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
	// DeviceKeyFile holds the 32-byte device key (created on first boot).
	DeviceKeyFile string `toml:"device_key_file"`
	// Host is the acquirer's address until binding parameters replace it.
	Host string

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

// ConsoleSection is the technician's serial port; empty Device for none.
type ConsoleSection struct {
	Device string
	Baud   int
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
		FirmwareSlots: f.Firmware.Slots}
	if opt.HostAddr != "" {
		b.HostAddr = opt.HostAddr
	}
	ok := false
	defer func() {
		if !ok {
			b.Close()
		}
	}()
	if b.Serial == "" && f.SerialFile != "" {
		raw, err := os.ReadFile(f.SerialFile)
		if err != nil {
			return nil, fmt.Errorf("hw: serial: %w", err)
		}
		b.Serial = strings.Trim(strings.TrimSpace(string(raw)), "\x00")
	}
	keyPath := f.DeviceKeyFile
	if keyPath == "" {
		keyPath = filepath.Join(opt.DataDir, "device.key")
	}
	if b.DeviceKey, err = boards.LoadDeviceKey(keyPath); err != nil {
		return nil, err
	}

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
	}

	if f.Console.Device != "" {
		baud := f.Console.Baud
		if baud == 0 {
			baud = 115200
		}
		port, err := serial.Open(f.Console.Device, &serial.Mode{BaudRate: baud})
		if err != nil {
			return nil, fmt.Errorf("hw: console %s: %w", f.Console.Device, err)
		}
		b.Console = port
		b.OnClose(port.Close)
	}
	ok = true
	return b, nil
}
