package settle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/txkind"
	"kpos/hal"
)

// Host is the acquirer as settlement needs it: the totals exchange (0500)
// and the batch upload (0320 items, then the end of the upload).
// *acquirer.Client satisfies it.
type Host interface {
	Settle(ctx context.Context, s acquirer.Settlement) (acquirer.SettleResult, error)
	UploadBatch(ctx context.Context, items []acquirer.Request) error
}

// ItemUploader is a Host that can also upload one transaction at a time and
// send the end of the upload by itself. When the Host offers it, the
// journal records every acknowledged item, and an upload cut by a power loss
// resumes at the first item not acknowledged; otherwise the whole upload is
// one step and is sent again after a cut (the host files a repeated item
// once).
type ItemUploader interface {
	UploadItem(ctx context.Context, item acquirer.Request) error
	UploadEnd(ctx context.Context, trace, batch uint32, count int) error
}

var _ Host = (*acquirer.Client)(nil)

// Errors callers branch on. A settlement refused because transactions are
// unresolved wraps journal.ErrUnresolved: send the queued reversals first.
var (
	// ErrNotPrinted: the batch is closed but its report did not come out
	// of the printer (paper out, cover open); Reprint prints it.
	ErrNotPrinted = errors.New("settle: batch closed, report not printed")
	// ErrNothingToReprint: no batch was ever closed.
	ErrNothingToReprint = errors.New("settle: no settlement to reprint")
)

// Config is what a settlement needs to know beyond the journal and host.
type Config struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	// Account is the merchant's settlement account as stored (masked); the
	// report stars the middle digits again should it hold a full number.
	Account string
	// Currency is the report's currency code ("CNY" when empty).
	Currency string
	// Width is the printer's width in columns, 32 or 48 (32 when zero).
	Width int
	// Fees returns the merchant's fee in minor units for a net amount paid
	// by method ("chip", "contactless", "stripe", "qr", "cash"), from the
	// binding parameters; nil means no fees.
	Fees func(method string, amount int64) int64
	// Logger receives one line per step, without card data (discarded when nil).
	Logger *slog.Logger
}

// Settler runs settlements of one journal's batches with one host. It runs
// one settlement at a time.
type Settler struct {
	cfg     Config
	j       *journal.Journal
	host    Host
	printer hal.Printer
	log     *slog.Logger

	mu sync.Mutex
	// point, in tests, is called at each named point of a settlement; an
	// error stops the settlement there as a power cut would.
	point func(name string) error
}

// New returns a settler. printer may be nil on a terminal without one: the
// batch still closes and ErrNotPrinted says the report was not printed.
func New(cfg Config, j *journal.Journal, host Host, printer hal.Printer) *Settler {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Settler{cfg: cfg, j: j, host: host, printer: printer, log: log}
}

// at passes a named point of the settlement.
func (s *Settler) at(name string) error {
	if s.point == nil {
		return nil
	}
	return s.point(name)
}

// Run settles the open batch: it freezes the totals, sends them to the host
// and, balanced, closes the batch; unbalanced, it uploads every transaction
// of the batch, then the end of the upload, and closes it. Then it prints the
// report. A settlement already in progress (interrupted earlier) is
// continued instead of starting a new one. When the host cannot be reached
// the progress stays in the journal and Run (or Resume) continues later.
func (s *Settler) Run(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.j.Settlement()
	switch {
	case err == nil:
		s.log.Info("settlement continues", "batch", st.Batch, "step", st.Step)
	case errors.Is(err, journal.ErrNoSettlement):
		// The host must have booked every offline approval first.
		if err := s.sendAdvices(ctx); err != nil {
			return Report{}, err
		}
		if st, err = s.begin(); err != nil {
			return Report{}, err
		}
	default:
		return Report{}, fmt.Errorf("settle: %w", err)
	}
	return s.drive(ctx, st)
}

// Resume runs at boot, after the queued reversals are sent and before any
// new transaction: it continues a settlement a power cut interrupted and
// prints a closed batch's report that never came out. It reports whether
// there was anything to resume.
func (s *Settler) Resume(ctx context.Context) (Report, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.j.Settlement()
	if err == nil {
		s.log.Info("settlement resumes", "batch", st.Batch, "step", st.Step, "uploaded", st.Uploaded)
		r, err := s.drive(ctx, st)
		r.Resumed = true
		return r, true, err
	}
	if !errors.Is(err, journal.ErrNoSettlement) {
		return Report{}, false, fmt.Errorf("settle: %w", err)
	}
	cb, err := s.j.LastClosedBatch()
	if errors.Is(err, journal.ErrNoBatch) {
		return Report{}, false, nil
	}
	if err != nil {
		return Report{}, false, fmt.Errorf("settle: %w", err)
	}
	if cb.Printed {
		return Report{}, false, nil
	}
	r, err := s.printReport(ctx, cb, false)
	r.Resumed = true
	return r, true, err
}

