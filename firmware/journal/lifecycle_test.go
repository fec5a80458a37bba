package journal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/layout"
	"kpos/firmware/journal/seal"
)

// clock is a test clock the journal reads.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var utc8 = time.FixedZone("CST", 8*3600)

func openAt(tb testing.TB, dir string, c *clock, opt Options) *Journal {
	tb.Helper()
	opt.Now, opt.Location, opt.NoSync = c.now, utc8, true
	j, err := Open(filepath.Join(dir, "journal.db"), testSealKey, opt)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { j.Close() })
	return j
}

// recount adds up batch from its records the slow way, to check the
// running totals against.
func recount(tb testing.TB, j *Journal, batch uint32) Totals {
	tb.Helper()
	t := entry.NewTotals(batch)
	err := j.db.View(func(tx *bolt.Tx) error {
		return forBatch(tx, batch, func(x *Txn) { t.Count(x, entry.Classify(x), +1) })
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func begin(tb testing.TB, j *Journal, kind Kind, method Method, amount int64, orig uint32) uint32 {
	tb.Helper()
	trace, err := j.NextTrace()
	if err != nil {
		tb.Fatal(err)
	}
	batch, _ := j.Batch()
	err = j.Begin(Txn{Trace: trace, Batch: batch, Kind: kind, Method: method, Amount: amount, Currency: 156,
		MaskedPAN: cup, OrigTrace: orig,
		Secret: Sensitive{PAN: "6222021234567890128", Expiry: "3012", PANSeq: "01",
			Track2: []byte("6222021234567890128=30122011234"), ICCData: []byte("ICC-" + strconv.Itoa(int(trace)))}})
	if err != nil {
		tb.Fatal(err)
	}
	return trace
}

func set(tb testing.TB, j *Journal, trace uint32, s State, rrn string) {
	tb.Helper()
	if _, err := j.Update(trace, func(x *Txn) {
		x.State = s
		if rrn != "" {
			x.RRN = rrn
		}
	}); err != nil {
		tb.Fatal(err)
	}
}

// The running totals of the batch and of the day agree with a recount
// after every change, whatever the mix of outcomes.
func TestRunningTotalsAgreeWithARecount(t *testing.T) {
	c := &clock{time.Date(2026, 12, 1, 23, 0, 0, 0, utc8)}
	j := openAt(t, t.TempDir(), c, Options{})
	rnd := rand.New(rand.NewSource(15))
	kinds := []Kind{Sale, Sale, Sale, Refund, Cash, Balance, kindCompletion}
	methods := []Method{Chip, Contactless, Stripe, QR, CashMethod, "other"}
	var completedSales []uint32
	daySum := map[string]int64{}
	counted := map[uint32]int64{}
	for i := 0; i < 400; i++ {
		c.t = c.t.Add(time.Duration(rnd.Intn(600)) * time.Second)
		k := kinds[rnd.Intn(len(kinds))]
		tr := begin(t, j, k, methods[rnd.Intn(len(methods))], int64(1+rnd.Intn(100000)), 0)
		day := c.t.Format("20060102")
		switch rnd.Intn(7) {
		case 0:
			set(t, j, tr, Declined, "")
		case 1:
			set(t, j, tr, ReversalPending, "")
			if rnd.Intn(2) == 0 {
				set(t, j, tr, Reversed, "")
			}
		case 2:
			set(t, j, tr, Approved, "")
		case 3: // stays pending
		default:
			set(t, j, tr, Completed, "0000"+strconv.Itoa(100000+i))
			if k == Sale {
				completedSales = append(completedSales, tr)
			}
		}
		if x, _ := j.Get(tr); entry.CountsToday(x) {
			counted[tr] = x.Amount
			daySum[day] += x.Amount
		}
		if len(completedSales) > 0 && rnd.Intn(10) == 0 {
			o := completedSales[rnd.Intn(len(completedSales))]
			if x, _ := j.Get(o); x.State == Completed {
				v := begin(t, j, Void, x.Method, x.Amount, o)
				set(t, j, v, Completed, "")
				set(t, j, o, Voided, "")
				daySum[x.Created.In(utc8).Format("20060102")] -= counted[o]
				delete(counted, o)
			}
		}
		if i%50 == 49 {
			batch, _ := j.Batch()
			got, err := j.Totals(batch)
			if err != nil {
				t.Fatal(err)
			}
			if want := recount(t, j, batch); !reflect.DeepEqual(got, want) {
				t.Fatalf("after %d: running totals\n%+v\nrecount\n%+v", i, got, want)
			}
			for d, want := range daySum {
				at, _ := time.ParseInLocation("20060102", d, utc8)
				if got, err := j.SalesOn(at.Add(12 * time.Hour)); err != nil || got.Amount != want {
					t.Fatalf("day %s: running %d, recount %d (%v)", d, got.Amount, want, err)
				}
			}
		}
	}
	// Lookups by RRN, date and original go through their indexes.
	all, _ := j.List(0)
	for _, x := range all {
		if x.RRN != "" {
			got, err := j.ByRRN(x.RRN)
			if err != nil || len(got) != 1 || got[0].Trace != x.Trace {
				t.Fatalf("by RRN %s: %v %v", x.RRN, got, err)
			}
		}
		if x.OrigTrace != 0 {
			got, err := j.Referring(x.OrigTrace)
			if err != nil || len(got) == 0 || got[len(got)-1].Trace != x.Trace {
				t.Fatalf("referring to %06d: %v %v", x.OrigTrace, got, err)
			}
		}
	}
	n := 0
	for d := all[0].Created; !d.After(c.t.Add(24 * time.Hour)); d = d.Add(24 * time.Hour) {
		day, err := j.Day(d)
		if err != nil {
			t.Fatal(err)
		}
		n += len(day)
	}
	if n != len(all) {
		t.Fatalf("lookups by day found %d of %d", n, len(all))
	}
}

// scanSAD reads the raw bbolt file and the key-slot file the way someone
// holding the journal's sealing key would, and returns for each trace every
// piece of track 2 or ICC data that can still be read anywhere in the file:
// in live records or in old versions left in free pages.
func scanSAD(t *testing.T, path string) map[uint32][][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	slotsRaw, err := os.ReadFile(path + ".sad")
	if err != nil {
		t.Fatal(err)
	}
	outer, _ := seal.NewAEAD(testSealKey)
	n := outer.NonceSize()
	keys := map[uint32][]byte{}
	for s := 0; (s+1)*seal.SlotSize <= len(slotsRaw); s++ {
		b := slotsRaw[s*seal.SlotSize : (s+1)*seal.SlotSize]
		if key, err := outer.Open(nil, b[:n], b[n:n+32+outer.Overhead()], seal.SlotAAD(uint32(s))); err == nil {
			keys[uint32(s)] = key
		}
	}
	found := map[uint32][][]byte{}
	rec := regexp.MustCompile(`"trace":(\d+)`)
	blob := regexp.MustCompile(`"(sad|sealed)":"([A-Za-z0-9+/=]+)"`)
	for _, m := range blob.FindAllSubmatchIndex(raw, -1) {
		sealed, err := base64.StdEncoding.DecodeString(string(raw[m[4]:m[5]]))
		if err != nil || len(sealed) < n {
			continue
		}
		// The record this blob belongs to starts at the last trace before it.
		starts := rec.FindAllSubmatch(raw[max(0, m[0]-400):m[0]], -1)
		if len(starts) == 0 {
			continue
		}
		tr, _ := strconv.ParseUint(string(starts[len(starts)-1][1]), 10, 32)
		trace := uint32(tr)
		var plain []byte
		if string(raw[m[2]:m[3]]) == "sealed" {
			plain, _ = outer.Open(nil, sealed[:n], sealed[n:], layout.U32(trace))
		} else {
			for s, key := range keys {
				inner, _ := seal.NewAEAD(key)
				if p, err := inner.Open(nil, sealed[:n], sealed[n:], seal.SADAAD(s, trace)); err == nil {
					plain = p
				}
			}
		}
		var got Sensitive // the fields of both sad and the sealed PAN
		if plain == nil || json.Unmarshal(plain, &got) != nil {
			continue
		}
		for _, secret := range [][]byte{[]byte("30122011234"), []byte("ICC-")} {
			seen := false
			for _, f := range found[trace] {
				seen = seen || bytes.Equal(f, secret)
			}
			if !seen && (bytes.Contains(got.Track2, secret) || bytes.Contains(got.ICCData, secret)) {
				found[trace] = append(found[trace], secret)
			}
		}
		for _, secret := range [][]byte{[]byte("30122011234"), []byte("ICC-" + strconv.Itoa(int(trace)))} {
			if bytes.Contains(raw, secret) {
				t.Fatalf("the journal file holds card data in the clear")
			}
		}
	}
	return found
}

// PCI DSS 3.2: no sensitive authentication data after authorization. Once a
// transaction is final nothing in the journal file, read raw with the
// sealing key, still yields its track 2 or ICC data; before, the same scan
// finds them (so the scan can fail).
func TestNoSensitiveDataOnceFinal(t *testing.T) {
	c := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, utc8)}
	dir := t.TempDir()
	j := openAt(t, dir, c, Options{})
	path := j.Path()

	declined := begin(t, j, Sale, Chip, 100, 0)
	reversed := begin(t, j, Sale, Contactless, 200, 0)
	stripe := begin(t, j, Sale, Stripe, 300, 0)
	chip := begin(t, j, Sale, Chip, 400, 0)
	voided := begin(t, j, Sale, Chip, 500, 0)
	owed := begin(t, j, Sale, Chip, 600, 0)
	pending := map[uint32]bool{declined: true, reversed: true, stripe: true, chip: true, voided: true, owed: true}
	if got := scanSAD(t, path); len(got) != len(pending) {
		t.Fatalf("before any answer the scan should read all %d pending transactions' data, read %v", len(pending), got)
	}

	set(t, j, declined, Declined, "")
	set(t, j, reversed, ReversalPending, "")
	set(t, j, stripe, Completed, "000000000003")
	set(t, j, chip, Completed, "000000000004")
	set(t, j, voided, Completed, "000000000005")
	set(t, j, voided, Voided, "")
	set(t, j, owed, Approved, "")
	set(t, j, owed, ReversalPending, "")
	got := scanSAD(t, path)
	for _, tr := range []uint32{declined, stripe, voided} {
		if len(got[tr]) != 0 {
			t.Fatalf("final trace %06d still yields %q", tr, got[tr])
		}
	}
	// What a reversal needs stays until it is sent; a chip sale keeps its
	// ICC data (not track 2) for the batch upload until the batch closes.
	if len(got[reversed]) != 2 || len(got[owed]) != 2 {
		t.Fatalf("queued reversals lost what they need: %q %q", got[reversed], got[owed])
	}
	if len(got[chip]) != 1 || string(got[chip][0]) != "ICC-" {
		t.Fatalf("completed chip sale keeps %q, want its ICC data only", got[chip])
	}
	// The reversal goes out with its card data.
	if x, err := j.Get(owed); err != nil || x.Secret.Track2 == nil || x.Secret.ICCData == nil || x.Secret.PAN == "" {
		t.Fatalf("reversal data: %+v %v", x.Secret, err)
	}
	set(t, j, reversed, Reversed, "")
	set(t, j, owed, Reversed, "")

	s, err := j.BeginSettlement()
	if err != nil {
		t.Fatal(err)
	}
	s.Step, s.Balanced = StepTotalsSent, true
	if _, err := j.CloseBatch(s); err != nil {
		t.Fatal(err)
	}
	if got := scanSAD(t, path); len(got) != 0 {
		t.Fatalf("after settlement the journal still yields card data: %v", got)
	}
	// The PAN, which PCI DSS allows to keep protected, is still there.
	if x, err := j.Get(chip); err != nil || x.Secret.PAN != "6222021234567890128" || x.Secret.ICCData != nil {
		t.Fatalf("after settlement: %+v %v", x.Secret, err)
	}
	st, _ := j.Stats()
	if st.KeySlots != 0 {
		t.Fatalf("%d key slots still in use", st.KeySlots)
	}
}

// A slot written for a commit that never happened, or freed by one whose
// erasure a crash cut short, is erased at the next Open.
func TestOpenErasesStaleKeySlots(t *testing.T) {
	c := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, utc8)}
	dir := t.TempDir()
	j := openAt(t, dir, c, Options{})
	tr := begin(t, j, Sale, Chip, 100, 0)
	path := j.Path()
	// Free the slot in bbolt without erasing it, as a crash would.
	if err := j.db.Update(func(tx *bolt.Tx) error {
		r, _, err := getRecord(tx, tr)
		if err != nil {
			return err
		}
		return freeSlot(tx, r.Slot-1)
	}); err != nil {
		t.Fatal(err)
	}
	// And a slot past the end, from a commit that did not happen.
	if err := j.slots.Write(5, bytes.Repeat([]byte{1}, seal.SlotSize)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = openAt(t, dir, c, Options{})
	raw, err := os.ReadFile(path + ".sad")
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != seal.SlotSize || !bytes.Equal(raw, make([]byte, seal.SlotSize)) {
		t.Fatalf("slot file after open: %d bytes, %x", len(raw), raw)
	}
	if x, err := j.Get(tr); err != nil || x.Secret.Track2 != nil || x.Secret.PAN == "" {
		t.Fatalf("erased slot: %+v %v", x.Secret, err)
	}
}

