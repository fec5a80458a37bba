package modem_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"kpos/drivers/gpio"
	"kpos/drivers/modem"
	"kpos/tools/modememu"
)

// The board wires the GPIO driver's power key, or the emulator's in tests.
var (
	_ modem.PowerKey = (*gpio.PowerKey)(nil)
	_ modem.PowerKey = (*modememu.Emulator)(nil)
)

// rig is a driver on the emulator's pty, opened through the serial package
// exactly as on a board.
type rig struct {
	emu *modememu.Emulator
	m   *modem.Modem
}

func newRig(t *testing.T, ecfg modememu.Config, tweak func(*modem.Config)) *rig {
	t.Helper()
	emu, err := modememu.New(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := modem.Config{
		Device:          emu.Path(),
		APN:             "CMNET",
		PollInterval:    20 * time.Millisecond,
		CommandTimeout:  time.Second,
		BootTimeout:     2 * time.Second,
		RegisterTimeout: 2 * time.Second,
		ConnectTimeout:  2 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := modem.Open(cfg, emu, log)
	if err != nil {
		emu.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
		emu.Close()
	})
	return &rig{emu: emu, m: m}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// echoServer accepts connections on loopback and echoes what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestStartRegistersAndActivates(t *testing.T) {
	tests := []struct {
		name     string
		startOff bool
		powerOns int
	}{
		{"module already on", false, 1},
		{"switched on by the power key", true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, modememu.Config{StartOff: tc.startOff, Operator: "CHINA UNICOM", Signal: 19}, nil)
			if err := r.m.Start(ctxT(t, 5*time.Second)); err != nil {
				t.Fatalf("Start: %v", err)
			}
			st, err := r.m.Status(ctxT(t, 5*time.Second))
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			if !st.Up || !st.Registered || st.Signal != 19 || st.Operator != "CHINA UNICOM" {
				t.Errorf("status = %+v", st)
			}
			if !strings.Contains(st.Detail, "ip 10.64.") {
				t.Errorf("detail %q lacks the PDP address", st.Detail)
			}
			s := r.emu.Stats()
			if s.PowerOns != tc.powerOns || s.Activations != 1 {
				t.Errorf("emulator stats = %+v", s)
			}
		})
	}
}

func TestTCPExchangeThroughModem(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, nil)
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  []byte
	}{
		{"short text", []byte("0200 hello")},
		{"binary with CR LF and ctrl-Z", []byte{0x00, 0x2e, '\r', '\n', 0x1a, 0x1b, '>', 0xff, '\r', '\n', 'O', 'K', '\r', '\n'}},
		{"longer than one AT+QISEND", bytes.Repeat([]byte("0123456789abcdef\r\n"), 200)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := r.m.Dial(ctx, "tcp", addr)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
				t.Fatal(err)
			}
			if n, err := c.Write(tc.msg); err != nil || n != len(tc.msg) {
				t.Fatalf("Write = %d, %v", n, err)
			}
			got := make([]byte, len(tc.msg))
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatalf("ReadFull: %v", err)
			}
			if !bytes.Equal(got, tc.msg) {
				t.Errorf("echo differs: got %q", got)
			}
		})
	}
}

func TestReadDeadline(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, nil)
	ctx := ctxT(t, 5*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err = c.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read with nothing to read = %v, want a timeout", err)
	}
	// The socket still works after a timeout.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("after timeout: %q, %v", buf, err)
	}
}

func TestNoSIM(t *testing.T) {
	r := newRig(t, modememu.Config{}, nil)
	r.emu.SetSIM(false)
	ctx := ctxT(t, 5*time.Second)
	err := r.m.Start(ctx)
	if !errors.Is(err, modem.ErrNoSIM) {
		t.Fatalf("Start without SIM = %v, want ErrNoSIM", err)
	}
	if _, err := r.m.Dial(ctx, "tcp", "127.0.0.1:9"); !errors.Is(err, modem.ErrNoSIM) {
		t.Errorf("Dial without SIM = %v, want ErrNoSIM", err)
	}
	st, err := r.m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Up || st.Registered || st.Signal != -1 {
		t.Errorf("status without SIM = %+v", st)
	}
	if _, cycles, _ := r.m.Counters(); cycles != 0 {
		t.Errorf("power-cycled %d times for a missing SIM", cycles)
	}
}

func TestRegistrationLostThenReattach(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.RegisterTimeout = 300 * time.Millisecond })
	// No power key press may fix this: the test waits for re-attach alone.
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.emu.SetNetwork(false)
	// While the cell is gone, a dial re-attaches, fails, power-cycles (the
	// emulator's key), and fails again: the network is still down.
	if _, err := r.m.Dial(ctx, "tcp", addr); !errors.Is(err, modem.ErrNotRegistered) {
		t.Fatalf("Dial with no network = %v, want ErrNotRegistered", err)
	}
	st, err := r.m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Up || st.Registered {
		t.Errorf("status with no network = %+v", st)
	}
	r.emu.SetNetwork(true)
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("Dial after the network came back: %v", err)
	}
	defer c.Close()
	roundTrip(t, c, "after re-attach")
	if rec, _, _ := r.m.Counters(); rec < 2 {
		t.Errorf("recoveries = %d, want at least 2", rec)
	}
	if s := r.emu.Stats(); s.Activations < 2 {
		t.Errorf("PDP activations = %d, want a re-activation", s.Activations)
	}
}

