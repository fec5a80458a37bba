package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"kpos/drivers/modem"
	"kpos/tools/modememu"
)

// simModem is the simulated board's cellular modem: the modem emulator on a
// pseudo-terminal, driven by the real modem driver through the serial port
// as on a board, so that the console's 'modem at' meets the same driver,
// the same refusals and the same answers. The acquirer's traffic does not
// pass through it (the in-process host is reached over the fake link). It
// is switched on at the first command and off when the board closes.
type simModem struct {
	mu  sync.Mutex
	emu *modememu.Emulator
	m   *modem.Modem
}

// AT passes cmd to the driver's pass-through.
func (s *simModem) AT(ctx context.Context, cmd string) ([]string, error) {
	if err := modem.CheckPassThrough(cmd); err != nil {
		return nil, err // refused without switching the modem on
	}
	m, err := s.start(ctx)
	if err != nil {
		return nil, err
	}
	return m.AT(ctx, cmd)
}

func (s *simModem) start(ctx context.Context) (*modem.Modem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m != nil {
		return s.m, nil
	}
	emu, err := modememu.New(modememu.Config{})
	if err != nil {
		return nil, fmt.Errorf("sim: modem: %w", err)
	}
	m, err := modem.Open(modem.Config{Device: emu.Path(), APN: "CMNET", PollInterval: 20 * time.Millisecond, RegisterTimeout: 5 * time.Second}, emu, nil)
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("sim: modem: %w", err)
	}
	if err := m.Start(ctx); err != nil {
		m.Close()
		emu.Close()
		return nil, fmt.Errorf("sim: modem: %w", err)
	}
	s.emu, s.m = emu, m
	return m, nil
}

// Close switches the modem off.
func (s *simModem) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		return nil
	}
	err := s.m.Close()
	if eerr := s.emu.Close(); err == nil {
		err = eerr
	}
	s.m, s.emu = nil, nil
	return err
}
