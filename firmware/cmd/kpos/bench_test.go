package main

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"syscall"
	"testing"
	"time"

	"kpos/boards"
	"kpos/hal"
)

func openSim(b testing.TB) (*app, *boards.Board) {
	b.Helper()
	board, err := boards.Open(context.Background(), "sim", boards.Options{DataDir: b.TempDir(),
		ParamsDir: "../../../testdata", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { board.Close() })
	return &app{board: board, log: slog.New(slog.DiscardHandler), out: io.Discard}, board
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkChipSale measures the CPU time of whole chip sales on the
// simulated board: keypad, EMV with the simulated card (RSA for ODA, 3DES
// for the ARQC), PIN block, the ISO 8583 exchange with the in-process host
// simulator (MAC, PIN and ARQC checks), journal commits with fsync, second
// GENERATE AC and both receipt copies. The fakes answer at once.
func BenchmarkChipSale(b *testing.B) {
	a, board := openSim(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inst, err := a.start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer a.stop(inst)
	sim := board.Sim
	card, err := sim.Card("unionpay-debit", hal.Contact)
	if err != nil {
		b.Fatal(err)
	}
	isApproved := func(s hal.Screen) bool { return s.ID == "approved" }
	isIdle := func(s hal.Screen) bool { return s.ID == "idle" }
	isPrompt := func(s hal.Screen) bool { return s.ID == "present-card" }
	isRemove := func(s hal.Screen) bool { return s.ID == "remove-card" }
	isTearOff := func(s hal.Screen) bool { return s.ID == "tear-off" }
	seen := len(sim.Display.History())
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		sim.Keypad.Type("1")
		sim.Keypad.Press(hal.KeyEnter, hal.KeyEnter)
		sim.PINPad.EnterPIN("123456")
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		// The card goes in when the terminal asks for it, and comes out
		// when it asks for it back.
		_, next, err := sim.Display.WaitFor(wctx, seen, isPrompt)
		if err == nil {
			sim.Reader.Insert(card)
			_, next, err = sim.Display.WaitFor(wctx, next, isTearOff)
		}
		if err == nil {
			// The merchant copy is torn off: the cardholder copy prints.
			sim.Keypad.Press(hal.KeyEnter)
			_, next, err = sim.Display.WaitFor(wctx, next, isRemove)
		}
		if err == nil {
			sim.Reader.Remove()
			_, next, err = sim.Display.WaitFor(wctx, next, isApproved)
		}
		if err == nil {
			_, next, err = sim.Display.WaitFor(wctx, next, isIdle)
		}
		wcancel()
		if err != nil {
			b.Fatalf("sale %d did not complete: last screen %v", i, sim.Display.Current())
		}
		seen = next
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/sale")
}

// BenchmarkBootHeap reports the Go heap in use once the firmware has
// booted (journal and keys open, EMV parameters loaded, signed on).
func BenchmarkBootHeap(b *testing.B) {
	var heap float64
	for i := 0; i < b.N; i++ {
		a, _ := openSim(b)
		ctx, cancel := context.WithCancel(context.Background())
		inst, err := a.start(ctx)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = float64(ms.HeapInuse) / (1 << 20)
		a.stop(inst)
		cancel()
	}
	b.ReportMetric(heap, "heap-MB")
}
