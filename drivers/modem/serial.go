package modem

import (
	"fmt"
	"log/slog"

	"kpos/drivers/serialport"
)

// Open opens cfg.Device at cfg.Baud (8N1) and returns a driver on it. The
// driver closes the port on Close.
func Open(cfg Config, key PowerKey, log *slog.Logger) (*Modem, error) {
	cfg = cfg.withDefaults()
	port, err := serialport.Open(cfg.Device, cfg.Baud, 0)
	if err != nil {
		return nil, fmt.Errorf("modem: %w", err)
	}
	return New(port, cfg, key, log), nil
}
