package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"kpos/firmware/binding"
	"kpos/firmware/console/command"
	"kpos/firmware/console/service"
	"kpos/firmware/durable"
	"kpos/firmware/journal"
	"kpos/firmware/qr"
	"kpos/firmware/settle"
	"kpos/firmware/terminal/settlement"
	"kpos/hal"
)

// consoleServices answers the technician console from the running firmware.
// Every method reads the current instance, so it follows power cuts and
// restores.
type consoleServices struct {
	a       *app
	started time.Time
	logs    *logRing
	perf    *perfBook
}

func (a *app) consoleServices(logs *logRing, perf *perfBook) service.Services {
	s := &consoleServices{a: a, started: time.Now(), logs: logs, perf: perf}
	return service.Services{Status: s, Devices: s, Params: consoleParams{s}, Keys: s, Binding: s, Journal: s, Logs: logs, Perf: perf, Backup: s}
}

func (s *consoleServices) inst() (*instance, error) {
	inst := s.a.current()
	if inst == nil {
		return nil, fmt.Errorf("%w: the terminal is not running", service.ErrBusy)
	}
	return inst, nil
}

func (s *consoleServices) Status(ctx context.Context) (service.Status, error) {
	b := s.a.board
	st := service.Status{Version: version, Board: b.Name, Serial: b.Serial, Uptime: time.Since(s.started)}
	bi, _ := s.Binding(ctx)
	st.Binding = bi.State
	if inst, err := s.inst(); err == nil {
		batch, _ := inst.journal.Batch()
		st.Batch.Number = batch
		txns, _ := inst.journal.List(batch)
		st.Batch.Count = len(txns)
		un, _ := inst.journal.Unsettled()
		st.Batch.Unsettled = len(un)
		st.Batch.Totals = methodTotals(txns)
	}
	if ls, err := b.Link.Status(ctx); err == nil {
		st.Link = service.LinkInfo{Kind: "cellular", Up: ls.Up, Registered: ls.Registered, Signal: ls.Signal, Operator: ls.Operator, Detail: ls.Detail}
		if b.Sim != nil {
			st.Link.Kind = "sim"
		}
	}
	for _, l := range s.logs.errors(5) {
		st.LastErrors = append(st.LastErrors, service.ErrorEntry{Time: l.Time, Source: "firmware", Message: l.Message})
	}
	return st, nil
}

func methodTotals(txns []journal.Txn) []service.MethodTotal {
	byMethod := map[string]*service.MethodTotal{}
	for _, t := range txns {
		m := string(t.Method)
		mt := byMethod[m]
		if mt == nil {
			mt = &service.MethodTotal{Method: m}
			byMethod[m] = mt
		}
		switch {
		case t.State == journal.Voided:
			mt.VoidCount++
		case t.State != journal.Completed:
		case t.Kind == journal.Refund:
			mt.RefundCount++
			mt.RefundAmount += t.Amount
		default:
			mt.SaleCount++
			mt.SaleAmount += t.Amount
		}
	}
	var out []service.MethodTotal
	for _, mt := range byMethod {
		out = append(out, *mt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Method < out[j].Method })
	return out
}

// Device self-tests.

func (s *consoleServices) DetectCard(ctx context.Context) (service.CardDetect, error) {
	e, err := s.a.board.Reader.WaitEvent(ctx)
	if err != nil {
		return service.CardDetect{}, err
	}
	d := service.CardDetect{Event: e.Kind.String()}
	switch {
	case e.Card != nil:
		d.Interface, d.ATRLen = e.Card.Interface().String(), len(e.Card.ATR())
	case e.Kind == hal.CardSwiped:
		d.Interface = "stripe"
	}
	return d, nil
}

