package settle

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"kpos/firmware/journal"
	"kpos/hal/fake"
)

const benchTxns = 10000

// benchBatch journals benchTxns completed transactions of every method
// (with a void and a refund every so often) and returns the journal file
// and a host that holds the same totals.
func benchBatch(b *testing.B) (string, *fakeHost) {
	b.Helper()
	// The fixture is built in memory when the system offers a tmpfs (ten
	// thousand fsyncs of set-up are not what is measured); each measured
	// run works on a copy on the test's disk.
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "kpos-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			dir = d
		}
	}
	path := filepath.Join(dir, "batch.db")
	j := openJournal(b, path)
	mix := []txn{
		{journal.Sale, journal.Chip, journal.Completed, 12345, cupPAN},
		{journal.Sale, journal.Contactless, journal.Completed, 2000, visaPAN},
		{journal.Sale, journal.Stripe, journal.Completed, 3000, cupPAN},
		{journal.Sale, journal.QR, journal.Completed, 4500, ""},
		{journal.Cash, journal.CashMethod, journal.Completed, 1000, ""},
		{journal.Sale, journal.Chip, journal.Voided, 800, cupPAN},
		{journal.Refund, journal.Chip, journal.Completed, 345, cupPAN},
		{journal.Sale, journal.Chip, journal.Declined, 5151, cupPAN},
	}
	txns := make([]txn, 0, benchTxns)
	for len(txns) < benchTxns {
		txns = append(txns, mix[len(txns)%len(mix)])
	}
	host := newFakeHost()
	host.domestic, host.foreign, _ = record(b, j, txns)
	if err := j.Close(); err != nil {
		b.Fatal(err)
	}
	return path, host
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	// On disk before the timer starts, as a terminal's journal would be.
	if err := out.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// benchSettle measures Run over a batch of benchTxns transactions, from a
// fresh copy of the same journal each time; host answers at once.
func benchSettle(b *testing.B, skew bool) {
	path, fh := benchBatch(b)
	if skew {
		fh.domestic.DebitCount++ // unbalanced: the whole batch is uploaded
	}
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		work := filepath.Join(b.TempDir(), "j.db")
		copyFile(b, path, work)
		j := openJournal(b, work)
		fh.settles, fh.items, fh.ends, fh.uploads = nil, nil, nil, map[uint32]int{}
		s := New(testConfig(), j, fh, fake.NewPrinter())
		b.StartTimer()
		start := time.Now()
		r, err := s.Run(context.Background())
		total += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if r.Batch.Balanced == skew || (skew && r.Batch.Uploaded == 0) {
			b.Fatalf("settlement %+v", r.Batch)
		}
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/settlement")
	b.ReportMetric(benchTxns, "txns/batch")
}

// BenchmarkSettle10k is the settlement of a batch of 10,000 transactions
// that balances: totals, 0500 (a host answering at once), close, report.
func BenchmarkSettle10k(b *testing.B) { benchSettle(b, false) }

// BenchmarkSettleUnbalanced10k adds the upload of every uploadable
// transaction of the batch (card data unsealed for each) to a host
// answering at once.
func BenchmarkSettleUnbalanced10k(b *testing.B) { benchSettle(b, true) }
