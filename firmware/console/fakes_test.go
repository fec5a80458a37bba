package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kpos/firmware/console/service"
	"kpos/hal"
)

// The fakes behind service.Services in the tests. They hold what a real terminal
// holds (clear PANs inside, key material inside) so that the tests can show
// none of it reaches the console.

var t0 = time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fakeStatus struct{ j *fakeJournal }

func (f fakeStatus) Status(ctx context.Context) (service.Status, error) {
	st := service.Status{Version: "1.0.0", Board: "sim", Serial: "KPOS-SIM-0001", Uptime: 2*time.Hour + 14*time.Minute, Binding: "bound",
		Link:       service.LinkInfo{Kind: "cellular", Up: true, Registered: true, Signal: 23, Operator: "China Mobile"},
		LastErrors: []service.ErrorEntry{{Time: t0.Add(-40 * time.Minute), Source: "printer", Message: "paper near end"}}}
	st.Batch = f.j.summary()
	return st, nil
}

type fakeEntry struct {
	service.JournalEntry
	pan hal.PAN
}

type fakeJournal struct {
	mu        sync.Mutex
	batch     uint32
	entries   []fakeEntry
	reprinted []uint32
}

func newFakeJournal() *fakeJournal {
	j := &fakeJournal{batch: 1}
	add := func(trace uint32, min int, kind, method string, amount int64, pan, state, auth, rrn string) {
		e := fakeEntry{JournalEntry: service.JournalEntry{Trace: trace, Batch: 1, Time: t0.Add(time.Duration(min) * time.Minute), Kind: kind, Method: method,
			Amount: amount, Currency: "CNY", State: state, AuthCode: auth, RRN: rrn}}
		if pan != "" {
			e.pan = hal.MustPAN(pan)
			e.AID, e.AppLabel = "A000000333010101", "UnionPay Debit"
		}
		if state == "approved" {
			e.Response = "00"
		}
		j.entries = append(j.entries, e)
	}
	add(1, -90, "sale", "chip", 12800, "6222021234567890128", "approved", "A1B2C3", "633012000001")
	add(2, -75, "sale", "contactless", 3550, "6250998765432109871", "approved", "0F9E8D", "633012000002")
	add(3, -60, "sale", "cash", 2000, "", "approved", "", "")
	add(4, -20, "sale", "chip", 9951, "6222021234567890128", "declined", "", "633012000004")
	return j
}

func (j *fakeJournal) view(e fakeEntry) service.JournalEntry {
	v := e.JournalEntry
	v.MaskedPAN = e.pan.Masked()
	return v
}

func (j *fakeJournal) summary() service.BatchSummary {
	j.mu.Lock()
	defer j.mu.Unlock()
	b := service.BatchSummary{Number: j.batch}
	tot := map[string]*service.MethodTotal{}
	for _, e := range j.entries {
		if e.Batch != j.batch {
			continue
		}
		b.Count++
		if !e.Settled {
			b.Unsettled++
		}
		m := "card"
		if e.Method == "cash" || e.Method == "qr" {
			m = e.Method
		}
		if tot[m] == nil {
			tot[m] = &service.MethodTotal{Method: m}
		}
		if e.State == "approved" && e.Kind == "sale" {
			tot[m].SaleCount++
			tot[m].SaleAmount += e.Amount
		}
	}
	for _, k := range []string{"card", "qr", "cash"} {
		if t := tot[k]; t != nil {
			b.Totals = append(b.Totals, *t)
		}
	}
	return b
}

func (j *fakeJournal) List(ctx context.Context, n int) ([]service.JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []service.JournalEntry
	for i := len(j.entries) - 1; i >= 0 && len(out) < n; i-- {
		if j.entries[i].Batch == j.batch {
			out = append(out, j.view(j.entries[i]))
		}
	}
	return out, nil
}