// InProgress reports whether a settlement is in progress (and at which
// step). While it is, no transaction may join the batch.
func (s *Settler) InProgress() (journal.SettleStep, bool, error) {
	st, err := s.j.Settlement()
	if errors.Is(err, journal.ErrNoSettlement) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("settle: %w", err)
	}
	return st.Step, true, nil
}

// begin freezes the open batch.
func (s *Settler) begin() (journal.Settlement, error) {
	st, err := s.j.BeginSettlement()
	if err != nil {
		return journal.Settlement{}, fmt.Errorf("settle: %w", err)
	}
	s.log.Info("settlement started", "batch", st.Batch, "trace", st.Trace, "sales", st.Totals.Sales.Count,
		"refunds", st.Totals.Refunds.Count, "voids", st.Totals.Voids.Count, "uploadable", st.UploadTotal)
	return st, s.at("started")
}

func family(f journal.Family) acquirer.Totals {
	return acquirer.Totals{DebitAmount: f.Debit.Amount, DebitCount: f.Debit.Count,
		CreditAmount: f.Credit.Amount, CreditCount: f.Credit.Count}
}

// drive takes a settlement from its recorded step to the end.
func (s *Settler) drive(ctx context.Context, st journal.Settlement) (Report, error) {
	for {
		switch st.Step {
		case journal.StepStarted:
			if err := s.sendTotals(ctx, &st); err != nil {
				return Report{}, err
			}
		case journal.StepTotalsSent, journal.StepUploading:
			if st.Balanced {
				return s.close(ctx, st)
			}
			if err := s.upload(ctx, &st); err != nil {
				return Report{}, err
			}
		case journal.StepUploadEnd:
			return s.close(ctx, st)
		default:
			return Report{}, fmt.Errorf("settle: batch %06d: unknown step %q", st.Batch, st.Step)
		}
	}
}

// sendTotals runs the 0500 exchange and records the host's answer. The
// request keeps its trace number across attempts and power cuts.
func (s *Settler) sendTotals(ctx context.Context, st *journal.Settlement) error {
	st.Attempts++
	if err := s.j.SaveSettlement(*st); err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	res, err := s.host.Settle(ctx, acquirer.Settlement{Trace: st.Trace, Batch: st.Batch,
		Domestic: family(st.Totals.Domestic), Foreign: family(st.Totals.Foreign)})
	if err != nil {
		s.log.Warn("settlement totals not answered", "batch", st.Batch, "attempt", st.Attempts, "err", err)
		return fmt.Errorf("settle: batch %06d: totals: %w", st.Batch, err)
	}
	if err := s.at("answered"); err != nil {
		return err
	}
	st.Step, st.Balanced = journal.StepTotalsSent, res.Balanced
	st.Answer = journal.HostAnswer{Code: res.Response.Code, DomesticCode: res.DomesticRecon,
		ForeignCode: res.ForeignRecon, SettleDate: res.SettleDate}
	if err := s.j.SaveSettlement(*st); err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	s.log.Info("settlement answered", "batch", st.Batch, "balanced", st.Balanced,
		"domestic", res.DomesticRecon, "foreign", res.ForeignRecon)
	return s.at("totals-sent")
}

// upload sends the batch after an unbalanced answer and records its end.
func (s *Settler) upload(ctx context.Context, st *journal.Settlement) error {
	traces, err := s.j.UploadList()
	if err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	if iu, ok := s.host.(ItemUploader); ok {
		for k := st.Uploaded; k < len(traces); k++ {
			item, err := s.item(traces[k])
			if err != nil {
				return err
			}
			if err := iu.UploadItem(ctx, item); err != nil {
				return fmt.Errorf("settle: batch %06d: upload item %d of %d: %w", st.Batch, k+1, len(traces), err)
			}
			st.Step, st.Uploaded = journal.StepUploading, k+1
			if err := s.j.SaveSettlement(*st); err != nil {
				return fmt.Errorf("settle: %w", err)
			}
			if err := s.at(fmt.Sprintf("uploaded %d", k+1)); err != nil {
				return err
			}
		}
		if st.EndTrace == 0 {
			if st.EndTrace, err = s.j.NextTrace(); err != nil {
				return fmt.Errorf("settle: %w", err)
			}
			st.Step = journal.StepUploading
			if err := s.j.SaveSettlement(*st); err != nil {
				return fmt.Errorf("settle: %w", err)
			}
		}
		if err := iu.UploadEnd(ctx, st.EndTrace, st.Batch, len(traces)); err != nil {
			return fmt.Errorf("settle: batch %06d: upload end: %w", st.Batch, err)
		}
	} else if len(traces) > 0 {
		items := make([]acquirer.Request, 0, len(traces))
		for _, tr := range traces {
			item, err := s.item(tr)
			if err != nil {
				return err
			}
			items = append(items, item)
		}
		if err := s.host.UploadBatch(ctx, items); err != nil {
			return fmt.Errorf("settle: batch %06d: upload of %d transactions: %w", st.Batch, len(items), err)
		}
		st.Uploaded = len(traces)
	}
	st.Step = journal.StepUploadEnd
	if err := s.j.SaveSettlement(*st); err != nil {
		return fmt.Errorf("settle: %w", err)
	}
	s.log.Info("batch uploaded", "batch", st.Batch, "transactions", len(traces))
	return s.at("upload-end")
}

