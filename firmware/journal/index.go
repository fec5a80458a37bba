package journal

// This file keeps the journal's indexes and running totals. Every write of a
// transaction updates them in the same bbolt transaction as the record, so
// they can never disagree with it and nothing a sale needs is ever computed
// by reading the whole history: the cost of a sale does not depend on how
// many transactions the journal holds.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/seal"
)

var (
	// The records live in one bucket per calendar day, so that a commit
	// rewrites a path through a day's records, not through the whole
	// history; "where" finds a trace's day.
	bucketRecords = []byte("records")  // YYYYMMDD → {trace → record}
	bucketWhere   = []byte("where")    // trace → YYYYMMDD
	bucketByBatch = []byte("by-batch") // batch → {seq → trace}
	bucketByDay   = []byte("by-day")   // YYYYMMDD → {seq → trace}, every live record, oldest first
	bucketRRN     = []byte("by-rrn")   // rrn 0x00 trace → nothing
	bucketOrig    = []byte("by-orig")  // original trace, trace → nothing
	bucketDoubt   = []byte("in-doubt") // trace → nothing, for Pending and Approved
	bucketTotals  = []byte("totals")   // open batch → Totals, kept as records change
	bucketDaily   = []byte("daily")    // YYYYMMDD → entry.DayTotals

	// Since the last batch close, new entries of the three indexes that
	// grow with the whole history go to small buckets of their own, folded
	// into the big ones when the batch closes (overlay.go).
	bucketWhereNew = []byte("where-new")
	bucketRRNNew   = []byte("by-rrn-new")
	bucketDailyNew = []byte("daily-new")

	keySeq = []byte("seq")
)

// record is a transaction as stored: the Txn, the sealed sensitive
// authentication data and where its key lives, and the order it was written
// in.
type record struct {
	Txn
	// SAD holds the track 2 and ICC data sealed under a key of its own,
	// kept in slot Slot-1 of the key-slot file; destroying the slot makes
	// every copy of SAD unreadable, including the copies bbolt leaves in
	// freed pages.
	SAD  []byte `json:"sad,omitempty"`
	Slot uint32 `json:"slot,omitempty"`
	Seq  uint64 `json:"seq"`
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// dayKey is the calendar day of at in loc, as an index key.
func dayKey(at time.Time, loc *time.Location) []byte {
	return []byte(at.In(loc).Format("20060102"))
}

func rrnKey(rrn string, trace uint32) []byte {
	return append(append([]byte(rrn), 0), u32(trace)...)
}

func origKey(orig, trace uint32) []byte { return append(u32(orig), u32(trace)...) }

// getRecord reads the record of trace (ok false when there is none).
func getRecord(tx *bolt.Tx, trace uint32) (record, bool, error) {
	day := whereIs(tx, txnKey(trace))
	if day == nil {
		return record{}, false, nil
	}
	b := tx.Bucket(bucketRecords).Bucket(day)
	var raw []byte
	if b != nil {
		raw = b.Get(txnKey(trace))
	}
	if raw == nil {
		return record{}, false, fmt.Errorf("trace %06d: located on %s but not recorded there", trace, day)
	}
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return record{}, false, fmt.Errorf("trace %06d: %w", trace, err)
	}
	return r, true, nil
}

// nested returns the sub-bucket key of parent, creating it when create.
func nested(tx *bolt.Tx, parent, key []byte, create bool) (*bolt.Bucket, error) {
	p := tx.Bucket(parent)
	if b := p.Bucket(key); b != nil || !create {
		return b, nil
	}
	return p.CreateBucket(key)
}

