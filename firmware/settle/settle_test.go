package settle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/receipt"
	"kpos/hal"
	"kpos/hal/fake"
)

var testSealKey = bytes.Repeat([]byte{0x5A}, 32) // TEST ONLY

var errPowerCut = errors.New("power cut (test)")

// fakeHost is an acquirer that holds its own totals of the batch, answers
// the 0500 balanced when the terminal's agree, and files uploads as the
// host simulator does. It records every message.
type fakeHost struct {
	mu       sync.Mutex
	domestic acquirer.Totals
	foreign  acquirer.Totals
	settles  []acquirer.Settlement
	uploads  map[uint32]int // trace → times received
	items    []acquirer.Request
	ends     []string
	failNext error // the next Settle fails with it
}

func newFakeHost() *fakeHost { return &fakeHost{uploads: map[uint32]int{}} }

func (h *fakeHost) Settle(ctx context.Context, s acquirer.Settlement) (acquirer.SettleResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failNext; err != nil {
		h.failNext = nil
		return acquirer.SettleResult{}, err
	}
	h.settles = append(h.settles, s)
	r := acquirer.SettleResult{DomesticRecon: acquirer.ReconBalanced, ForeignRecon: acquirer.ReconBalanced,
		SettleDate: "1122", Response: acquirer.Response{Code: "00"}}
	if s.Domestic != h.domestic {
		r.DomesticRecon = acquirer.ReconUnbalanced
	}
	if s.Foreign != h.foreign {
		r.ForeignRecon = acquirer.ReconUnbalanced
	}
	r.Balanced = r.DomesticRecon == acquirer.ReconBalanced && r.ForeignRecon == acquirer.ReconBalanced
	return r, nil
}

func (h *fakeHost) file(it acquirer.Request) {
	h.uploads[it.Trace]++
	h.items = append(h.items, it)
}

func (h *fakeHost) UploadBatch(ctx context.Context, items []acquirer.Request) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, it := range items {
		h.file(it)
	}
	if len(items) > 0 {
		h.ends = append(h.ends, fmt.Sprintf("batch %d count %d", items[0].Batch, len(items)))
	}
	return nil
}

// itemHost is a fakeHost that uploads item by item.
type itemHost struct{ *fakeHost }

func (h itemHost) UploadItem(ctx context.Context, it acquirer.Request) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.file(it)
	return nil
}

func (h itemHost) UploadEnd(ctx context.Context, trace, batch uint32, count int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ends = append(h.ends, fmt.Sprintf("batch %d count %d", batch, count))
	return nil
}

var _ ItemUploader = itemHost{}

