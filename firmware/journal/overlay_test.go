package journal

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lookups by trace and RRN, the day's figures, the count of live
// transactions and a later change of a settled transaction read the same
// before the batch closes (entries in the overlays), after it closed
// (folded into the big indexes) and after a reopen; closing leaves the
// overlays empty.
func TestOverlaysFoldWhenTheBatchCloses(t *testing.T) {
	c := &clock{time.Date(2026, 12, 1, 10, 0, 0, 0, utc8)}
	dir := t.TempDir()
	j := openAt(t, dir, c, Options{})
	a := begin(t, j, Sale, Chip, 100, 0)
	set(t, j, a, Completed, "RRN-A")
	b := begin(t, j, Sale, Chip, 250, 0)
	set(t, j, b, Completed, "RRN-B")
	check := func(when string, j *Journal) {
		t.Helper()
		for rrn, trace := range map[string]uint32{"RRN-A": a, "RRN-B": b} {
			got, err := j.ByRRN(rrn)
			if err != nil || len(got) != 1 || got[0].Trace != trace {
				t.Fatalf("%s: ByRRN(%s) = %v, %v", when, rrn, got, err)
			}
			if x, err := j.Get(trace); err != nil || x.RRN != rrn {
				t.Fatalf("%s: Get(%06d) = %v, %v", when, trace, x, err)
			}
		}
		if s, err := j.SalesOn(c.t); err != nil || s.Count != 2 || s.Amount != 350 {
			t.Fatalf("%s: SalesOn = %+v, %v", when, s, err)
		}
		if st, err := j.Stats(); err != nil || st.Live != 2 {
			t.Fatalf("%s: Live = %d, %v", when, st.Live, err)
		}
	}
	check("open batch", j)
	settleDay(t, j)
	check("closed batch", j)
	err := j.db.View(func(tx *bolt.Tx) error {
		for _, o := range overlays {
			if k, _ := tx.Bucket(o[0]).Cursor().First(); k != nil {
				t.Errorf("overlay %s still holds %x after the close", o[0], k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A settled sale changed after the close (its RRN corrected): the
	// overlay's entry is the one read, and the old one is gone.
	if _, err := j.Update(a, func(x *Txn) { x.RRN = "RRN-A2" }); err != nil {
		t.Fatal(err)
	}
	if got, _ := j.ByRRN("RRN-A"); len(got) != 0 {
		t.Fatalf("old RRN still found: %v", got)
	}
	if got, _ := j.ByRRN("RRN-A2"); len(got) != 1 || got[0].Trace != a {
		t.Fatalf("new RRN: %v", got)
	}
	if _, err := j.Update(a, func(x *Txn) { x.RRN = "RRN-A" }); err != nil {
		t.Fatal(err)
	}
	j.Close()
	check("reopened", openAt(t, dir, c, Options{}))
}