// item maps one journaled transaction to its upload message.
func (s *Settler) item(trace uint32) (acquirer.Request, error) {
	t, err := s.j.Get(trace)
	if err != nil {
		return acquirer.Request{}, fmt.Errorf("settle: upload: %w", err)
	}
	return uploadRequest(t)
}

var entries = map[journal.Method]acquirer.EntryMode{
	journal.Chip: acquirer.EntryChip, journal.Contactless: acquirer.EntryContactless,
	journal.Stripe: acquirer.EntryStripe, journal.QR: acquirer.EntryQR,
}

func uploadRequest(t journal.Txn) (acquirer.Request, error) {
	req := acquirer.Request{Trace: t.Trace, Batch: t.Batch, Amount: t.Amount, Currency: t.Currency,
		Expiry: t.Secret.Expiry, PANSeq: t.Secret.PANSeq, ICCData: t.Secret.ICCData,
		Entry: acquirer.EntryMode(t.Entry), OrigTrace: t.OrigTrace, OrigRRN: t.RRN, OrigAuth: t.AuthCode,
		Time: t.HostTime}
	if req.Time.IsZero() {
		req.Time = t.Created
	}
	if req.Entry == 0 {
		req.Entry = entries[t.Method]
	}
	// What the books count and went to the host is uploaded, as the kind
	// it was sent as (firmware/txkind).
	k := txkind.Journaled(string(t.Kind), string(t.Method))
	hk, sent := acquirer.KindOf(k)
	if k == nil || k.Books == txkind.Nothing || !sent {
		return acquirer.Request{}, fmt.Errorf("settle: upload: trace %06d: a %s is not uploaded", t.Trace, t.Kind)
	}
	req.Kind = hk
	if t.Secret.PAN != "" {
		pan, err := hal.ParsePAN(t.Secret.PAN)
		if err != nil {
			return acquirer.Request{}, fmt.Errorf("settle: upload: trace %06d: %w", t.Trace, err)
		}
		req.PAN = pan
	}
	return req, nil
}

// close closes the batch and prints its report.
func (s *Settler) close(ctx context.Context, st journal.Settlement) (Report, error) {
	cb, err := s.j.CloseBatch(st)
	if err != nil {
		return Report{}, fmt.Errorf("settle: %w", err)
	}
	s.log.Info("batch closed", "batch", cb.Batch, "balanced", cb.Balanced, "uploaded", cb.Uploaded, "next", cb.NextBatch)
	if err := s.at("closed"); err != nil {
		return s.report(cb, false), err
	}
	s.signOff(ctx, cb)
	return s.printReport(ctx, cb, false)
}

// printReport prints cb's report and records that it was printed.
func (s *Settler) printReport(ctx context.Context, cb journal.ClosedBatch, reprint bool) (Report, error) {
	r := s.report(cb, reprint)
	if s.printer == nil {
		return r, fmt.Errorf("%w: batch %06d: no printer", ErrNotPrinted, cb.Batch)
	}
	if err := s.printer.Print(ctx, r.Document); err != nil {
		s.log.Warn("settlement report not printed", "batch", cb.Batch, "err", err)
		return r, fmt.Errorf("%w: batch %06d: %w", ErrNotPrinted, cb.Batch, err)
	}
	if err := s.j.MarkBatchPrinted(cb.Batch, reprint); err != nil {
		return r, fmt.Errorf("settle: %w", err)
	}
	r.Printed = true
	r.Batch.Printed = true
	return r, s.at("printed")
}

// Reprint prints the last settlement report again, marked as a reprint.
func (s *Settler) Reprint(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, err := s.j.LastClosedBatch()
	if errors.Is(err, journal.ErrNoBatch) {
		return Report{}, ErrNothingToReprint
	}
	if err != nil {
		return Report{}, fmt.Errorf("settle: %w", err)
	}
	return s.printReport(ctx, cb, true)
}

// ReprintBatch prints the report of closed batch n again.
func (s *Settler) ReprintBatch(ctx context.Context, n uint32) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cb, err := s.j.ClosedBatch(n)
	if err != nil {
		return Report{}, fmt.Errorf("settle: %w", err)
	}
	return s.printReport(ctx, cb, true)
}

// LastReport returns the last settlement's report without printing it (to
// show on the display or the console).
func (s *Settler) LastReport() (Report, error) {
	cb, err := s.j.LastClosedBatch()
	if errors.Is(err, journal.ErrNoBatch) {
		return Report{}, ErrNothingToReprint
	}
	if err != nil {
		return Report{}, fmt.Errorf("settle: %w", err)
	}
	return s.report(cb, false), nil
}
