package modem

import (
	"fmt"
	"log/slog"

	"go.bug.st/serial"
)

// Open opens cfg.Device at cfg.Baud (8N1) and returns a driver on it. The
// driver closes the port on Close.
func Open(cfg Config, key PowerKey, log *slog.Logger) (*Modem, error) {
	cfg = cfg.withDefaults()
	port, err := serial.Open(cfg.Device, &serial.Mode{
		BaudRate: cfg.Baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		return nil, fmt.Errorf("modem: open %s: %w", cfg.Device, err)
	}
	return New(port, cfg, key, log), nil
}
