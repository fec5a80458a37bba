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
	"kpos/firmware/journal/layout"
	"kpos/firmware/journal/seal"
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

// getRecord reads the record of trace (ok false when there is none).
func getRecord(tx *bolt.Tx, trace uint32) (record, bool, error) {
	day := whereIs(tx, layout.TxnKey(trace))
	if day == nil {
		return record{}, false, nil
	}
	b := tx.Bucket(layout.Records).Bucket(day)
	var raw []byte
	if b != nil {
		raw = b.Get(layout.TxnKey(trace))
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
	key := layout.TxnKey(r.Trace)
	if old == nil {
		seq := layout.U64(r.Seq)
		bb, err := nested(tx, layout.ByBatch, layout.U32(r.Batch), true)
		if err != nil {
			return err
		}
		if err := bb.Put(seq, key); err != nil {
			return err
		}
		bd, err := nested(tx, layout.ByDay, layout.DayKey(r.Created, j.loc), true)
		if err != nil {
			return err
		}
		if err := bd.Put(seq, key); err != nil {
			return err
		}
		if r.OrigTrace != 0 {
			if err := tx.Bucket(layout.Orig).Put(layout.OrigKey(r.OrigTrace, r.Trace), nil); err != nil {
				return err
			}
		}
	} else if old.Batch != r.Batch || old.OrigTrace != r.OrigTrace || !old.Created.Equal(r.Created) {
		return fmt.Errorf("trace %06d: batch, original and time of a transaction never change", r.Trace)
	}
	if old == nil || old.RRN != r.RRN {
		if old != nil && old.RRN != "" {
			if err := overlayDelete(tx, layout.RRNNew, layout.RRN, layout.RRNKey(old.RRN, r.Trace)); err != nil {
				return err
			}
		}
		if r.RRN != "" {
			if err := tx.Bucket(layout.RRNNew).Put(layout.RRNKey(r.RRN, r.Trace), nil); err != nil {
				return err
			}
		}
	}
	// Each index is written only when the record moves in or out of it:
	// a bucket left alone costs the commit no page.
	wasDoubt := old != nil && old.State.InDoubt()
	switch {
	case r.State.InDoubt() && !wasDoubt:
		if err := tx.Bucket(layout.Doubt).Put(key, nil); err != nil {
			return err
		}
	case !r.State.InDoubt() && wasDoubt:
		if err := tx.Bucket(layout.Doubt).Delete(key); err != nil {
			return err
		}
	}
	wasRev := old != nil && old.State == ReversalPending
	rev := tx.Bucket(layout.Reversals)
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
	key := layout.TxnKey(r.Trace)
	if bd, _ := nested(tx, layout.ByDay, layout.DayKey(r.Created, j.loc), false); bd != nil {
		if err := bd.Delete(layout.U64(r.Seq)); err != nil {
			return err
		}
		if k, _ := bd.Cursor().First(); k == nil {
			if err := tx.Bucket(layout.ByDay).DeleteBucket(layout.DayKey(r.Created, j.loc)); err != nil {
				return err
			}
			if err := overlayDelete(tx, layout.DailyNew, layout.Daily, layout.DayKey(r.Created, j.loc)); err != nil {
				return err
			}
		}
	}
	if r.RRN != "" {
		if err := overlayDelete(tx, layout.RRNNew, layout.RRN, layout.RRNKey(r.RRN, r.Trace)); err != nil {
			return err
		}
	}
	if r.OrigTrace != 0 {
		if err := tx.Bucket(layout.Orig).Delete(layout.OrigKey(r.OrigTrace, r.Trace)); err != nil {
			return err
		}
	}
	for _, b := range [][]byte{layout.Doubt, layout.Reversals} {
		if err := tx.Bucket(b).Delete(key); err != nil {
			return err
		}
	}
	return deleteRecord(tx, r.Trace)
}

// putRecord writes the record raw of trace, created on day.
func putRecord(tx *bolt.Tx, trace uint32, day, raw []byte) error {
	key := layout.TxnKey(trace)
	if cur := whereIs(tx, key); cur == nil {
		if err := tx.Bucket(layout.WhereNew).Put(key, day); err != nil {
			return err
		}
	} else if string(cur) != string(day) {
		return fmt.Errorf("trace %06d: recorded on %s, written on %s", trace, cur, day)
	}
	b, err := nested(tx, layout.Records, day, true)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// deleteRecord removes the record of trace, and its day's bucket once empty.
func deleteRecord(tx *bolt.Tx, trace uint32) error {
	key := layout.TxnKey(trace)
	day := whereIs(tx, key)
	if day == nil {
		return nil
	}
	day = append([]byte(nil), day...)
	if err := overlayDelete(tx, layout.WhereNew, layout.Where, key); err != nil {
		return err
	}
	b := tx.Bucket(layout.Records).Bucket(day)
	if b == nil {
		return nil
	}
	if err := b.Delete(key); err != nil {
		return err
	}
	if k, _ := b.Cursor().First(); k == nil {
		return tx.Bucket(layout.Records).DeleteBucket(day)
	}
	return nil
}

// loadTotals reads the running totals of batch.
func loadTotals(tx *bolt.Tx, batch uint32) (Totals, error) {
	raw := tx.Bucket(layout.Totals).Get(layout.U32(batch))
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
	if r.Batch != binary.BigEndian.Uint32(tx.Bucket(layout.Meta).Get(layout.KeyBatch)) {
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
	return putJSON(tx.Bucket(layout.Totals), layout.U32(r.Batch), t)
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
	bb := tx.Bucket(layout.ByBatch).Bucket(layout.U32(batch))
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
	key := layout.DayKey(r.Created, j.loc)
	var d entry.DayTotals
	if raw := overlayGet(tx, layout.DailyNew, layout.Daily, key); raw != nil {
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
	return putJSON(tx.Bucket(layout.DailyNew), key, d)
}

// reindex rebuilds every index and running total from the records: once,
// when a journal written before the indexes existed is opened. Card data is
// sealed again the way store seals it, so what a final transaction no
// longer needs is dropped.
func (j *Journal) reindex(tx *bolt.Tx) ([]uint32, error) {
	var recs []record
	if legacy := tx.Bucket(layout.Txns); legacy != nil {
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
		if err := tx.DeleteBucket(layout.Txns); err != nil {
			return nil, err
		}
	}
	for _, b := range [][]byte{layout.Records, layout.Where, layout.ByBatch, layout.ByDay, layout.RRN, layout.Orig,
		layout.Doubt, layout.Reversals, layout.Totals, layout.Daily, layout.WhereNew, layout.RRNNew, layout.DailyNew} {
		if err := tx.DeleteBucket(b); err != nil {
			return nil, err
		}
		if _, err := tx.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	if err := tx.Bucket(layout.Meta).Delete(layout.KeySeq); err != nil {
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