func TestStuckRadioRecoveredByPowerCycle(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.RegisterTimeout = 300 * time.Millisecond })
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.emu.SetStuck(true) // registration lost until the module is power-cycled
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("Dial with a stuck radio: %v", err)
	}
	defer c.Close()
	roundTrip(t, c, "after power cycle")
	if _, cycles, _ := r.m.Counters(); cycles != 1 {
		t.Errorf("power cycles = %d, want 1", cycles)
	}
	if s := r.emu.Stats(); s.PowerOffs != 1 || s.PowerOns != 2 {
		t.Errorf("emulator stats = %+v, want one off and a second on", s)
	}
}

func TestSuperviseRecoversWithoutADial(t *testing.T) {
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.RegisterTimeout = 300 * time.Millisecond })
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sup, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.m.Supervise(sup) }()
	r.emu.SetStuck(true)
	// Wait, by polling the module's state, until the supervisor has
	// power-cycled it and the link is back.
	for {
		st, err := r.m.Status(ctx)
		if err == nil && st.Up {
			if _, cycles, _ := r.m.Counters(); cycles >= 1 {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("link not recovered: %+v, %v", st, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Supervise = %v", err)
	}
}

func TestDroppedSocket(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, nil)
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "before drop")
	if n := r.emu.DropSockets(); n != 1 {
		t.Fatalf("dropped %d sockets", n)
	}
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(make([]byte, 8)); !errors.Is(err, io.EOF) {
		t.Errorf("Read after drop = %v, want io.EOF", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after drop = %v, want net.ErrClosed", err)
	}
	// The link itself is fine: a new connection works.
	c2, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	roundTrip(t, c2, "new socket")
}

func TestSlowModuleThenNormal(t *testing.T) {
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.CommandTimeout = 500 * time.Millisecond })
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r.emu.SetDelay(600 * time.Millisecond)
	if _, err := r.m.Status(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Status on a slow module = %v, want a deadline error", err)
	}
	r.emu.SetDelay(0)
	// The late answer to the abandoned command must not be taken for the
	// answer to the next one.
	st, err := r.m.Status(ctx)
	if err != nil || !st.Up || st.Signal != 24 {
		t.Fatalf("Status after the module caught up = %+v, %v", st, err)
	}
}

func TestDialRefusedAndRING(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	r := newRig(t, modememu.Config{}, nil)
	ctx := ctxT(t, 5*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ addr, network string }{
		{closed, "tcp"},         // nothing listens
		{"192.0.2.1:80", "tcp"}, // the emulator only bridges loopback
		{"127.0.0.1:80", "udp"}, // not supported
		{"127.0.0.1", "tcp"},    // no port
	}
	for _, tc := range tests {
		if c, err := r.m.Dial(ctx, tc.network, tc.addr); err == nil {
			c.Close()
			t.Errorf("Dial(%s %s) succeeded", tc.network, tc.addr)
		}
	}
	r.emu.Ring()
	// The RING is counted by the reader; a command after it orders the two.
	if _, err := r.m.Status(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, rings := r.m.Counters(); rings != 1 {
		t.Errorf("rings = %d, want 1", rings)
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatalf("%s: write: %v", msg, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("%s: read %q, %v", msg, got, err)
	}
}

// Dial on a driver that was never started starts it (power key included).
func TestDialWithoutStart(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{StartOff: true}, nil)
	ctx := ctxT(t, 10*time.Second)
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	roundTrip(t, c, "first dial")
	if rec, cycles, _ := r.m.Counters(); rec != 0 || cycles != 0 {
		t.Errorf("a first start counted as recovery: %d, %d", rec, cycles)
	}
}

// A module that restarts on its own (RDY) loses its set-up and sockets;
// the next Dial sets it up again.
func TestModuleRestartedByItself(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, nil)
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, "before restart")
	r.emu.Press(ctx, time.Second) // off
	r.emu.Press(ctx, time.Second) // on: RDY, echo on, no URCs enabled
	// The old socket fails once the driver has read POWERED DOWN or RDY.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read on a socket of the restarted module = %v", err)
	}
	c2, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("Dial after restart: %v", err)
	}
	defer c2.Close()
	roundTrip(t, c2, "after restart")
	if s := r.emu.Stats(); s.Activations != 2 {
		t.Errorf("activations = %d, want 2", s.Activations)
	}
}

// A send the module does not finish in time leaves the socket closed: its
// stream may have lost bytes. The link and new sockets are fine.
func TestSendCutShortClosesSocket(t *testing.T) {
	addr := echoServer(t)
	r := newRig(t, modememu.Config{}, func(c *modem.Config) { c.CommandTimeout = 300 * time.Millisecond })
	ctx := ctxT(t, 10*time.Second)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.emu.SetDelay(400 * time.Millisecond)
	if _, err := c.Write([]byte("slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write to a slow module = %v, want a deadline error", err)
	}
	if _, err := c.Write([]byte("again")); err == nil {
		t.Fatal("Write on a socket cut short succeeded")
	}
	r.emu.SetDelay(0)
	c2, err := r.m.Dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	roundTrip(t, c2, "fresh socket")
}
