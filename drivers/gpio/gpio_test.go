package gpio_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	kgpio "kpos/drivers/gpio"
	"kpos/hal"
)

// recPin is a gpiotest.Pin that also records every level driven on it.
type recPin struct {
	*gpiotest.Pin
	levels chan gpio.Level
}

func newPin(name string) *recPin {
	return &recPin{Pin: &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 16)}, levels: make(chan gpio.Level, 1024)}
}

func (p *recPin) Out(l gpio.Level) error {
	if err := p.Pin.Out(l); err != nil {
		return err
	}
	select {
	case p.levels <- l:
	default:
	}
	return nil
}

// expect waits for the pin to be driven to each level in turn.
func (p *recPin) expect(ctx context.Context, t *testing.T, levels ...gpio.Level) {
	t.Helper()
	for _, want := range levels {
		for {
			select {
			case l := <-p.levels:
				if l == want {
					goto next
				}
			case <-ctx.Done():
				t.Fatalf("%s never went %v", p.N, want)
			}
		}
	next:
	}
}

// drain forgets what was recorded so far.
func (p *recPin) drain() {
	for {
		select {
		case <-p.levels:
		default:
			return
		}
	}
}

type board struct {
	green, red, status, buzzer *recPin
	ind                        *kgpio.Indicator
}

func newBoard(t *testing.T, greenActiveLow bool) *board {
	t.Helper()
	b := &board{green: newPin("GREEN"), red: newPin("RED"), status: newPin("STATUS"), buzzer: newPin("BUZZER")}
	ind, err := kgpio.NewIndicator(kgpio.IndicatorPins{
		Green:  kgpio.Pin{IO: b.green, ActiveLow: greenActiveLow},
		Red:    kgpio.Pin{IO: b.red},
		Status: kgpio.Pin{IO: b.status},
		Buzzer: kgpio.Pin{IO: b.buzzer},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ind.Close() })
	b.ind = ind
	for _, p := range []*recPin{b.green, b.red, b.status, b.buzzer} {
		p.drain()
	}
	return b
}

func TestSignals(t *testing.T) {
	const H, L = gpio.High, gpio.Low
	tests := []struct {
		sig                hal.Signal
		green, red, status gpio.Level
		beeps              bool
	}{
		{hal.SignalIdle, L, L, H, false},
		{hal.SignalApproved, H, L, L, true},
		{hal.SignalDeclined, L, H, L, true},
		{hal.SignalCardRead, L, L, H, true},
		{hal.SignalAttention, L, H, L, true},
	}
	for _, tt := range tests {
		t.Run(tt.sig.String(), func(t *testing.T) {
			b := newBoard(t, false)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := b.ind.Signal(ctx, tt.sig); err != nil {
				t.Fatal(err)
			}
			if tt.beeps {
				b.buzzer.expect(ctx, t, H, L)
			}
			if tt.sig == hal.SignalAttention {
				b.red.expect(ctx, t, H) // blinking: on again at the start of a loop
			}
			if g, r, s := b.green.Read(), b.red.Read(), b.status.Read(); tt.sig != hal.SignalAttention && (g != tt.green || r != tt.red || s != tt.status) {
				t.Errorf("green %v red %v status %v, want %v %v %v", g, r, s, tt.green, tt.red, tt.status)
			}
		})
	}
}

