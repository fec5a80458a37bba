// Package gpio drives the terminal's GPIO lines through periph.io: the LEDs
// and buzzer behind hal.Indicator, the modem's power key, and the printer's
// paper sensor. Pins are named in a board's Config and looked up in periph's
// registry; the types themselves take gpio.PinIO values, so tests hand them
// periph's gpiotest fakes.
//
// It must not know why a LED lights or when the modem is powered: callers
// (the terminal, the modem driver) decide that.
package gpio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	// The host drivers that can serve a board's pins: the GPIO character
	// device and sysfs (any Linux board), and the BCM283x of the reference
	// board (a Raspberry Pi), which registers the GPIOnn names directly.
	// periph.io/x/host/v3 itself would also link the drivers of every other
	// SoC periph knows (Allwinner, AM335x, CHIP, Odroid, Pine64) and of the
	// Raspberry Pi's header names, which no board of ours uses.
	_ "periph.io/x/host/v3/bcm283x"
	_ "periph.io/x/host/v3/gpioioctl"
	_ "periph.io/x/host/v3/sysfs"
)

// PinConfig names one GPIO line in a board file.
type PinConfig struct {
	Name      string // periph pin name, e.g. "GPIO17"; empty when the board has no such line
	ActiveLow bool   // the device is on (pressed, lit, paper present) when the line is low
	Pull      string // inputs only: "up", "down" or "" (leave as is)
}

// Config is what a board file says about its GPIO lines.
type Config struct {
	LEDGreen      PinConfig
	LEDRed        PinConfig
	LEDStatus     PinConfig
	Buzzer        PinConfig
	ModemPowerKey PinConfig
	PaperSensor   PinConfig // input: active when paper is present
}

// Pin is a GPIO line and its polarity.
type Pin struct {
	IO        gpio.PinIO // nil when absent: setting it does nothing
	ActiveLow bool
}

// set drives the line to on (active) or off.
func (p Pin) set(on bool) error {
	if p.IO == nil {
		return nil
	}
	l := gpio.Level(on != p.ActiveLow)
	if err := p.IO.Out(l); err != nil {
		return fmt.Errorf("gpio: %s: %w", p.IO.Name(), err)
	}
	return nil
}

// active reads the line and reports whether it is at its active level.
func (p Pin) active() bool { return bool(p.IO.Read()) != p.ActiveLow }

// ErrNoPin reports a pin name the platform does not have.
var ErrNoPin = errors.New("gpio: no such pin")

// Lookup initialises periph's host drivers (once per process, as periph
// does: driverreg.Init is what host.Init runs) and finds the pin named in c. An empty name gives an absent Pin.
func Lookup(c PinConfig) (Pin, error) {
	if c.Name == "" {
		return Pin{}, nil
	}
	if _, err := driverreg.Init(); err != nil {
		return Pin{}, fmt.Errorf("gpio: periph host init: %w", err)
	}
	p := gpioreg.ByName(c.Name)
	if p == nil {
		return Pin{}, fmt.Errorf("%w: %q", ErrNoPin, c.Name)
	}
	return Pin{IO: p, ActiveLow: c.ActiveLow}, nil
}

// Devices are the GPIO devices of a board.
type Devices struct {
	Indicator   *Indicator
	PowerKey    *PowerKey    // nil when the board has no modem power key
	PaperSensor *PaperSensor // nil when the board has no paper sensor
}

// Open looks up every pin in cfg and builds the devices. Close the Indicator
// when done.
func Open(cfg Config) (*Devices, error) {
	var pins [6]Pin
	for i, c := range []PinConfig{cfg.LEDGreen, cfg.LEDRed, cfg.LEDStatus, cfg.Buzzer, cfg.ModemPowerKey, cfg.PaperSensor} {
		p, err := Lookup(c)
		if err != nil {
			return nil, err
		}
		pins[i] = p
	}
	ind, err := NewIndicator(IndicatorPins{Green: pins[0], Red: pins[1], Status: pins[2], Buzzer: pins[3]})
	if err != nil {
		return nil, err
	}
	d := &Devices{Indicator: ind}
	if pins[4].IO != nil {
		if d.PowerKey, err = NewPowerKey(pins[4]); err != nil {
			ind.Close()
			return nil, err
		}
	}
	if pins[5].IO != nil {
		if d.PaperSensor, err = NewPaperSensor(pins[5], gpioPull(cfg.PaperSensor.Pull)); err != nil {
			ind.Close()
			return nil, err
		}
	}
	return d, nil
}

func gpioPull(s string) gpio.Pull {
	switch s {
	case "up":
		return gpio.PullUp
	case "down":
		return gpio.PullDown
	}
	return gpio.PullNoChange
}

// PowerKey is the modem's power key line: pressing it for a while switches
// the modem on or off, as a finger on the button would.
type PowerKey struct {
	pin Pin
}

// NewPowerKey releases the key and returns it.
func NewPowerKey(p Pin) (*PowerKey, error) {
	if p.IO == nil {
		return nil, fmt.Errorf("gpio: power key: %w", ErrNoPin)
	}
	if err := p.set(false); err != nil {
		return nil, err
	}
	return &PowerKey{pin: p}, nil
}

// Press holds the key for d and releases it. If ctx ends first the key is
// released at once and ctx's error returned.
func (k *PowerKey) Press(ctx context.Context, d time.Duration) error {
	if err := k.pin.set(true); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var err error
	select {
	case <-t.C:
	case <-ctx.Done():
		err = fmt.Errorf("gpio: power key press cut short: %w", ctx.Err())
	}
	if rerr := k.pin.set(false); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}

// PaperSensor reads the printer's paper sensor line.
type PaperSensor struct {
	pin Pin
}

// NewPaperSensor sets the line as an input with pull and edge detection.
func NewPaperSensor(p Pin, pull gpio.Pull) (*PaperSensor, error) {
	if p.IO == nil {
		return nil, fmt.Errorf("gpio: paper sensor: %w", ErrNoPin)
	}
	if err := p.IO.In(pull, gpio.BothEdges); err != nil {
		return nil, fmt.Errorf("gpio: paper sensor %s: %w", p.IO.Name(), err)
	}
	return &PaperSensor{pin: p}, nil
}

// Present reports whether paper is in front of the sensor.
func (s *PaperSensor) Present() bool { return s.pin.active() }

// edgePoll bounds one WaitForEdge so that a cancelled context is noticed.
const edgePoll = 100 * time.Millisecond

// WaitChange blocks until the sensor's state differs from was (paper loaded
// or run out) and returns the new state, or ctx's error.
func (s *PaperSensor) WaitChange(ctx context.Context, was bool) (bool, error) {
	for {
		if now := s.Present(); now != was {
			return now, nil
		}
		if err := ctx.Err(); err != nil {
			return was, fmt.Errorf("gpio: paper sensor: %w", err)
		}
		wait := edgePoll
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if wait > 0 {
			s.pin.IO.WaitForEdge(wait)
		}
	}
}
