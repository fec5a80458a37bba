package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/layout"
)

// put journals one transaction of the open batch in the given final state.
func put(t *testing.T, j *Journal, kind Kind, method Method, state State, amount int64, masked string) uint32 {
	t.Helper()
	trace, err := j.NextTrace()
	if err != nil {
		t.Fatal(err)
	}
	batch, err := j.Batch()
	if err != nil {
		t.Fatal(err)
	}
	tx := Txn{Trace: trace, Batch: batch, Kind: kind, Method: method, State: state, Amount: amount,
		Currency: 156, MaskedPAN: masked}
	if err := j.Begin(tx); err != nil {
		t.Fatal(err)
	}
	return trace
}

const (
	cup  = "622202*********0128"
	visa = "476173******0119"
)

func TestTotals(t *testing.T) {
	type txn struct {
		kind   Kind
		method Method
		state  State
		amount int64
		pan    string
	}
	tests := []struct {
		name        string
		txns        []txn
		methods     map[Method]MethodTotals
		sales       Sum
		refunds     Sum
		voids       Sum
		dom, fgn    Family
		excluded    int
		unresolved  int
		uploadCount int
	}{
		{name: "empty batch"},
		{
			name: "one sale per method",
			txns: []txn{
				{Sale, Chip, Completed, 1000, cup},
				{Sale, Contactless, Completed, 2000, visa},
				{Sale, Stripe, Completed, 3000, cup},
				{Sale, QR, Completed, 4000, ""},
				{Cash, CashMethod, Completed, 5000, ""},
			},
			methods: map[Method]MethodTotals{
				Chip:        {Sales: Sum{Count: 1, Amount: 1000}},
				Contactless: {Sales: Sum{Count: 1, Amount: 2000}},
				Stripe:      {Sales: Sum{Count: 1, Amount: 3000}},
				QR:          {Sales: Sum{Count: 1, Amount: 4000}},
				CashMethod:  {Sales: Sum{Count: 1, Amount: 5000}},
			},
			sales:       Sum{Count: 5, Amount: 15000},
			dom:         Family{Debit: Sum{Count: 3, Amount: 8000}},
			fgn:         Family{Debit: Sum{Count: 1, Amount: 2000}},
			uploadCount: 4,
		},
		{
			name: "voids, refunds, reversed and declined",
			txns: []txn{
				{Sale, Chip, Completed, 10000, cup},
				{Sale, Chip, Voided, 2500, cup},     // cancelled: a void, not a sale
				{Void, Chip, Completed, 2500, cup},  // the void message itself counts nowhere
				{Sale, Chip, Reversed, 700, cup},    // undone: nowhere
				{Sale, Chip, Declined, 5100, cup},   // never happened: nowhere
				{Refund, Chip, Completed, 300, cup}, // credit
				{Refund, Contactless, Completed, 400, visa},
				{Balance, Chip, Completed, 0, cup},     // moves no money
				{PreAuth, Chip, Completed, 9000, visa}, // a hold, settled by its completion
				{kindCompletion, Chip, Completed, 8800, visa},
				{Sale, QR, Voided, 1200, ""},
				{Cash, CashMethod, Completed, 2000, ""},
				{Refund, CashMethod, Completed, 500, ""},
			},
			methods: map[Method]MethodTotals{
				Chip:        {Sales: Sum{Count: 2, Amount: 18800}, Refunds: Sum{Count: 1, Amount: 300}, Voids: Sum{Count: 1, Amount: 2500}},
				Contactless: {Refunds: Sum{Count: 1, Amount: 400}},
				QR:          {Voids: Sum{Count: 1, Amount: 1200}},
				CashMethod:  {Sales: Sum{Count: 1, Amount: 2000}, Refunds: Sum{Count: 1, Amount: 500}},
			},
			sales:       Sum{Count: 3, Amount: 20800},
			refunds:     Sum{Count: 3, Amount: 1200},
			voids:       Sum{Count: 2, Amount: 3700},
			dom:         Family{Debit: Sum{Count: 1, Amount: 10000}, Credit: Sum{Count: 1, Amount: 300}},
			fgn:         Family{Debit: Sum{Count: 1, Amount: 8800}, Credit: Sum{Count: 1, Amount: 400}},
			excluded:    5,
			uploadCount: 4,
		},
		{
			name: "in doubt and queued reversals are unresolved",
			txns: []txn{
				{Sale, Chip, Pending, 100, cup},
				{Sale, Chip, Approved, 200, cup},
				{Sale, Contactless, ReversalPending, 300, cup},
				{Sale, Stripe, Completed, 400, cup},
			},
			methods:     map[Method]MethodTotals{Stripe: {Sales: Sum{Count: 1, Amount: 400}}},
			sales:       Sum{Count: 1, Amount: 400},
			dom:         Family{Debit: Sum{Count: 1, Amount: 400}},
			unresolved:  3,
			uploadCount: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			j, _ := openTemp(t)
			for _, x := range tc.txns {
				put(t, j, x.kind, x.method, x.state, x.amount, x.pan)
			}
			got, err := j.OpenTotals()
			if err != nil {
				t.Fatal(err)
			}
			if got.Batch != 1 {
				t.Errorf("batch %d, want 1", got.Batch)
			}
			if len(got.Methods) != 5 {
				t.Errorf("%d methods, want the five standard ones", len(got.Methods))
			}
			for i, m := range entry.StandardMethods {
				if got.Methods[i].Method != m {
					t.Errorf("method %d is %s, want %s", i, got.Methods[i].Method, m)
				}
				want := tc.methods[m]
				want.Method = m
				if g := got.Method(m); g != want {
					t.Errorf("%s: got %+v, want %+v", m, g, want)
				}
			}
			if got.Sales != tc.sales || got.Refunds != tc.refunds || got.Voids != tc.voids {
				t.Errorf("sales/refunds/voids %+v %+v %+v, want %+v %+v %+v", got.Sales, got.Refunds, got.Voids,
					tc.sales, tc.refunds, tc.voids)
			}
			if got.Domestic != tc.dom || got.Foreign != tc.fgn {
				t.Errorf("host families %+v / %+v, want %+v / %+v", got.Domestic, got.Foreign, tc.dom, tc.fgn)
			}
			if got.Excluded != tc.excluded || got.Unresolved != tc.unresolved {
				t.Errorf("excluded %d unresolved %d, want %d %d", got.Excluded, got.Unresolved, tc.excluded, tc.unresolved)
			}
			if got.Net() != tc.sales.Amount-tc.refunds.Amount {
				t.Errorf("net %d", got.Net())
			}
			s, err := j.BeginSettlement()
			if tc.unresolved > 0 {
				if !errors.Is(err, ErrUnresolved) {
					t.Fatalf("settling a batch with unresolved transactions: %v, want ErrUnresolved", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			list, err := j.UploadList()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tc.uploadCount || s.UploadTotal != tc.uploadCount {
				t.Errorf("upload list %v (total %d), want %d items", list, s.UploadTotal, tc.uploadCount)
			}
		})
	}
}

func TestTotalsSeparateBatches(t *testing.T) {
	j, _ := openTemp(t)
	put(t, j, Sale, Chip, Completed, 1000, cup)
	s, err := j.BeginSettlement()
	if err != nil {
		t.Fatal(err)
	}
	s.Step, s.Balanced = StepTotalsSent, true
	if err := j.SaveSettlement(s); err != nil {
		t.Fatal(err)
	}
	if _, err := j.CloseBatch(s); err != nil {
		t.Fatal(err)
	}
	put(t, j, Sale, Chip, Completed, 2000, cup)
	open, err := j.OpenTotals()
	if err != nil {
		t.Fatal(err)
	}
	if open.Batch != 2 || open.Sales != (Sum{Count: 1, Amount: 2000}) {
		t.Fatalf("open batch totals %+v", open)
	}
	old, err := j.Totals(1)
	if err != nil || old.Sales != (Sum{Count: 1, Amount: 1000}) {
		t.Fatalf("closed batch totals %+v %v", old, err)
	}
}

func TestSettlementStepsAndClose(t *testing.T) {
	now := time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, testSealKey, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { j.Close() }()
	a := put(t, j, Sale, Chip, Completed, 1000, cup)
	b := put(t, j, Refund, Contactless, Completed, 100, visa)
	put(t, j, Cash, CashMethod, Completed, 700, "")

	if _, err := j.Settlement(); !errors.Is(err, ErrNoSettlement) {
		t.Fatalf("fresh journal: %v, want ErrNoSettlement", err)
	}
	s, err := j.BeginSettlement()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.BeginSettlement(); !errors.Is(err, ErrSettling) {
		t.Fatalf("second begin: %v, want ErrSettling", err)
	}
	if _, err := j.CloseBatch(s); !errors.Is(err, ErrTransition) {
		t.Fatalf("closing before the host answered: %v, want ErrTransition", err)
	}
	s.Step = StepTotalsSent // unbalanced
	if err := j.SaveSettlement(s); err != nil {
		t.Fatal(err)
	}
	if _, err := j.CloseBatch(s); !errors.Is(err, ErrTransition) {
		t.Fatalf("closing an unbalanced batch before its upload: %v, want ErrTransition", err)
	}
	s.Step, s.Uploaded = StepUploading, 1
	if err := j.SaveSettlement(s); err != nil {
		t.Fatal(err)
	}
	back := s
	back.Step = StepStarted
	if err := j.SaveSettlement(back); !errors.Is(err, ErrTransition) {
		t.Fatalf("moving a settlement back: %v, want ErrTransition", err)
	}

	// A power cut: reopen and find the same progress.
	j.Close()
	if j, err = Open(path, testSealKey, Options{Now: func() time.Time { return now }}); err != nil {
		t.Fatal(err)
	}
	got, err := j.Settlement()
	if err != nil || got.Step != StepUploading || got.Uploaded != 1 || got.Trace != 4 || got.Totals.Sales.Amount != 1700 {
		t.Fatalf("after reopen: %+v %v", got, err)
	}
	if next, err := j.NextTrace(); err != nil || next != 5 {
		t.Fatalf("trace after the settlement's: %d %v, want 5", next, err)
	}
	if on, err := j.Settling(); err != nil || !on {
		t.Fatalf("Settling = %v, %v", on, err)
	}
	list, err := j.UploadList()
	if err != nil || len(list) != 2 || list[0] != a || list[1] != b {
		t.Fatalf("upload list %v %v, want [%d %d]", list, err, a, b)
	}
	got.Step, got.Uploaded, got.EndTrace = StepUploadEnd, 2, 5
	if err := j.SaveSettlement(got); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute)
	cb, err := j.CloseBatch(got)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Batch != 1 || cb.NextBatch != 2 || cb.Balanced || cb.Uploaded != 2 || !cb.Closed.Equal(now) {
		t.Fatalf("closed batch %+v", cb)
	}
	if n, _ := j.Batch(); n != 2 {
		t.Fatalf("open batch %d after close, want 2", n)
	}
	if _, err := j.Settlement(); !errors.Is(err, ErrNoSettlement) {
		t.Fatalf("after close: %v, want ErrNoSettlement", err)
	}
	if _, err := j.UploadList(); !errors.Is(err, ErrNoSettlement) {
		t.Fatalf("upload list after close: %v", err)
	}
	if _, err := j.CloseBatch(got); !errors.Is(err, ErrNoSettlement) {
		t.Fatalf("closing twice: %v, want ErrNoSettlement", err)
	}
	// Nothing was deleted.
	if all, err := j.List(1); err != nil || len(all) != 3 {
		t.Fatalf("batch 1 after close: %d transactions, %v", len(all), err)
	}
	if err := j.MarkBatchPrinted(1, false); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkBatchPrinted(1, true); err != nil {
		t.Fatal(err)
	}
	last, err := j.LastClosedBatch()
	if err != nil || last.Batch != 1 || !last.Printed || last.Reprints != 1 {
		t.Fatalf("last closed %+v %v", last, err)
	}
	if _, err := j.ClosedBatch(7); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("unknown batch: %v", err)
	}
	if err := j.MarkBatchPrinted(7, false); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("marking an unknown batch: %v", err)
	}
	all, err := j.ClosedBatches()
	if err != nil || len(all) != 1 {
		t.Fatalf("closed batches %+v %v", all, err)
	}
}