// index updates every index and running total for the change of one
// transaction from old (nil: new) to r.
func (j *Journal) index(tx *bolt.Tx, old *record, r *record) error {
	key := txnKey(r.Trace)
	if old == nil {
		seq := u64(r.Seq)
		bb, err := nested(tx, bucketByBatch, u32(r.Batch), true)
		if err != nil {
			return err
		}
		if err := bb.Put(seq, key); err != nil {
			return err
		}
		bd, err := nested(tx, bucketByDay, dayKey(r.Created, j.loc), true)
		if err != nil {
			return err
		}
		if err := bd.Put(seq, key); err != nil {
			return err
		}
		if r.OrigTrace != 0 {
			if err := tx.Bucket(bucketOrig).Put(origKey(r.OrigTrace, r.Trace), nil); err != nil {
				return err
			}
		}
	} else if old.Batch != r.Batch || old.OrigTrace != r.OrigTrace || !old.Created.Equal(r.Created) {
		return fmt.Errorf("trace %06d: batch, original and time of a transaction never change", r.Trace)
	}
	if old == nil || old.RRN != r.RRN {
		if old != nil && old.RRN != "" {
			if err := overlayDelete(tx, bucketRRNNew, bucketRRN, rrnKey(old.RRN, r.Trace)); err != nil {
				return err
			}
		}
		if r.RRN != "" {
			if err := tx.Bucket(bucketRRNNew).Put(rrnKey(r.RRN, r.Trace), nil); err != nil {
				return err
			}
		}
	}
	// Each index is written only when the record moves in or out of it:
	// a bucket left alone costs the commit no page.
	wasDoubt := old != nil && old.State.InDoubt()
	switch {
	case r.State.InDoubt() && !wasDoubt:
		if err := tx.Bucket(bucketDoubt).Put(key, nil); err != nil {
			return err
		}
	case !r.State.InDoubt() && wasDoubt:
		if err := tx.Bucket(bucketDoubt).Delete(key); err != nil {
			return err
		}
	}
	wasRev := old != nil && old.State == ReversalPending
	rev := tx.Bucket(bucketReversals)
	switch {
	case r.State == ReversalPending && (!wasRev || old.Reason != r.Reason):
		if err := rev.Put(key, []byte(r.Reason)); err != nil {
			return err
		}
	case r.State != ReversalPending && wasRev:
		if err := rev.Delete(key); err != nil {
			return err
		}
	}
	if err := j.addTotals(tx, old, r); err != nil {
		return err
	}
	return j.addDaily(tx, old, r)
}

// unindex removes every trace of r from the indexes (retention). The
// running totals of its batch go with the batch.
func (j *Journal) unindex(tx *bolt.Tx, r *record) error {
	key := txnKey(r.Trace)
	if bd, _ := nested(tx, bucketByDay, dayKey(r.Created, j.loc), false); bd != nil {
		if err := bd.Delete(u64(r.Seq)); err != nil {
			return err
		}
		if k, _ := bd.Cursor().First(); k == nil {
			if err := tx.Bucket(bucketByDay).DeleteBucket(dayKey(r.Created, j.loc)); err != nil {
				return err
			}
			if err := overlayDelete(tx, bucketDailyNew, bucketDaily, dayKey(r.Created, j.loc)); err != nil {
				return err
			}
		}
	}
	if r.RRN != "" {
		if err := overlayDelete(tx, bucketRRNNew, bucketRRN, rrnKey(r.RRN, r.Trace)); err != nil {
			return err
		}
	}
	if r.OrigTrace != 0 {
		if err := tx.Bucket(bucketOrig).Delete(origKey(r.OrigTrace, r.Trace)); err != nil {
			return err
		}
	}
	for _, b := range [][]byte{bucketDoubt, bucketReversals} {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return err
		}
	}
	return deleteRecord(tx, r.Trace)
}

// putRecord writes the record raw of trace, created on day.
func putRecord(tx *bolt.Tx, trace uint32, day, raw []byte) error {
	key := txnKey(trace)
	if cur := whereIs(tx, key); cur == nil {
		if err := tx.Bucket(bucketWhereNew).Put(key, day); err != nil {
			return err
		}
	} else if string(cur) != string(day) {
		return fmt.Errorf("trace %06d: recorded on %s, written on %s", trace, cur, day)
	}
	b, err := nested(tx, bucketRecords, day, true)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// deleteRecord removes the record of trace, and its day's bucket once empty.
func deleteRecord(tx *bolt.Tx, trace uint32) error {
	key := txnKey(trace)
	day := whereIs(tx, key)
	if day == nil {
		return nil
	}
	day = append([]byte(nil), day...)
	if err := overlayDelete(tx, bucketWhereNew, bucketWhere, key); err != nil {
		return err
	}
	b := tx.Bucket(bucketRecords).Bucket(day)
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return err
	}
	if k, _ := b.Cursor().First(); k == nil {
		return tx.Bucket(bucketRecords).DeleteBucket(day)
	}
	return nil
}

// loadTotals reads the running totals of batch.
func loadTotals(tx *bolt.Tx, batch uint32) (Totals, error) {
	raw := tx.Bucket(bucketTotals).Get(u32(batch))
	if raw == nil {
		return entry.NewTotals(batch), nil
	}
	var t Totals
	if err := json.Unmarshal(raw, &t); err != nil {
		return Totals{}, fmt.Errorf("totals of batch %06d: %w", batch, err)
	}
	return t, nil
}

