package journal

// This file bounds the journal: a settled batch stays for the retention
// window (Options.RetentionDays after it closed), long enough for reprints,
// voids' and refunds' lookups and disputes at the counter; then it is
// written to a compressed archive and deleted. Together with trace numbers
// that wrap and pages bbolt reuses, the file stops growing once the window
// is full.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/archive"
	"kpos/firmware/journal/layout"
)

// Prune archives, then deletes, every settled batch that closed before the
// retention window. A transaction still in doubt or queued for reversal is
// never deleted. It returns how many batches went.
func (j *Journal) Prune() (int, error) {
	cutoff := j.now().Add(-j.retention)
	var old []ClosedBatch
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Batches).ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return nil
			}
			var cb ClosedBatch
			if err := json.Unmarshal(v, &cb); err != nil {
				return fmt.Errorf("batch %x: %w", k, err)
			}
			if cb.Closed.Before(cutoff) {
				old = append(old, cb)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	sort.SliceStable(old, func(a, b int) bool { return old[a].Closed.Before(old[b].Closed) })
	for n, cb := range old {
		if err := j.pruneBatch(cb); err != nil {
			return n, err
		}
	}
	if len(old) > 0 {
		if err := archive.Cap(j.archiveDir, j.archiveMax); err != nil {
			return len(old), err
		}
	}
	return len(old), nil
}

// pruneBatch archives batch cb and deletes it.
func (j *Journal) pruneBatch(cb ClosedBatch) error {
	txns, err := j.List(cb.Batch)
	if err != nil {
		return err
	}
	if err := j.archive(cb, txns); err != nil {
		return fmt.Errorf("journal: archive batch %06d: %w", cb.Batch, err)
	}
	err = j.update(func(tx *bolt.Tx) ([]uint32, error) {
		var freed []uint32
		bb := tx.Bucket(layout.ByBatch).Bucket(layout.U32(cb.Batch))
		var kept int
		for _, x := range txns {
			if x.State.InDoubt() || x.State == ReversalPending {
				kept++
				continue
			}
			r, ok, err := getRecord(tx, x.Trace)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if r.Slot != 0 {
				if err := freeSlot(tx, r.Slot-1); err != nil {
					return nil, err
				}
				freed = append(freed, r.Slot-1)
			}
			if err := j.unindex(tx, &r); err != nil {
				return nil, err
			}
			if bb != nil {
				if err := bb.Delete(layout.U64(r.Seq)); err != nil {
					return nil, err
				}
			}
		}
		if kept == 0 && bb != nil {
			if err := tx.Bucket(layout.ByBatch).DeleteBucket(layout.U32(cb.Batch)); err != nil {
				return nil, err
			}
			if err := tx.Bucket(layout.Totals).Delete(layout.U32(cb.Batch)); err != nil {
				return nil, err
			}
		}
		if err := tx.Bucket(layout.Batches).Delete(layout.U32(cb.Batch)); err != nil {
			return nil, err
		}
		meta := tx.Bucket(layout.Meta)
		var newest time.Time
		if v := meta.Get(layout.KeyPruned); v != nil {
			_ = newest.UnmarshalBinary(v)
		}
		if cb.Closed.After(newest) {
			raw, err := cb.Closed.MarshalBinary()
			if err != nil {
				return nil, err
			}
			if err := meta.Put(layout.KeyPruned, raw); err != nil {
				return nil, err
			}
		}
		return freed, nil
	})
	if err != nil {
		return fmt.Errorf("journal: prune batch %06d: %w", cb.Batch, err)
	}
	return nil
}

// archive writes cb and its transactions (masked, no card data) as JSON
// lines, gzipped, durably, before anything is deleted.
func (j *Journal) archive(cb ClosedBatch, txns []Txn) error {
	return archive.Write(j.archiveDir, archive.Name(cb.Closed.In(j.loc), cb.Batch), func(enc *json.Encoder) error {
		if err := enc.Encode(cb); err != nil {
			return err
		}
		for _, x := range txns {
			x.Secret, x.Sealed = Sensitive{}, nil
			if err := enc.Encode(x); err != nil {
				return err
			}
		}
		return nil
	})
}

// Stats reads the journal's size figures.
func (j *Journal) Stats() (Stats, error) {
	var s Stats
	err := j.db.View(func(tx *bolt.Tx) error {
		s.Live = tx.Bucket(layout.Where).Stats().KeyN + tx.Bucket(layout.WhereNew).Stats().KeyN
		s.KeySlots = tx.Bucket(layout.Slots).Stats().KeyN
		_ = tx.Bucket(layout.Batches).ForEach(func(k, _ []byte) error {
			if len(k) == 4 {
				s.Closed++
			}
			return nil
		})
		s.FileBytes = tx.Size()
		s.LiveBytes = s.FileBytes - int64(j.db.Stats().FreePageN)*int64(j.db.Info().PageSize)
		meta := tx.Bucket(layout.Meta)
		if v := meta.Get(layout.KeyTrace); v != nil {
			s.Trace = binary.BigEndian.Uint32(v)
		}
		s.Wrapped = meta.Get(layout.KeyWrapped) != nil
		return nil
	})
	s.RetainDays = int(j.retention / (24 * time.Hour))
	if err != nil {
		return Stats{}, fmt.Errorf("journal: stats: %w", err)
	}
	return s, nil
}

// RetentionDays is how many days a settled batch stays after it closed.
func (j *Journal) RetentionDays() int { return int(j.retention / (24 * time.Hour)) }

// Import records transactions that happened elsewhere, already final (a
// restore from an archive, a history to measure against), many to a
// commit, with their indexes and running totals. Each must be new to the
// journal; the trace counter moves past the highest imported.
func (j *Journal) Import(txns []Txn) error {
	const perCommit = 2000
	for len(txns) > 0 {
		n := min(perCommit, len(txns))
		err := j.update(func(tx *bolt.Tx) ([]uint32, error) {
			meta := tx.Bucket(layout.Meta)
			var last uint32
			if v := meta.Get(layout.KeyTrace); v != nil {
				last = binary.BigEndian.Uint32(v)
			}
			var freed []uint32
			for _, t := range txns[:n] {
				if t.Trace == 0 || t.Trace > j.traceMax || t.State.InDoubt() || t.State == ReversalPending || t.State == "" {
					return nil, fmt.Errorf("trace %06d: only final transactions with a trace number are imported", t.Trace)
				}
				f, err := j.store(tx, t, true)
				if err != nil {
					return nil, err
				}
				freed = append(freed, f...)
				last = max(last, t.Trace)
			}
			return freed, meta.Put(layout.KeyTrace, layout.U32(last))
		})
		if err != nil {
			return fmt.Errorf("journal: import: %w", err)
		}
		txns = txns[n:]
	}
	return nil
}