func (s *consoleServices) PrinterTestPage(ctx context.Context) error {
	doc := hal.Document{Name: "test-page", Lines: []hal.Line{
		{Text: "打印测试 PRINTER TEST", Align: hal.AlignCenter, Bold: true, Double: true},
		{Text: "kpos " + version + " / " + s.a.board.Name},
		{Text: time.Now().Format("2006-01-02 15:04:05")},
		{Text: "0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
		{Text: "中文测试 简体 GB18030"},
		{QR: "KPOS PRINTER TEST"},
		{Text: "", Feed: 3, Cut: true},
	}}
	return s.a.board.Printer.Print(ctx, doc)
}

func (s *consoleServices) PrinterStatus(ctx context.Context) (service.PrinterState, error) {
	st, err := s.a.board.Printer.Status(ctx)
	if err != nil {
		return service.PrinterState{}, err
	}
	return service.PrinterState{Ready: st.Ready(), PaperOut: st.PaperOut, PaperNearEnd: st.PaperNearEnd, CoverOpen: st.CoverOpen, Error: st.Detail}, nil
}

func (s *consoleServices) ScanOne(ctx context.Context) (service.ScanResult, error) {
	if s.a.board.Scanner == nil {
		return service.ScanResult{}, command.ErrNotAvailable
	}
	text, err := s.a.board.Scanner.Scan(ctx)
	if err != nil {
		return service.ScanResult{}, err
	}
	code, err := qr.Classify(text)
	if err != nil {
		// Not a payment code: show what was read, it is not sensitive.
		return service.ScanResult{Kind: "text", Text: text}, nil
	}
	return service.ScanResult{Kind: fmt.Sprint(code.Kind), Text: fmt.Sprint(code)}, nil
}

func (s *consoleServices) Modem(ctx context.Context) (service.ModemInfo, error) {
	ls, err := s.a.board.Link.Status(ctx)
	if err != nil {
		return service.ModemInfo{}, err
	}
	reg := "not registered"
	if ls.Registered {
		reg = "registered"
	}
	sim := "ready"
	if !ls.Up && !ls.Registered {
		sim = "unknown"
	}
	return service.ModemInfo{SIM: sim, Signal: ls.Signal, Registration: reg, Operator: ls.Operator}, nil
}

// ModemAT reaches the board's modem (the simulated board's emulator, or
// the real module) through its pass-through; the driver refuses what could
// disturb the data link.
func (s *consoleServices) ModemAT(ctx context.Context, cmd string) ([]string, error) {
	if s.a.board.Modem == nil {
		return nil, command.ErrNotAvailable
	}
	return s.a.board.Modem.AT(ctx, cmd)
}

func (s *consoleServices) KeypadTest(ctx context.Context) ([]string, error) {
	if s.a.current() != nil {
		// The counter reads the keypad; a test would steal the merchant's keys.
		return nil, fmt.Errorf("%w: the keypad belongs to the counter while the terminal runs", service.ErrBusy)
	}
	var keys []string
	for {
		k, err := s.a.board.Keypad.Key(ctx)
		if err != nil {
			return keys, nil
		}
		keys = append(keys, k.String())
		if k == hal.KeyCancel {
			return keys, nil
		}
	}
}

func (s *consoleServices) DisplayTest(ctx context.Context) error {
	return s.a.board.Display.Show(ctx, hal.Screen{ID: "display-test", Title: "显示测试 DISPLAY TEST",
		Lines: []string{"0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "中文测试 简体"}, QR: "KPOS DISPLAY TEST"})
}

func (s *consoleServices) IndicatorTest(ctx context.Context) error {
	for _, sig := range []hal.Signal{hal.SignalApproved, hal.SignalDeclined, hal.SignalAttention, hal.SignalIdle} {
		if err := s.a.board.Indicator.Signal(ctx, sig); err != nil {
			return err
		}
	}
	return s.a.board.Indicator.Beep(ctx, 150*time.Millisecond)
}

// Keys and binding.

func (s *consoleServices) Keys(ctx context.Context) ([]service.KeyInfo, error) {
	inst, err := s.inst()
	if err != nil {
		return nil, err
	}
	var out []service.KeyInfo
	for _, k := range inst.keys.Status() {
		out = append(out, service.KeyInfo{Name: k.Name, Algorithm: string(k.Algorithm), KCV: k.KCV, Loaded: true, LoadedAt: k.Loaded})
	}
	return out, nil
}

func (s *consoleServices) Binding(ctx context.Context) (service.BindingInfo, error) {
	inst, err := s.inst()
	if err != nil {
		return service.BindingInfo{}, err
	}
	if inst.binder == nil {
		// No binding record: the board's provisioned identity, if any.
		id := s.a.board.Identity
		if id.TerminalID == "" {
			return service.BindingInfo{State: "unbound"}, nil
		}
		return service.BindingInfo{State: "bound", TID: id.TerminalID, MID: id.MerchantID, Merchant: id.MerchantName}, nil
	}
	r := inst.binder.Record()
	info := service.BindingInfo{State: string(r.State), TID: r.TID, MID: r.MID, Merchant: r.MerchantName, Bank: r.Bank,
		BoundAt: r.BoundAt, ExpiresAt: r.Expiry, LastCheck: r.StatusChecked}
	switch {
	case r.State == binding.StateBlank:
		info.State = "unbound"
	case r.Status != "" && r.Status != binding.StatusValid:
		info.State = string(r.Status)
	}
	if _, warn := inst.binder.Warning(); warn && info.State == "bound" {
		info.State = "expiring"
	}
	if r.Account != nil {
		info.SettlementAccount = r.Account.PANMasked
	}
	return info, nil
}

// Journal.

func entry(t journal.Txn) service.JournalEntry {
	return service.JournalEntry{Trace: t.Trace, Batch: t.Batch, Time: t.Created, Kind: string(t.Kind), Method: string(t.Method),
		Amount: t.Amount, Currency: "CNY", MaskedPAN: t.MaskedPAN, State: string(t.State), Response: t.ResponseCode,
		AuthCode: t.AuthCode, RRN: t.RRN, AID: t.AID, AppLabel: t.AppLabel}
}

func (s *consoleServices) List(ctx context.Context, n int) ([]service.JournalEntry, error) {
	inst, err := s.inst()
	if err != nil {
		return nil, err
	}
	return journalList(inst.journal, n)
}

func (s *consoleServices) Show(ctx context.Context, trace uint32) (service.JournalEntry, error) {
	inst, err := s.inst()
	if err != nil {
		return service.JournalEntry{}, err
	}
	return journalShow(inst.journal, trace)
}

// journalList is `journal list`: the newest n transactions of the open
// batch, as docs/console.md says (settled batches are in their reports).
func journalList(j *journal.Journal, n int) ([]service.JournalEntry, error) {
	open, err := j.Batch()
	if err != nil {
		return nil, err
	}
	txns, err := j.List(open)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(txns) > n {
		txns = txns[len(txns)-n:]
	}
	out := make([]service.JournalEntry, 0, len(txns))
	for _, t := range txns {
		out = append(out, entry(t))
	}
	return out, nil
}

// journalShow is `journal show TRACE`, with whether its batch is settled.
func journalShow(j *journal.Journal, trace uint32) (service.JournalEntry, error) {
	t, err := j.Get(trace)
	if errors.Is(err, journal.ErrNotFound) {
		return service.JournalEntry{}, fmt.Errorf("%w: trace %06d", service.ErrNotFound, trace)
	}
	if err != nil {
		return service.JournalEntry{}, err
	}
	e := entry(t)
	open, err := j.Batch()
	if err != nil {
		return service.JournalEntry{}, err
	}
	// Settled: its batch is not the open one and was closed by a
	// settlement. (Batch numbers wrap, so the number alone does not say.)
	if t.Batch != open {
		if _, err := j.ClosedBatch(t.Batch); err == nil {
			e.Settled = true
		} else if !errors.Is(err, journal.ErrNoBatch) {
			return service.JournalEntry{}, err
		}
	}
	return e, nil
}

func (s *consoleServices) Reprint(ctx context.Context, trace uint32) error {
	inst, err := s.inst()
	if err != nil {
		return err
	}
	err = inst.term.PrintReceipt(ctx, trace)
	if errors.Is(err, journal.ErrNotFound) {
		return fmt.Errorf("%w: trace %06d", service.ErrNotFound, trace)
	}
	return err
}

func (s *consoleServices) ReprintLast(ctx context.Context) (uint32, error) {
	inst, err := s.inst()
	if err != nil {
		return 0, err
	}
	txns, err := inst.journal.List(0)
	if err != nil {
		return 0, err
	}
	for i := len(txns) - 1; i >= 0; i-- {
		if txns[i].State == journal.Completed {
			return txns[i].Trace, s.Reprint(ctx, txns[i].Trace)
		}
	}
	return 0, fmt.Errorf("%w: no completed transaction", service.ErrNotFound)
}

func (s *consoleServices) Settle(ctx context.Context) (service.SettleResult, error) {
	inst, err := s.inst()
	if err != nil {
		return service.SettleResult{}, err
	}
	r, err := inst.term.SettleNow(ctx)
	if err != nil && !errors.Is(err, settle.ErrNotPrinted) {
		if errors.Is(err, settlement.ErrCannotSettle) {
			return service.SettleResult{}, fmt.Errorf("%w: %v", command.ErrNotAvailable, err)
		}
		return service.SettleResult{}, err
	}
	b := r.Batch
	return service.SettleResult{Batch: b.Batch, Balanced: b.Balanced, Count: b.Totals.Sales.Count + b.Totals.Refunds.Count,
		Amount: b.Totals.Net(), Uploaded: b.Uploaded, NewBatch: b.NextBatch}, err
}

// Backup and restore: a tar of the journal snapshot.

func (s *consoleServices) Export(ctx context.Context, w io.Writer) error {
	inst, err := s.inst()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.a.board.DataDir, ".backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := inst.journal.Snapshot(tmp)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	tw := tar.NewWriter(w)
	if err := tw.WriteHeader(&tar.Header{Name: "journal.db", Mode: 0o600, Size: n, ModTime: time.Now()}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, tmp); err != nil {
		return err
	}
	return tw.Close()
}

// Import restores a journal backup. It is refused when the running journal
// holds unsettled transactions or queued reversals that the backup lacks or
// holds in an earlier state: restoring must never lose money.
func (s *consoleServices) Import(ctx context.Context, r io.Reader) error {
	inst, err := s.inst()
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != "journal.db" {
		return fmt.Errorf("%w: not a kpos journal backup", service.ErrInvalid)
	}
	dir := s.a.board.DataDir
	tmp := filepath.Join(dir, ".restore.db")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if _, err := io.Copy(f, io.LimitReader(tr, 512<<20)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	f.Close()
	backup, err := journal.Open(tmp, s.a.board.SubKey("journal"), journal.Options{})
	if err != nil {
		return fmt.Errorf("%w: the backup does not open: %v", service.ErrInvalid, err)
	}
	lost, err := lostBy(inst.journal, backup)
	backup.Close()
	if err != nil {
		return err
	}
	if lost > 0 {
		return fmt.Errorf("%w: %d transactions of the open batch are missing or older in the backup", service.ErrWouldLoseUnsettled, lost)
	}
	// Swap files with the firmware stopped, as a power cycle would.
	s.a.stop(inst)
	if err := os.Rename(tmp, filepath.Join(dir, "journal.db")); err != nil {
		return errors.Join(err, s.restart(ctx))
	}
	// The restore is done only once its name is durable: without this a
	// power cut could bring the replaced journal back after "restored".
	if err := durable.SyncDir(dir); err != nil {
		return errors.Join(err, s.restart(ctx))
	}
	return s.restart(ctx)
}

func (s *consoleServices) restart(ctx context.Context) error {
	_, err := s.a.start(context.WithoutCancel(ctx))
	return err
}

// lostBy counts the current journal's unsettled transactions that the
// backup does not hold in the same state.
func lostBy(current, backup *journal.Journal) (int, error) {
	un, err := current.Unsettled()
	if err != nil {
		return 0, err
	}
	lost := 0
	for _, t := range un {
		b, err := backup.Get(t.Trace)
		if err != nil || b.State != t.State || b.Amount != t.Amount {
			lost++
		}
	}
	return lost, nil
}

// perfBook keeps response times per host and device for the console.
type perfBook struct {
	mu    sync.Mutex
	stats map[string]*perfSeries
}

type perfSeries struct {
	samples []time.Duration // the last 1024
	count   int
	errors  int
}

func newPerfBook() *perfBook { return &perfBook{stats: map[string]*perfSeries{}} }

func (p *perfBook) add(target string, d time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats[target]
	if s == nil {
		s = &perfSeries{}
		p.stats[target] = s
	}
	s.count++
	if err != nil {
		s.errors++
	}
	s.samples = append(s.samples, d)
	if len(s.samples) > 1024 {
		s.samples = s.samples[len(s.samples)-1024:]
	}
}

// Perf returns the statistics, targets in name order.
func (p *perfBook) Perf(ctx context.Context) ([]service.PerfStat, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []service.PerfStat
	for name, s := range p.stats {
		sorted := append([]time.Duration(nil), s.samples...)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
		st := service.PerfStat{Target: name, Count: s.count, Errors: s.errors}
		if n := len(sorted); n > 0 {
			st.P50, st.P95, st.Max = sorted[n/2], sorted[min(n-1, n*95/100)], sorted[n-1]
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Target < out[j].Target })
	return out, nil
}
