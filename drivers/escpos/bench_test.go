package escpos_test

import (
	"context"
	"testing"
	"time"

	"kpos/drivers/escpos"
	"kpos/tools/printeremu"
)

// BenchmarkPrintReceipt prints the Chinese receipt with its QR code on the
// emulator over a pty, status checks included, and reports the time per
// receipt and the ESC/POS bytes it takes.
func BenchmarkPrintReceipt(b *testing.B) {
	emu, err := printeremu.New(printeremu.Options{Columns: 48})
	if err != nil {
		b.Fatal(err)
	}
	defer emu.Close()
	p, err := escpos.Open(escpos.Config{Device: emu.Path(), Baud: 115200, ChineseGB18030: true, StatusTimeout: 2 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	doc := receipt()
	raw, err := escpos.NewEncoder(p.Config()).Encode(doc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := p.Print(ctx, doc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/receipt")
	b.ReportMetric(float64(len(raw)), "bytes/receipt")
}