func (j *fakeJournal) Show(ctx context.Context, trace uint32) (service.JournalEntry, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range j.entries {
		if e.Trace == trace {
			return j.view(e), nil
		}
	}
	return service.JournalEntry{}, fmt.Errorf("journal: trace %d: %w", trace, service.ErrNotFound)
}

func (j *fakeJournal) Reprint(ctx context.Context, trace uint32) error {
	if _, err := j.Show(ctx, trace); err != nil {
		return err
	}
	j.mu.Lock()
	j.reprinted = append(j.reprinted, trace)
	j.mu.Unlock()
	return nil
}

func (j *fakeJournal) ReprintLast(ctx context.Context) (uint32, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.entries) == 0 {
		return 0, service.ErrNotFound
	}
	tr := j.entries[len(j.entries)-1].Trace
	j.reprinted = append(j.reprinted, tr)
	return tr, nil
}

func (j *fakeJournal) Settle(ctx context.Context) (service.SettleResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := service.SettleResult{Batch: j.batch, Balanced: true}
	for i := range j.entries {
		e := &j.entries[i]
		if e.Batch == j.batch && !e.Settled {
			e.Settled = true
			r.Count++
			if e.State == "approved" {
				r.Amount += e.Amount
			}
		}
	}
	j.batch++
	r.NewBatch = j.batch
	return r, nil
}

// addSale appends an unsettled sale (to make a restore lose something).
func (j *fakeJournal) addSale(amount int64) {
	j.mu.Lock()
	defer j.mu.Unlock()
	tr := j.entries[len(j.entries)-1].Trace + 1
	j.entries = append(j.entries, fakeEntry{JournalEntry: service.JournalEntry{Trace: tr, Batch: j.batch, Time: t0, Kind: "sale", Method: "qr",
		Amount: amount, Currency: "CNY", State: "approved", Response: "00", AuthCode: "QR0001"}})
}

type fakeParams struct {
	mu     sync.Mutex
	values map[string]string
	defs   map[string]service.Param
}

func newFakeParams() *fakeParams {
	p := &fakeParams{values: map[string]string{}, defs: map[string]service.Param{}}
	for _, d := range []service.Param{
		{Name: "host.address", Value: "10.0.0.8", Description: "acquirer host address"},
		{Name: "host.port", Value: "5000", Description: "acquirer host TCP port"},
		{Name: "host.timeout", Value: "30s", Description: "answer timeout per request"},
		{Name: "apn", Value: "cmnet", Description: "cellular access point name"},
		{Name: "apn.password", Value: "s3cr3t-apn", Description: "APN password", Sensitive: true},
		{Name: "settle.time", Value: "23:30", Description: "daily settlement time (HH:MM)"},
		{Name: "limit.txn", Value: "5000.00", Description: "per-transaction limit (CNY)", ReadOnly: true},
		{Name: "merchant.name", Value: "测试商户 KPOS Test Shop", Description: "name on receipts", ReadOnly: true},
	} {
		p.defs[d.Name] = d
		p.values[d.Name] = d.Value
	}
	return p
}

func (p *fakeParams) List(ctx context.Context) ([]service.Param, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []service.Param
	for name, d := range p.defs {
		d.Value = p.values[name]
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p *fakeParams) Get(ctx context.Context, name string) (service.Param, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d, ok := p.defs[name]
	if !ok {
		return service.Param{}, fmt.Errorf("params: %q: %w", name, service.ErrNotFound)
	}
	d.Value = p.values[name]
	return d, nil
}

func (p *fakeParams) Set(ctx context.Context, name, value string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.defs[name]; !ok {
		return fmt.Errorf("params: %q: %w", name, service.ErrNotFound)
	}
	switch name {
	case "host.port":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("params: host.port must be 1..65535: %w", service.ErrInvalid)
		}
	case "settle.time":
		if _, err := time.Parse("15:04", value); err != nil {
			return fmt.Errorf("params: settle.time must be HH:MM: %w", service.ErrInvalid)
		}
	case "host.timeout":
		if d, err := time.ParseDuration(value); err != nil || d < time.Second || d > 2*time.Minute {
			return fmt.Errorf("params: host.timeout must be 1s..2m: %w", service.ErrInvalid)
		}
	}
	p.values[name] = value
	return nil
}