// settleDay closes the open batch (balanced) at the clock's time.
func settleDay(tb testing.TB, j *Journal) {
	tb.Helper()
	s, err := j.BeginSettlement()
	if err != nil {
		tb.Fatal(err)
	}
	s.Step, s.Balanced = StepTotalsSent, true
	if _, err := j.CloseBatch(s); err != nil {
		tb.Fatal(err)
	}
}

// Retention removes settled batches past the window, after archiving them;
// inside the window lookups work, outside they say so.
func TestRetentionArchivesOldBatches(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 12, 0, 0, 0, utc8)}
	dir := t.TempDir()
	j := openAt(t, dir, c, Options{RetentionDays: 3})
	var first []uint32
	for day := 0; day < 6; day++ {
		tr := begin(t, j, Sale, Chip, 100, 0)
		set(t, j, tr, Completed, "RRN"+strconv.Itoa(day))
		first = append(first, tr)
		settleDay(t, j)
		c.t = c.t.Add(24 * time.Hour)
	}
	// Batches closed on days 0..5 at noon; now is day 6, noon: 0, 1, 2 are
	// older than 3 days.
	if _, err := j.Prune(); err != nil {
		t.Fatal(err)
	}
	for day, tr := range first {
		_, err := j.Get(tr)
		switch {
		case day <= 2 && !errors.Is(err, ErrOutsideWindow):
			t.Fatalf("day %d trace %06d: %v, want outside the window", day, tr, err)
		case day <= 2 && !errors.Is(err, ErrNotFound):
			t.Fatalf("ErrOutsideWindow must match ErrNotFound: %v", err)
		case day > 2 && err != nil:
			t.Fatalf("day %d trace %06d inside the window: %v", day, tr, err)
		}
	}
	if _, err := j.Get(999); !errors.Is(err, ErrNotFound) || errors.Is(err, ErrOutsideWindow) {
		t.Fatalf("a trace never handed out: %v", err)
	}
	if _, err := j.ClosedBatch(1); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("batch 1: %v", err)
	}
	if got, _ := j.ByRRN("RRN0"); len(got) != 0 {
		t.Fatalf("RRN index kept a pruned trace: %v", got)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "archive"))
	if len(ents) != 3 {
		t.Fatalf("archive holds %d files, want 3", len(ents))
	}
	st, _ := j.Stats()
	if st.Live != 3 || st.Closed != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// Trace numbers wrap and skip any still in the journal.
func TestTraceWrapSkipsLiveTraces(t *testing.T) {
	c := &clock{time.Date(2026, 1, 1, 12, 0, 0, 0, utc8)}
	j := openAt(t, t.TempDir(), c, Options{TraceMax: 5})
	for i := 0; i < 3; i++ {
		begin(t, j, Cash, CashMethod, 1, 0) // 1, 2, 3 stay live
	}
	a, _ := j.NextTrace() // 4
	b, _ := j.NextTrace() // 5
	w, _ := j.NextTrace() // wraps past 1, 2, 3 to 4
	if a != 4 || b != 5 || w != 4 {
		t.Fatalf("traces %d %d %d", a, b, w)
	}
	begin(t, j, Cash, CashMethod, 1, 0) // 5
	begin(t, j, Cash, CashMethod, 1, 0) // 4
	if _, err := j.NextTrace(); !errors.Is(err, ErrFull) {
		t.Fatalf("every trace number live: %v", err)
	}
	if st, _ := j.Stats(); !st.Wrapped {
		t.Fatal("wrap not recorded")
	}
}
