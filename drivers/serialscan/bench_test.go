package serialscan_test

import (
	"context"
	"testing"
	"time"
)

// BenchmarkTriggeredScan measures one trigger-mode read over the emulator's
// pty: trigger command out, code back, stop command out.
func BenchmarkTriggeredScan(b *testing.B) {
	emu, s := newPair(b, true)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := emu.Show("134567890123456789"); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Scan(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/scan")
}