type fakeKeys struct{}

// The material is here only to prove it never reaches the console.
const fakeTMK = "11111111111111112222222222222222"

func (fakeKeys) Keys(ctx context.Context) ([]service.KeyInfo, error) {
	return []service.KeyInfo{
		{Name: "TMK", Algorithm: "3DES-2K", KCV: "82E13665", Loaded: true, LoadedAt: t0.Add(-48 * time.Hour)},
		{Name: "PIN", Algorithm: "3DES-2K", KCV: "D2B91C", Loaded: true, LoadedAt: t0.Add(-2 * time.Hour)},
		{Name: "MAC", Algorithm: "3DES-2K", KCV: "7A1F3E", Loaded: true, LoadedAt: t0.Add(-2 * time.Hour)},
		{Name: "DATA", Algorithm: "SM4", KCV: "", Loaded: false},
	}, nil
}

type fakeBinding struct{}

func (fakeBinding) Binding(ctx context.Context) (service.BindingInfo, error) {
	return service.BindingInfo{State: "bound", TID: "12345678", MID: "898320154110001", Merchant: "测试商户 KPOS Test Shop", Bank: "UnionPay test bank",
		BoundAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(365 * 24 * time.Hour), LastCheck: t0.Add(-2 * time.Hour),
		SettlementAccount: hal.MustPAN("6222021234567890128").Masked()}, nil
}

type fakeDevices struct {
	mu        sync.Mutex
	paperOut  bool
	pages     int
	atLog     []string
	cardReady chan service.CardDetect // DetectCard waits on it
}

func (d *fakeDevices) DetectCard(ctx context.Context) (service.CardDetect, error) {
	select {
	case c := <-d.cardReady:
		return c, nil
	case <-ctx.Done():
		return service.CardDetect{}, ctx.Err()
	}
}

func (d *fakeDevices) PrinterTestPage(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.paperOut {
		return hal.ErrPaperOut
	}
	d.pages++
	return nil
}

func (d *fakeDevices) PrinterStatus(ctx context.Context) (service.PrinterState, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return service.PrinterState{Ready: !d.paperOut, PaperOut: d.paperOut}, nil
}

func (d *fakeDevices) ScanOne(ctx context.Context) (service.ScanResult, error) {
	// A bank K-code letter's QR that (badly) carries a card number: the
	// console must not show the digits.
	return service.ScanResult{Kind: "unionpay", Text: "https://qr.95516.com/00010000/6222021234567890128"}, nil
}

func (d *fakeDevices) Modem(ctx context.Context) (service.ModemInfo, error) {
	return service.ModemInfo{Model: "SIM7600CE", SIM: "ready", ICCIDMasked: "8986***********1234", Signal: 23, Registration: "registered (home)", Operator: "China Mobile"}, nil
}

func (d *fakeDevices) ModemAT(ctx context.Context, cmd string) ([]string, error) {
	d.mu.Lock()
	d.atLog = append(d.atLog, cmd)
	d.mu.Unlock()
	switch strings.ToUpper(cmd) {
	case "AT+CSQ":
		return []string{"+CSQ: 23,99", "OK"}, nil
	case "AT+CCID":
		// The modem answers with the full ICCID, a Luhn-valid 19-digit run.
		return []string{"+CCID: 8986001234567890120", "OK"}, nil
	}
	return []string{"ERROR"}, nil
}

func (d *fakeDevices) KeypadTest(ctx context.Context) ([]string, error) {
	return []string{"1", "2", "3", "CLEAR", "ENTER"}, nil
}

func (d *fakeDevices) DisplayTest(ctx context.Context) error   { return nil }
func (d *fakeDevices) IndicatorTest(ctx context.Context) error { return nil }

