package settle

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/journal"
	"kpos/firmware/keys"
	"kpos/firmware/receipt"
	"kpos/hal"
	"kpos/hal/fake"
	"kpos/tools/hostsim"
)

// The test terminal and cards of docs/test-cards.md (TEST KEYS ONLY).
const (
	simTID = "12345678"
	simMID = "898320154110001"
	simTMK = "11111111111111112222222222222222" // TEST KEY
)

var simNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.Local)

// day is a terminal talking to the real host simulator in-process, with
// its journal.
type simDay struct {
	t       testing.TB
	srv     *hostsim.Server
	client  *acquirer.Client
	j       *journal.Journal
	path    string
	printer *fake.Printer
	ctx     context.Context
}

func newSimDay(t testing.TB) *simDay {
	t.Helper()
	srv, err := hostsim.New(hostsim.Config{DataDir: "../../testdata/host", Now: func() time.Time { return simNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The host side serves each pipe under the test's context, not the
	// dial's, which ends as soon as the dial returns.
	link := fake.NewLink(func(_ context.Context, network, addr string) (net.Conn, error) {
		term, host := net.Pipe()
		go srv.ServeConn(ctx, host)
		return term, nil
	})
	ks, err := keys.Open(filepath.Join(t.TempDir(), "keys.bin"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	tmk, _ := hex.DecodeString(simTMK)
	kcv, err := keys.CheckValue(keys.AlgTDES, tmk)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InstallTMK(tmk, kcv[:3]); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	client := acquirer.NewClient(acquirer.Config{Addr: "host", TPDU: tpdu, Header: hdr, TID: simTID, MID: simMID,
		ReadTimeout: 5 * time.Second, DialTimeout: time.Second, Now: func() time.Time { return simNow }}, link, ks)
	path := filepath.Join(t.TempDir(), "journal.db")
	d := &simDay{t: t, srv: srv, client: client, j: openJournal(t, path), path: path, printer: fake.NewPrinter(), ctx: ctx}
	t.Cleanup(func() { d.j.Close() })
	batch, _ := d.j.Batch()
	if err := client.SignOn(ctx, d.trace(), batch); err != nil {
		t.Fatalf("sign-on: %v", err)
	}
	return d
}

func (d *simDay) trace() uint32 {
	d.t.Helper()
	tr, err := d.j.NextTrace()
	if err != nil {
		d.t.Fatal(err)
	}
	return tr
}

// reopen closes the journal as a power cut would leave it and opens it again.
func (d *simDay) reopen() {
	d.j.Close()
	d.j = openJournal(d.t, d.path)
}

// pay sends one request to the host and journals it with the state its
// answer leads to.
func (d *simDay) pay(kind acquirer.Kind, method journal.Method, pan string, amount int64, orig *journal.Txn) journal.Txn {
	d.t.Helper()
	batch, _ := d.j.Batch()
	req := acquirer.Request{Kind: kind, Trace: d.trace(), Batch: batch, Amount: amount, Currency: 156,
		Entry: entries[method]}
	jk := map[acquirer.Kind]journal.Kind{acquirer.KindSale: journal.Sale, acquirer.KindQRSale: journal.Sale,
		acquirer.KindVoid: journal.Void, acquirer.KindRefund: journal.Refund}[kind]
	tx := journal.Txn{Trace: req.Trace, Batch: batch, Kind: jk, Method: method, Amount: amount, Currency: 156, Entry: int(req.Entry)}
	if pan != "" {
		p := hal.MustPAN(pan)
		req.PAN, req.Expiry = p, "3012"
		tx.MaskedPAN, tx.Secret = p.Masked(), journal.Sensitive{PAN: pan, Expiry: "3012"}
	} else {
		req.QRCode = "281234567890123456"
	}
	if orig != nil {
		req.OrigTrace, req.OrigRRN, req.OrigAuth, tx.OrigTrace = orig.Trace, orig.RRN, orig.AuthCode, orig.Trace
	}
	if err := d.j.Begin(tx); err != nil {
		d.t.Fatal(err)
	}
	resp, err := d.client.Do(d.ctx, req)
	if err != nil {
		d.t.Fatalf("%s: %v", kind, err)
	}
	state := journal.Declined
	if resp.Approved() {
		state = journal.Completed
	}
	tx, err = d.j.Update(tx.Trace, func(x *journal.Txn) {
		x.State, x.ResponseCode, x.RRN, x.AuthCode, x.HostTime = state, resp.Code, resp.RRN, resp.AuthCode, resp.HostTime
	})
	if err != nil {
		d.t.Fatal(err)
	}
	if kind == acquirer.KindVoid && state == journal.Completed {
		if _, err := d.j.Update(orig.Trace, func(x *journal.Txn) { x.State = journal.Voided }); err != nil {
			d.t.Fatal(err)
		}
	}
	return tx
}

// reverse reverses a completed sale at the host and in the journal.
func (d *simDay) reverse(tx journal.Txn) {
	d.t.Helper()
	if err := d.j.QueueReversal(tx.Trace, "96"); err != nil {
		d.t.Fatal(err)
	}
	req := acquirer.Request{Kind: acquirer.KindSale, Trace: tx.Trace, Batch: tx.Batch, Amount: tx.Amount, Currency: 156,
		PAN: hal.MustPAN(tx.Secret.PAN), Expiry: "3012", Entry: acquirer.EntryMode(tx.Entry)}
	if _, err := d.client.Reverse(d.ctx, req, acquirer.CauseTerminalFailure); err != nil {
		d.t.Fatal(err)
	}
	if _, err := d.j.Update(tx.Trace, func(x *journal.Txn) { x.State = journal.Reversed }); err != nil {
		d.t.Fatal(err)
	}
}

// cash journals a cash sale: it never reaches the host.
func (d *simDay) cash(amount int64) {
	d.t.Helper()
	batch, _ := d.j.Batch()
	if err := d.j.Begin(journal.Txn{Trace: d.trace(), Batch: batch, Kind: journal.Cash, Method: journal.CashMethod,
		State: journal.Completed, Amount: amount, Currency: 156}); err != nil {
		d.t.Fatal(err)
	}
}

// trade runs a day's business: sales by every method, a void, a refund, a
// decline, a reversal.
func (d *simDay) trade() {
	d.t.Helper()
	first := d.pay(acquirer.KindSale, journal.Chip, "6222021234567890128", 12345, nil)
	d.pay(acquirer.KindSale, journal.Contactless, "4761739001010119", 2000, nil)
	d.pay(acquirer.KindSale, journal.Stripe, "6225880000111122224", 3000, nil)
	d.pay(acquirer.KindSale, journal.Chip, "5413330089010434", 6789, nil)
	d.pay(acquirer.KindQRSale, journal.QR, "", 4500, nil)
	d.cash(1000)
	voided := d.pay(acquirer.KindSale, journal.Chip, "6250998765432109871", 800, nil)
	d.pay(acquirer.KindVoid, journal.Chip, "6250998765432109871", 800, &voided)
	d.pay(acquirer.KindRefund, journal.Chip, "6222021234567890128", 345, &first)
	if tx := d.pay(acquirer.KindSale, journal.Chip, "6222021234567890128", 5151, nil); tx.State != journal.Declined {
		d.t.Fatalf("amount trigger 51 was %s", tx.State)
	}
	d.reverse(d.pay(acquirer.KindSale, journal.Stripe, "6225880000111122224", 998, nil))
}

// hostView adds up what the host simulator's records say the terminal's
// batch holds: approved, not reversed, not voided; sales and QR sales are
// debits, refunds credits; UnionPay (62) and QR domestic.
func (d *simDay) hostView(batch uint32) (dom, fgn acquirer.Totals) {
	for _, r := range d.srv.Records() {
		if r.Type != "authorization" || r.Batch != batch || r.Code != "00" || r.Reversed || r.Voided {
			continue
		}
		tot := &dom
		if r.PAN != "" && !strings.HasPrefix(r.PAN, "62") {
			tot = &fgn
		}
		switch r.Kind {
		case acquirer.KindSale.String(), acquirer.KindQRSale.String():
			tot.DebitAmount += r.Amount
			tot.DebitCount++
		case acquirer.KindRefund.String():
			tot.CreditAmount += r.Amount
			tot.CreditCount++
		}
	}
	return dom, fgn
}

func (d *simDay) records(typ string) []hostsim.Record {
	var out []hostsim.Record
	for _, r := range d.srv.Records() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func (d *simDay) settler() *Settler { return New(testConfig(), d.j, d.client, d.printer) }

func TestHostSimulatorAgreesToTheCent(t *testing.T) {
	d := newSimDay(t)
	d.trade()
	r, err := d.settler().Run(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom, fgn := d.hostView(1)
	if got := family(r.Batch.Totals.Domestic); got != dom {
		t.Errorf("domestic: terminal %+v, host %+v", got, dom)
	}
	if got := family(r.Batch.Totals.Foreign); got != fgn {
		t.Errorf("foreign: terminal %+v, host %+v", got, fgn)
	}
	// The report's sales are the host's debits plus cash, to the cent.
	if r.Batch.Totals.Sales.Amount != dom.DebitAmount+fgn.DebitAmount+1000 ||
		r.Batch.Totals.Refunds.Amount != dom.CreditAmount+fgn.CreditAmount {
		t.Errorf("report sales %d refunds %d; host debits %d credits %d (+ cash 1000)", r.Batch.Totals.Sales.Amount,
			r.Batch.Totals.Refunds.Amount, dom.DebitAmount+fgn.DebitAmount, dom.CreditAmount+fgn.CreditAmount)
	}
	if r.Batch.Totals.Sales.Amount != 12345+2000+3000+6789+4500+1000 || r.Batch.Totals.Voids.Amount != 800 {
		t.Errorf("totals %+v", r.Batch.Totals)
	}
	settles := d.records("settlement")
	if len(settles) != 1 || !settles[0].Balanced || settles[0].Batch != 1 || !r.Batch.Balanced {
		t.Fatalf("host settlements %+v; terminal balanced %v", settles, r.Batch.Balanced)
	}
	if n := len(d.records("batch-upload")); n != 0 {
		t.Fatalf("%d uploads after a balanced settlement", n)
	}
	text := receipt.Text(d.printer.Documents()[0], 32)
	for _, want := range []string{"对账平", "296.34", "3.45", "8.00", "292.89"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
}

func TestHostSimulatorUnbalancedThenUpload(t *testing.T) {
	d := newSimDay(t)
	d.trade()
	if _, err := d.settler().Run(d.ctx); err != nil {
		t.Fatal(err)
	}
	// Day two: the terminal loses a sale the host approved.
	d.pay(acquirer.KindSale, journal.Chip, "6222021234567890128", 1111, nil)
	d.pay(acquirer.KindSale, journal.Contactless, "4761739001010119", 2222, nil)
	lost := d.pay(acquirer.KindSale, journal.Chip, "6228480011223344554", 3333, nil)
	if _, err := d.j.Update(lost.Trace, func(x *journal.Txn) { x.State = journal.ReversalPending }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.j.Update(lost.Trace, func(x *journal.Txn) { x.State = journal.Reversed }); err != nil {
		t.Fatal(err)
	}
	r, err := d.settler().Run(d.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Batch.Balanced || r.Batch.Batch != 2 || r.Batch.Uploaded != 2 || r.Batch.Answer.DomesticCode != acquirer.ReconUnbalanced {
		t.Fatalf("closed batch %+v", r.Batch)
	}
	settles := d.records("settlement")
	if len(settles) != 2 || settles[1].Balanced || settles[1].Batch != 2 {
		t.Fatalf("host settlements %+v", settles)
	}
	ups := d.records("batch-upload")
	if len(ups) != 2 || ups[0].Trace == ups[1].Trace || ups[0].Batch != 2 {
		t.Fatalf("uploads %+v", ups)
	}
	for _, u := range ups {
		if strings.Contains(u.Note, "repeated") {
			t.Errorf("upload %06d repeated", u.Trace)
		}
	}
	if ends := d.records("batch-upload-end"); len(ends) != 1 || ends[0].Batch != 2 {
		t.Fatalf("upload ends %+v", ends)
	}
	if n, _ := d.j.Batch(); n != 3 {
		t.Fatalf("open batch %d, want 3", n)
	}
	if !strings.Contains(receipt.Text(d.printer.Documents()[1], 32), "对账不平") {
		t.Errorf("report does not say unbalanced")
	}
}

func TestHostSimulatorPowerCutResumes(t *testing.T) {
	for _, cut := range []string{"started", "answered", "totals-sent", "upload-end", "closed", "printed"} {
		t.Run(cut, func(t *testing.T) {
			d := newSimDay(t)
			d.trade()
			// The host holds a sale the terminal lost: unbalanced.
			lost := d.pay(acquirer.KindSale, journal.Chip, "6228480011223344554", 3333, nil)
			if _, err := d.j.Update(lost.Trace, func(x *journal.Txn) { x.State = journal.ReversalPending }); err != nil {
				t.Fatal(err)
			}
			if _, err := d.j.Update(lost.Trace, func(x *journal.Txn) { x.State = journal.Reversed }); err != nil {
				t.Fatal(err)
			}
			s := d.settler()
			s.point = func(name string) error {
				if name == cut {
					return errPowerCut
				}
				return nil
			}
			if _, err := s.Run(d.ctx); !errors.Is(err, errPowerCut) {
				t.Fatalf("Run = %v, want the cut", err)
			}
			d.reopen()
			r, resumed, err := d.settler().Resume(d.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if resumed != (cut != "printed") {
				t.Fatalf("resumed %v", resumed)
			}
			want := 1
			if cut == "answered" {
				want = 2 // answered but not recorded: the same 0500 again
			}
			settles := d.records("settlement")
			if len(settles) != want || settles[0].Trace != settles[len(settles)-1].Trace {
				t.Fatalf("host settlements %+v, want %d with one trace", settles, want)
			}
			seen := map[uint32]int{}
			for _, u := range d.records("batch-upload") {
				seen[u.Trace]++
			}
			if len(seen) != 6 {
				t.Errorf("uploaded %d transactions, want 6", len(seen))
			}
			for tr, n := range seen {
				if n != 1 {
					t.Errorf("trace %06d uploaded %d times", tr, n)
				}
			}
			if n := len(d.records("batch-upload-end")); n != 1 {
				t.Errorf("%d upload ends, want 1", n)
			}
			closed, err := d.j.ClosedBatches()
			if err != nil || len(closed) != 1 || closed[0].Balanced || !closed[0].Printed {
				t.Fatalf("closed batches %+v %v", closed, err)
			}
			if len(d.printer.Documents()) != 1 {
				t.Fatalf("%d reports printed", len(d.printer.Documents()))
			}
			if resumed && !r.Printed {
				t.Fatalf("resumed report not printed")
			}
		})
	}
}

// ExampleSettler is not run; it shows the calls a state machine makes.
func ExampleSettler() {
	var (
		j       *journal.Journal
		client  *acquirer.Client
		printer hal.Printer
		ctx     = context.Background()
	)
	s := New(Config{MerchantName: "测试商户", MerchantID: simMID, TerminalID: simTID, Account: "622202******0128"},
		j, client, printer)
	// At boot, after the queued reversals are sent:
	if _, resumed, err := s.Resume(ctx); err != nil || resumed {
		fmt.Println(resumed, err)
	}
	// From the menu or at the settlement time:
	if r, err := s.Run(ctx); err == nil {
		fmt.Println(r.Batch.Batch, r.Batch.Balanced)
	}
}