func openJournal(t testing.TB, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, testSealKey, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// txn is a transaction of a test batch.
type txn struct {
	kind   journal.Kind
	method journal.Method
	state  journal.State
	amount int64
	pan    string
}

const (
	cupPAN  = "6222021234567890128"
	visaPAN = "4761739001010119"
)

// day is a batch with every kind of outcome in it.
var day = []txn{
	{journal.Sale, journal.Chip, journal.Completed, 12345, cupPAN},
	{journal.Sale, journal.Contactless, journal.Completed, 2000, visaPAN},
	{journal.Sale, journal.Stripe, journal.Completed, 3000, cupPAN},
	{journal.Sale, journal.QR, journal.Completed, 4500, ""},
	{journal.Cash, journal.CashMethod, journal.Completed, 1000, ""},
	{journal.Sale, journal.Chip, journal.Voided, 800, cupPAN},
	{journal.Void, journal.Chip, journal.Completed, 800, cupPAN},
	{journal.Refund, journal.Chip, journal.Completed, 345, cupPAN},
	{journal.Sale, journal.Chip, journal.Declined, 5151, cupPAN},
	{journal.Sale, journal.Chip, journal.Reversed, 999, cupPAN},
}

// record journals txns in the open batch and returns the host's view of
// them (domestic, foreign) and the traces a batch upload must carry.
func record(t testing.TB, j *journal.Journal, txns []txn) (acquirer.Totals, acquirer.Totals, []uint32) {
	t.Helper()
	var dom, fgn acquirer.Totals
	var uploads []uint32
	for _, x := range txns {
		trace, err := j.NextTrace()
		if err != nil {
			t.Fatal(err)
		}
		batch, err := j.Batch()
		if err != nil {
			t.Fatal(err)
		}
		tx := journal.Txn{Trace: trace, Batch: batch, Kind: x.kind, Method: x.method, State: x.state, Amount: x.amount,
			Currency: 156, RRN: fmt.Sprintf("1122%08d", trace), AuthCode: fmt.Sprintf("%06d", trace)}
		if x.pan != "" {
			tx.MaskedPAN = hal.MustPAN(x.pan).Masked()
			tx.Secret = journal.Sensitive{PAN: x.pan, Expiry: "3012"}
		}
		if err := j.Begin(tx); err != nil {
			t.Fatal(err)
		}
		if x.state != journal.Completed || x.method == journal.CashMethod {
			continue
		}
		tot := &dom
		if x.pan != "" && !strings.HasPrefix(x.pan, "62") {
			tot = &fgn
		}
		switch x.kind {
		case journal.Sale:
			tot.DebitAmount += x.amount
			tot.DebitCount++
		case journal.Refund:
			tot.CreditAmount += x.amount
			tot.CreditCount++
		default:
			continue
		}
		uploads = append(uploads, trace)
	}
	return dom, fgn, uploads
}

func testConfig() Config {
	return Config{MerchantName: "测试商户 KPOS Test Shop", MerchantID: "898320154110001", TerminalID: "12345678",
		Account: "622202******0128", Width: 32,
		Fees: func(method string, amount int64) int64 {
			bp := map[string]int64{"chip": 60, "contactless": 60, "stripe": 60, "qr": 38}[method]
			return (amount*bp + 5000) / 10000
		}}
}

func TestBalancedSettlementCloses(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	host := newFakeHost()
	host.domestic, host.foreign, _ = record(t, j, day)
	pr := fake.NewPrinter()
	s := New(testConfig(), j, host, pr)
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.Batch.Balanced || r.Batch.Batch != 1 || r.Batch.Uploaded != 0 || !r.Printed {
		t.Fatalf("report %+v", r.Batch)
	}
	if len(host.settles) != 1 || len(host.items) != 0 || len(host.ends) != 0 {
		t.Fatalf("host saw %d settlements, %d uploads, %d ends", len(host.settles), len(host.items), len(host.ends))
	}
	if got := host.settles[0]; got.Batch != 1 || got.Trace != r.Batch.Trace || got.Domestic != host.domestic || got.Foreign != host.foreign {
		t.Fatalf("0500 carried %+v", got)
	}
	if n, _ := j.Batch(); n != 2 {
		t.Fatalf("open batch %d, want 2", n)
	}
	// Figures: chip 123.45 + stripe 30.00 + contactless 20.00 + QR 45.00 +
	// cash 10.00 of sales; a 3.45 refund; an 8.00 void.
	if r.Batch.Totals.Sales != (journal.Sum{Count: 5, Amount: 22845}) || r.Batch.Totals.Refunds.Amount != 345 ||
		r.Batch.Totals.Voids != (journal.Sum{Count: 1, Amount: 800}) {
		t.Fatalf("totals %+v", r.Batch.Totals)
	}
	// Fees on each method's net: chip 0.60% of 120.00, contactless 0.60%
	// of 20.00, stripe 0.60% of 30.00, QR 0.38% of 45.00, cash none.
	wantFees := int64(72 + 12 + 18 + 17)
	if r.Fees != wantFees {
		t.Errorf("fees %d, want %d (%+v)", r.Fees, wantFees, r.Methods)
	}
	if len(r.Methods) != 5 {
		t.Errorf("%d methods on the report, want 5", len(r.Methods))
	}
	docs := pr.Documents()
	if len(docs) != 1 || docs[0].Name != "settlement-report" {
		t.Fatalf("printed %d documents", len(docs))
	}
	text := receipt.Text(docs[0], 32)
	for _, want := range []string{"000001", "228.45", "3.45", "8.00", "225.00", "1.19", "223.81", "对账平", "622202******0128"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	cb, err := j.LastClosedBatch()
	if err != nil || !cb.Printed || cb.Answer.DomesticCode != "1" || cb.Answer.SettleDate != "1122" {
		t.Fatalf("closed batch %+v %v", cb, err)
	}
	// Nothing left to resume.
	if _, resumed, err := s.Resume(context.Background()); err != nil || resumed {
		t.Fatalf("Resume after a complete settlement: %v %v", resumed, err)
	}
}

func TestUnbalancedSettlementUploads(t *testing.T) {
	for _, perItem := range []bool{false, true} {
		t.Run(fmt.Sprintf("per-item=%v", perItem), func(t *testing.T) {
			j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
			defer j.Close()
			fh := newFakeHost()
			var host Host = fh
			if perItem {
				host = itemHost{fh}
			}
			dom, fgn, want := record(t, j, day)
			fh.domestic = dom
			fh.domestic.DebitAmount += 100 // the host counts a sale the terminal lost
			fh.domestic.DebitCount++
			fh.foreign = fgn
			pr := fake.NewPrinter()
			r, err := New(testConfig(), j, host, pr).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r.Batch.Balanced || r.Batch.Uploaded != len(want) || r.Batch.Answer.DomesticCode != "2" {
				t.Fatalf("closed batch %+v", r.Batch)
			}
			var got []uint32
			for _, it := range fh.items {
				got = append(got, it.Trace)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("uploaded traces %v, want %v", got, want)
			}
			for _, it := range fh.items {
				if it.Batch != 1 || it.Kind == 0 || it.Amount == 0 || it.OrigRRN == "" {
					t.Errorf("upload item %+v", it)
				}
				if it.Kind != acquirer.KindQRSale && it.PAN.IsZero() {
					t.Errorf("card item %06d without its PAN", it.Trace)
				}
			}
			if len(fh.ends) != 1 || fh.ends[0] != fmt.Sprintf("batch 1 count %d", len(want)) {
				t.Fatalf("upload ends %v", fh.ends)
			}
			if !strings.Contains(receipt.Text(pr.Documents()[0], 32), "对账不平") {
				t.Errorf("report does not say unbalanced")
			}
		})
	}
}

func TestUnresolvedTransactionsBlockSettlement(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	record(t, j, []txn{{journal.Sale, journal.Chip, journal.ReversalPending, 100, cupPAN}})
	host := newFakeHost()
	_, err := New(testConfig(), j, host, fake.NewPrinter()).Run(context.Background())
	if !errors.Is(err, journal.ErrUnresolved) {
		t.Fatalf("Run = %v, want journal.ErrUnresolved", err)
	}
	if len(host.settles) != 0 {
		t.Fatalf("a settlement went out with a reversal queued")
	}
	if on, _ := j.Settling(); on {
		t.Fatalf("a refused settlement left progress behind")
	}
}

func TestHostUnreachableKeepsProgress(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	host := newFakeHost()
	host.domestic, host.foreign, _ = record(t, j, day)
	host.failNext = fmt.Errorf("%w: dial: link down", acquirer.ErrNotSent)
	s := New(testConfig(), j, host, fake.NewPrinter())
	if _, err := s.Run(context.Background()); !errors.Is(err, acquirer.ErrNotSent) {
		t.Fatalf("Run = %v, want ErrNotSent", err)
	}
	step, on, err := s.InProgress()
	if err != nil || !on || step != journal.StepStarted {
		t.Fatalf("in progress %v %v %v", step, on, err)
	}
	first, _ := j.Settlement()
	r, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r.Batch.Trace != first.Trace || r.Batch.Attempts != 2 || len(host.settles) != 1 {
		t.Fatalf("second attempt: trace %d (first %d), attempts %d, host saw %d", r.Batch.Trace, first.Trace,
			r.Batch.Attempts, len(host.settles))
	}
}

func TestPaperOutThenResumeAndReprint(t *testing.T) {
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	host := newFakeHost()
	host.domestic, host.foreign, _ = record(t, j, day)
	pr := fake.NewPrinter()
	pr.SetStatus(hal.PrinterStatus{PaperOut: true})
	s := New(testConfig(), j, host, pr)
	if _, err := s.Reprint(context.Background()); !errors.Is(err, ErrNothingToReprint) {
		t.Fatalf("Reprint before any settlement: %v", err)
	}
	r, err := s.Run(context.Background())
	if !errors.Is(err, ErrNotPrinted) || !errors.Is(err, hal.ErrPaperOut) {
		t.Fatalf("Run with paper out = %v, want ErrNotPrinted wrapping hal.ErrPaperOut", err)
	}
	if r.Printed || r.Batch.Batch != 1 {
		t.Fatalf("report %+v", r)
	}
	if n, _ := j.Batch(); n != 2 {
		t.Fatalf("batch not closed for lack of paper: open batch %d", n)
	}
	pr.SetStatus(hal.PrinterStatus{})
	r, resumed, err := s.Resume(context.Background())
	if err != nil || !resumed || !r.Printed || !r.Resumed {
		t.Fatalf("Resume = %+v %v %v", r, resumed, err)
	}
	if _, resumed, _ := s.Resume(context.Background()); resumed {
		t.Fatalf("the report was printed twice at boot")
	}
	r, err = s.Reprint(context.Background())
	if err != nil || !r.Printed {
		t.Fatalf("Reprint = %v", err)
	}
	docs := pr.Documents()
	if len(docs) != 2 || !strings.Contains(receipt.Text(docs[1], 32), "重打印 REPRINT") ||
		strings.Contains(receipt.Text(docs[0], 32), "REPRINT") {
		t.Fatalf("printed %d documents; the second must be marked as a reprint", len(docs))
	}
	if cb, _ := j.ClosedBatch(1); cb.Reprints != 1 {
		t.Fatalf("reprints %d", cb.Reprints)
	}
	if _, err := s.ReprintBatch(context.Background(), 9); !errors.Is(err, journal.ErrNoBatch) {
		t.Fatalf("ReprintBatch of an unknown batch: %v", err)
	}
	last, err := s.LastReport()
	if err != nil || last.Batch.Batch != 1 || len(last.Document.Lines) == 0 {
		t.Fatalf("LastReport = %+v %v", last.Batch, err)
	}
}

// points lists the named points a settlement passes, in order, by running it
// once without interruption.
func points(t *testing.T, host func() (Host, *fakeHost), txns []txn, skew bool) []string {
	t.Helper()
	j := openJournal(t, filepath.Join(t.TempDir(), "j.db"))
	defer j.Close()
	h, fh := host()
	fh.domestic, fh.foreign, _ = record(t, j, txns)
	if skew {
		fh.foreign.DebitCount++
	}
	s := New(testConfig(), j, h, fake.NewPrinter())
	var seen []string
	s.point = func(name string) error { seen = append(seen, name); return nil }
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return seen
}

func TestPowerCutAtEachStepResumesOnce(t *testing.T) {
	hosts := map[string]func() (Host, *fakeHost){
		"whole-batch upload": func() (Host, *fakeHost) { h := newFakeHost(); return h, h },
		"per-item upload":    func() (Host, *fakeHost) { h := newFakeHost(); return itemHost{h}, h },
	}
	for hostName, mk := range hosts {
		for _, balanced := range []bool{true, false} {
			all := points(t, mk, day, !balanced)
			for _, cut := range all {
				name := fmt.Sprintf("%s/balanced=%v/cut after %s", hostName, balanced, cut)
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "j.db")
					j := openJournal(t, path)
					h, fh := mk()
					var want []uint32
					fh.domestic, fh.foreign, want = record(t, j, day)
					if !balanced {
						fh.foreign.DebitCount++
					}
					pr := fake.NewPrinter()
					s := New(testConfig(), j, h, pr)
					s.point = func(name string) error {
						if name == cut {
							return errPowerCut
						}
						return nil
					}
					if _, err := s.Run(context.Background()); !errors.Is(err, errPowerCut) {
						t.Fatalf("Run = %v, want the power cut", err)
					}
					j.Close()

					j = openJournal(t, path)
					defer j.Close()
					s = New(testConfig(), j, h, pr)
					r, resumed, err := s.Resume(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					if resumed != (cut != "printed") {
						t.Fatalf("resumed = %v", resumed)
					}
					wantSettles := 1
					if cut == "answered" {
						// The answer came but was not recorded: the 0500 goes
						// again with the same trace.
						wantSettles = 2
					}
					if len(fh.settles) != wantSettles {
						t.Fatalf("host saw %d settlements, want %d", len(fh.settles), wantSettles)
					}
					if wantSettles == 2 && fh.settles[0] != fh.settles[1] {
						t.Fatalf("the repeated 0500 differs: %+v %+v", fh.settles[0], fh.settles[1])
					}
					if balanced {
						if len(fh.items) != 0 || len(fh.ends) != 0 {
							t.Fatalf("a balanced batch was uploaded")
						}
					} else {
						for _, tr := range want {
							if fh.uploads[tr] != 1 {
								t.Errorf("trace %06d uploaded %d times", tr, fh.uploads[tr])
							}
						}
						if len(fh.items) != len(want) || len(fh.ends) != 1 {
							t.Errorf("%d items and %d ends uploaded, want %d and 1", len(fh.items), len(fh.ends), len(want))
						}
					}
					closed, err := j.ClosedBatches()
					if err != nil || len(closed) != 1 || !closed[0].Printed || closed[0].Balanced != balanced {
						t.Fatalf("closed batches %+v %v", closed, err)
					}
					if n, _ := j.Batch(); n != 2 {
						t.Fatalf("open batch %d, want 2", n)
					}
					if docs := pr.Documents(); len(docs) != 1 {
						t.Fatalf("%d reports printed, want 1", len(docs))
					}
					if resumed && (!r.Resumed || !r.Printed) {
						t.Fatalf("resumed report %+v", r)
					}
				})
			}
		}
	}
}
