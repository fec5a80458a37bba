package journal

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// history journals n completed chip sales spread over the 90 days before
// today, one settled batch a day: today starts with no sale, whatever the
// history.
func history(tb testing.TB, j *Journal, n int) {
	tb.Helper()
	if n == 0 {
		return
	}
	y, m, dd := j.now().In(j.loc).Date()
	midnight := time.Date(y, m, dd, 0, 0, 0, 0, j.loc)
	const days = 90
	for d, trace := 0, 1; d < days; d++ {
		batch, _ := j.Batch()
		perDay := n / days
		if d == days-1 {
			perDay = n - trace + 1
		}
		txns := make([]Txn, perDay)
		for i := range txns {
			at := midnight.Add(-time.Duration(n-trace+1) * (days * 24 * time.Hour / time.Duration(n)))
			txns[i] = Txn{Trace: uint32(trace), Batch: batch, Kind: Sale, Method: Chip, State: Completed, Amount: 1,
				Currency: 156, MaskedPAN: cup, Entry: 5, AID: "A000000333010101", AppLabel: "UnionPay Debit",
				ResponseCode: "00", AuthCode: "123456", RRN: fmt.Sprintf("%012d", trace), TC: "0123456789ABCDEF",
				Created: at, Updated: at, Printed: true, Secret: Sensitive{PAN: "6222021234567890128", Expiry: "3012"}}
			trace++
		}
		if err := j.Import(txns); err != nil {
			tb.Fatal(err)
		}
		settleDay(tb, j)
	}
}

// BenchmarkSaleCommits journals sales the way the terminal does (trace,
// pending with card data, approved, completed with the host's RRN,
// printed) on a journal holding 0, 10,000 and 100,000 transactions, and
// reports the pages bbolt writes per sale besides the time.
func BenchmarkSaleCommits(b *testing.B) {
	for _, n := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			j, err := Open(filepath.Join(b.TempDir(), "journal.db"), testSealKey, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer j.Close()
			history(b, j, n)
			st0, _ := j.Stats()
			before := j.db.Stats().TxStats
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr := begin(b, j, Sale, Chip, 100, 0)
				set(b, j, tr, Approved, "")
				set(b, j, tr, Completed, fmt.Sprintf("9%011d", i))
				if _, err := j.Update(tr, func(x *Txn) { x.Printed = true }); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/sale")
			st1, _ := j.Stats()
			b.ReportMetric(float64(st1.FileBytes-st0.FileBytes)/float64(b.N), "grown-bytes/sale")
			st := j.db.Stats().TxStats
			b.ReportMetric(float64(st.GetWrite()-before.GetWrite())/float64(b.N), "pages/sale")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