func TestBusyBlinksUntilNextSignal(t *testing.T) {
	b := newBoard(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.ind.Signal(ctx, hal.SignalBusy); err != nil {
		t.Fatal(err)
	}
	b.status.expect(ctx, t, gpio.High, gpio.Low, gpio.High, gpio.Low)
	if err := b.ind.Signal(ctx, hal.SignalApproved); err != nil {
		t.Fatal(err)
	}
	if b.status.Read() != gpio.Low || b.green.Read() != gpio.High {
		t.Errorf("after approved: status %v green %v", b.status.Read(), b.green.Read())
	}
	b.buzzer.expect(ctx, t, gpio.High, gpio.Low)
	b.status.drain()
	if err := b.ind.Signal(ctx, hal.SignalIdle); err != nil {
		t.Fatal(err)
	}
	if b.status.Read() != gpio.High {
		t.Error("idle did not light the status LED")
	}
}

func TestActiveLowAndClose(t *testing.T) {
	b := newBoard(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if b.green.Read() != gpio.High {
		t.Error("active-low LED not off (high) at start")
	}
	if err := b.ind.Signal(ctx, hal.SignalApproved); err != nil {
		t.Fatal(err)
	}
	if b.green.Read() != gpio.Low {
		t.Error("active-low LED not on (low) after approved")
	}
	if err := b.ind.Close(); err != nil {
		t.Fatal(err)
	}
	if b.green.Read() != gpio.High || b.buzzer.Read() != gpio.Low {
		t.Error("Close left lines on")
	}
	if err := b.ind.Signal(ctx, hal.SignalIdle); !errors.Is(err, kgpio.ErrClosed) {
		t.Errorf("Signal after Close = %v", err)
	}
}

func TestBeep(t *testing.T) {
	b := newBoard(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := b.ind.Beep(ctx, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("beep lasted %v", d)
	}
	b.buzzer.expect(ctx, t, gpio.High, gpio.Low)
	short, cancel2 := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel2()
	if err := b.ind.Beep(short, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Beep = %v", err)
	}
	if b.buzzer.Read() != gpio.Low {
		t.Error("buzzer left on")
	}
}

func TestPowerKey(t *testing.T) {
	tests := []struct {
		name      string
		activeLow bool
		press     time.Duration
		deadline  time.Duration
		wantErr   error
	}{
		{"full press", false, 20 * time.Millisecond, time.Second, nil},
		{"active low", true, 20 * time.Millisecond, time.Second, nil},
		{"cut short", false, time.Hour, 20 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pin := newPin("PWRKEY")
			key, err := kgpio.NewPowerKey(kgpio.Pin{IO: pin, ActiveLow: tt.activeLow})
			if err != nil {
				t.Fatal(err)
			}
			on, off := gpio.High, gpio.Low
			if tt.activeLow {
				on, off = off, on
			}
			if pin.Read() != off {
				t.Fatal("key not released at start")
			}
			pin.drain()
			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			start := time.Now()
			err = key.Press(ctx, tt.press)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Press = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && time.Since(start) < tt.press {
				t.Errorf("pressed for %v only", time.Since(start))
			}
			wait, cancel2 := context.WithTimeout(context.Background(), time.Second)
			defer cancel2()
			pin.expect(wait, t, on, off)
		})
	}
	if _, err := kgpio.NewPowerKey(kgpio.Pin{}); !errors.Is(err, kgpio.ErrNoPin) {
		t.Errorf("absent power key: %v", err)
	}
}

func TestPaperSensor(t *testing.T) {
	pin := newPin("PAPER")
	s, err := kgpio.NewPaperSensor(kgpio.Pin{IO: pin, ActiveLow: true}, gpio.PullUp)
	if err != nil {
		t.Fatal(err)
	}
	if s.Present() {
		t.Fatal("pulled-up active-low sensor reports paper")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pin.EdgesChan <- gpio.Low // paper loaded
	got, err := s.WaitChange(ctx, false)
	if err != nil || !got {
		t.Fatalf("WaitChange = %v, %v; want paper present", got, err)
	}
	short, cancel2 := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel2()
	if _, err := s.WaitChange(short, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitChange without an edge = %v", err)
	}
}

func TestLookup(t *testing.T) {
	p, err := kgpio.Lookup(kgpio.PinConfig{})
	if err != nil || p.IO != nil {
		t.Fatalf("empty name: %+v, %v", p, err)
	}
	if _, err := kgpio.Lookup(kgpio.PinConfig{Name: "NO_SUCH_PIN_42"}); !errors.Is(err, kgpio.ErrNoPin) {
		t.Fatalf("unknown pin: %v", err)
	}
}