// addTotals moves the batch's running totals from old's contribution to r's.
func (j *Journal) addTotals(tx *bolt.Tx, old *record, r *record) error {
	var oc entry.Class = -1
	if old != nil {
		oc = entry.Classify(&old.Txn)
	}
	nc := entry.Classify(&r.Txn)
	if old != nil && oc == nc && old.Amount == r.Amount && old.Method == r.Method && old.MaskedPAN == r.MaskedPAN {
		return nil
	}
	if r.Batch != binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(keyBatch)) {
		// A closed batch's figures are the ones it was settled with, kept
		// in its closed-batch record.
		return nil
	}
	t, err := loadTotals(tx, r.Batch)
	if err != nil {
		return err
	}
	respan := false
	if old != nil {
		respan = t.Count(&old.Txn, oc, -1)
	}
	t.Count(&r.Txn, nc, +1)
	if respan {
		if err := j.respan(tx, &t); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketTotals), u32(r.Batch), t)
}

// respan reads First and Last of t's batch again from its transactions: a
// counted transaction stopped counting (rare: a completed sale reversed).
func (j *Journal) respan(tx *bolt.Tx, t *Totals) error {
	t.First, t.Last = time.Time{}, time.Time{}
	return forBatch(tx, t.Batch, func(x *Txn) {
		if c := entry.Classify(x); c == entry.ClassDebit || c == entry.ClassCredit || c == entry.ClassVoided {
			if t.First.IsZero() || x.Created.Before(t.First) {
				t.First = x.Created
			}
			if x.Created.After(t.Last) {
				t.Last = x.Created
			}
		}
	})
}

// forBatch calls fn with each transaction of batch, oldest first, reading
// only that batch's records.
func forBatch(tx *bolt.Tx, batch uint32, fn func(*Txn)) error {
	bb := tx.Bucket(bucketByBatch).Bucket(u32(batch))
	if bb == nil {
		return nil
	}
	return bb.ForEach(func(_, v []byte) error {
		r, ok, err := getRecord(tx, binary.BigEndian.Uint32(v))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("batch %06d: index names trace %x, which is not recorded", batch, v)
		}
		fn(&r.Txn)
		return nil
	})
}

func (j *Journal) addDaily(tx *bolt.Tx, old *record, r *record) error {
	was := old != nil && entry.CountsToday(old.Txn)
	is := entry.CountsToday(r.Txn)
	if was == is && (!is || old.Amount == r.Amount) {
		return nil
	}
	key := dayKey(r.Created, j.loc)
	var d entry.DayTotals
	if raw := overlayGet(tx, bucketDailyNew, bucketDaily, key); raw != nil {
		if err := json.Unmarshal(raw, &d); err != nil {
			return fmt.Errorf("daily totals %s: %w", key, err)
		}
	}
	if was {
		d.Sales.Count--
		d.Sales.Amount -= old.Amount
	}
	if is {
		d.Sales.Add(r.Amount)
	}
	return putJSON(tx.Bucket(bucketDailyNew), key, d)
}

// reindex rebuilds every index and running total from the records: once,
// when a journal written before the indexes existed is opened. Card data is
// sealed again the way store seals it, so what a final transaction no
// longer needs is dropped.
func (j *Journal) reindex(tx *bolt.Tx) ([]uint32, error) {
	var recs []record
	if legacy := tx.Bucket(bucketTxns); legacy != nil {
		err := legacy.ForEach(func(k, v []byte) error {
			var r record
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("trace %x: %w", k, err)
			}
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if err := tx.DeleteBucket(bucketTxns); err != nil {
			return nil, err
		}
	}
	for _, b := range [][]byte{bucketRecords, bucketWhere, bucketByBatch, bucketByDay, bucketRRN, bucketOrig,
		bucketDoubt, bucketReversals, bucketTotals, bucketDaily, bucketWhereNew, bucketRRNNew, bucketDailyNew} {
		if err := tx.DeleteBucket(b); err != nil {
			return nil, err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	if err := tx.Bucket(bucketMeta).Delete(keySeq); err != nil {
		return nil, err
	}
	sortRecords(recs)
	var freed []uint32
	for i := range recs {
		t := recs[i].Txn
		if err := seal.OpenCard(j.aead, &t); err != nil {
			return nil, err
		}
		f, err := j.store(tx, t, true)
		if err != nil {
			return nil, err
		}
		freed = append(freed, f...)
	}
	return freed, nil
}