func TestNoSettlementEmptyJournal(t *testing.T) {
	j, _ := openTemp(t)
	if _, err := j.LastClosedBatch(); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("LastClosedBatch on a fresh journal: %v", err)
	}
	if err := j.SaveSettlement(Settlement{Batch: 1, Step: StepStarted}); !errors.Is(err, ErrNoSettlement) {
		t.Fatalf("SaveSettlement without one: %v", err)
	}
}

// openTB opens a journal in a temporary directory for a test or benchmark.
func openTB(tb testing.TB) *Journal {
	tb.Helper()
	j, err := Open(filepath.Join(tb.TempDir(), "journal.db"), testSealKey, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	return j
}

// fill journals n completed sales of the open batch in one commit (a
// benchmark's set-up; the journal's own Begin commits each).
func fill(tb testing.TB, j *Journal, n int) {
	tb.Helper()
	batch, err := j.Batch()
	if err != nil {
		tb.Fatal(err)
	}
	methods := []Method{Chip, Contactless, Stripe, QR, CashMethod}
	err = j.db.Update(func(tx *bolt.Tx) error {
		for i := 1; i <= n; i++ {
			t := Txn{Trace: uint32(i), Batch: batch, Kind: Sale, Method: methods[i%len(methods)], State: Completed,
				Amount: int64(1000 + i), Currency: 156, MaskedPAN: cup, Entry: 5, AID: "A000000333010101",
				AppLabel: "UnionPay Debit", ResponseCode: "00", AuthCode: "123456", RRN: "112214300001",
				TC: "0123456789ABCDEF", Created: j.now(), Updated: j.now(),
				Secret: Sensitive{PAN: "6222021234567890128", Expiry: "3012", PANSeq: "01"}}
			if _, err := j.store(tx, t, true); err != nil {
				return err
			}
		}
		return tx.Bucket(layout.Meta).Put(layout.KeyTrace, layout.U32(uint32(n)))
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkTotals10k adds up a batch of 10,000 transactions.
func BenchmarkTotals10k(b *testing.B) {
	j := openTB(b)
	fill(b, j, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t, err := j.OpenTotals()
		if err != nil || t.Sales.Count != 10000 {
			b.Fatalf("%+v %v", t.Sales, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/totals")
}

// BenchmarkJournalBytesPerTxn journals 10,000 chip sales the way the state
// machine does (trace, pending with sealed card data, then completed) and
// reports the file's size divided by 10,000 (and the pages in use,
// likewise). The file is written where the
// system keeps a tmpfs when it has one: its size, not the disk, is measured.
func BenchmarkJournalBytesPerTxn(b *testing.B) {
	const n = 10000
	icc := bytes.Repeat([]byte{0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8}, 20) // a field 55 of 220 bytes
	var size, used int64
	for it := 0; it < b.N; it++ {
		dir := b.TempDir()
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			if d, err := os.MkdirTemp("/dev/shm", "kpos-bench-"); err == nil {
				b.Cleanup(func() { os.RemoveAll(d) })
				dir = d
			}
		}
		path := filepath.Join(dir, "journal.db")
		j, err := Open(path, testSealKey, Options{})
		if err != nil {
			b.Fatal(err)
		}
		batch, _ := j.Batch()
		for i := 0; i < n; i++ {
			trace, err := j.NextTrace()
			if err != nil {
				b.Fatal(err)
			}
			err = j.Begin(Txn{Trace: trace, Batch: batch, Kind: Sale, Method: Chip, Amount: int64(100 + i), Currency: 156,
				MaskedPAN: cup, Entry: 5, AID: "A000000333010101", AppLabel: "UnionPay Debit",
				Secret: Sensitive{PAN: "6222021234567890128", Expiry: "3012", PANSeq: "01", ICCData: icc,
					Track2: []byte("6222021234567890128=30122011234")}})
			if err != nil {
				b.Fatal(err)
			}
			_, err = j.Update(trace, func(t *Txn) {
				t.State, t.ResponseCode, t.AuthCode, t.RRN, t.TC = Completed, "00", "123456", "112214300001", "0123456789ABCDEF"
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := j.db.View(func(tx *bolt.Tx) error {
			used = tx.Size() - int64(j.db.Stats().FreeAlloc)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		if err := j.Close(); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		size = st.Size()
	}
	b.ReportMetric(float64(size)/n, "bytes/txn")
	b.ReportMetric(float64(used)/n, "used-bytes/txn") // pages in use, without bbolt's free pages and growth
}
