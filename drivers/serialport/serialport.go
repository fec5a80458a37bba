// Package serialport opens the terminal's serial lines the one way they are
// all wired: 8 data bits, no parity, one stop bit (8N1) at the board's baud
// rate. The printer, the scanner module, the modem, the keypad/display line
// and the technician console all open their port here.
//
// It knows nothing of what speaks on the line.
package serialport

import (
	"fmt"
	"time"

	"go.bug.st/serial"
)

// Open opens device at baud, 8N1. A readTimeout above zero makes every Read
// return after at most that long with what has arrived (possibly nothing),
// so that a reader can notice it is no longer wanted; zero leaves Read
// blocking until bytes come.
func Open(device string, baud int, readTimeout time.Duration) (serial.Port, error) {
	port, err := serial.Open(device, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("serialport: open %s: %w", device, err)
	}
	if readTimeout > 0 {
		if err := port.SetReadTimeout(readTimeout); err != nil {
			port.Close()
			return nil, fmt.Errorf("serialport: %s: read timeout: %w", device, err)
		}
	}
	return port, nil
}