type fakeLogs struct {
	mu    sync.Mutex
	level string
}

func (l *fakeLogs) Tail(ctx context.Context, n int) ([]service.LogLine, error) {
	all := []service.LogLine{
		{Time: t0.Add(-3 * time.Minute), Level: "info", Message: "acquirer: sign-on ok, working keys loaded"},
		{Time: t0.Add(-2 * time.Minute), Level: "warn", Message: "printer: paper near end"},
		// A careless line from some package; the console must mask it.
		{Time: t0.Add(-1 * time.Minute), Level: "debug", Message: "emv: pan=6250998765432109871 key=0123456789ABCDEFFEDCBA9876543210"},
	}
	if n < len(all) {
		all = all[len(all)-n:]
	}
	return all, nil
}

func (l *fakeLogs) SetLevel(ctx context.Context, level string) error {
	l.mu.Lock()
	l.level = level
	l.mu.Unlock()
	return nil
}

func (l *fakeLogs) Level(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.level, nil
}

type fakePerf struct{}

func (fakePerf) Perf(ctx context.Context) ([]service.PerfStat, error) {
	ms := time.Millisecond
	return []service.PerfStat{
		{Target: "host:acquirer", Count: 42, Errors: 1, P50: 640 * ms, P95: 1800 * ms, Max: 4100 * ms},
		{Target: "device:printer", Count: 40, P50: 900 * ms, P95: 1300 * ms, Max: 1500 * ms},
		{Target: "device:reader", Count: 38, P50: 210 * ms, P95: 480 * ms, Max: 900 * ms},
	}, nil
}

// fakeBackup exports the journal and the parameters as JSON and restores
// them, refusing a backup that lacks an unsettled transaction.
type fakeBackup struct {
	j *fakeJournal
	p *fakeParams
}

type backupDoc struct {
	Batch   uint32            `json:"batch"`
	Entries []backupEntry     `json:"entries"`
	Params  map[string]string `json:"params"`
}

type backupEntry struct {
	service.JournalEntry
	PANRef string `json:"pan_ref"` // a real store would keep it encrypted
}

func (b fakeBackup) Export(ctx context.Context, w io.Writer) error {
	b.j.mu.Lock()
	doc := backupDoc{Batch: b.j.batch, Params: map[string]string{}}
	for _, e := range b.j.entries {
		doc.Entries = append(doc.Entries, backupEntry{JournalEntry: e.JournalEntry, PANRef: e.pan.Last4()})
	}
	b.j.mu.Unlock()
	b.p.mu.Lock()
	for k, v := range b.p.values {
		doc.Params[k] = v
	}
	b.p.mu.Unlock()
	return json.NewEncoder(w).Encode(doc)
}

func (b fakeBackup) Import(ctx context.Context, r io.Reader) error {
	var doc backupDoc
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return fmt.Errorf("backup: decoding: %w", err)
	}
	b.j.mu.Lock()
	defer b.j.mu.Unlock()
	have := map[uint32]bool{}
	for _, e := range doc.Entries {
		have[e.Trace] = true
	}
	for _, e := range b.j.entries {
		if !e.Settled && !have[e.Trace] {
			return fmt.Errorf("backup: trace %06d is not in the backup: %w", e.Trace, service.ErrWouldLoseUnsettled)
		}
	}
	old := map[uint32]hal.PAN{}
	for _, e := range b.j.entries {
		old[e.Trace] = e.pan
	}
	b.j.entries = nil
	for _, e := range doc.Entries {
		b.j.entries = append(b.j.entries, fakeEntry{JournalEntry: e.JournalEntry, pan: old[e.Trace]})
	}
	b.j.batch = doc.Batch
	b.p.mu.Lock()
	defer b.p.mu.Unlock()
	for k, v := range doc.Params {
		if _, ok := b.p.defs[k]; !ok {
			return errors.New("backup: unknown parameter " + k)
		}
		b.p.values[k] = v
	}
	return nil
}
