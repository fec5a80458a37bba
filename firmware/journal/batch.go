package journal

// This file is the journal's end of day: the totals of a batch, the durable
// progress of a settlement, and the closed batches kept for reprint and
// audit. Closing a batch records it, erases the card data its batch upload
// could have needed and moves the open batch number on; retention.go
// removes it once it is older than the retention window.

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/layout"
	"kpos/firmware/journal/seal"
)

// Errors of the settlement records.
var (
	// ErrSettling: a settlement of the open batch is in progress; it must be
	// finished (resumed) before another starts or the batch changes.
	ErrSettling = errors.New("journal: a settlement is in progress")
	// ErrNoSettlement: there is no settlement in progress.
	ErrNoSettlement = errors.New("journal: no settlement in progress")
	// ErrNoBatch: no closed batch with that number.
	ErrNoBatch = errors.New("journal: no such closed batch")
	// ErrUnresolved: the batch still holds transactions in doubt or queued
	// for reversal; they must be resolved before it can be settled.
	ErrUnresolved = errors.New("journal: batch has unresolved transactions")
)

// Totals returns the figures of batch: the open batch's kept as its
// transactions change, a closed batch's as it was settled.
func (j *Journal) Totals(batch uint32) (Totals, error) {
	var t Totals
	err := j.db.View(func(tx *bolt.Tx) error {
		if raw := tx.Bucket(layout.Batches).Get(layout.U32(batch)); raw != nil {
			var cb ClosedBatch
			if err := json.Unmarshal(raw, &cb); err != nil {
				return err
			}
			t = cb.Totals
			return nil
		}
		var err error
		t, err = loadTotals(tx, batch)
		return err
	})
	if err != nil {
		return Totals{}, fmt.Errorf("journal: totals of batch %06d: %w", batch, err)
	}
	return t, nil
}

// OpenTotals returns the figures of the open batch.
func (j *Journal) OpenTotals() (Totals, error) {
	batch, err := j.Batch()
	if err != nil {
		return Totals{}, fmt.Errorf("journal: open batch: %w", err)
	}
	return j.Totals(batch)
}

func getSettlement(tx *bolt.Tx) (Settlement, bool, error) {
	raw := tx.Bucket(layout.Batches).Get(layout.KeySettlement)
	if raw == nil {
		return Settlement{}, false, nil
	}
	var s Settlement
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settlement{}, false, fmt.Errorf("settlement record: %w", err)
	}
	return s, true, nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}

// Settlement returns the settlement in progress, or ErrNoSettlement.
func (j *Journal) Settlement() (Settlement, error) {
	var s Settlement
	var ok bool
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		s, ok, err = getSettlement(tx)
		return err
	})
	if err != nil {
		return Settlement{}, fmt.Errorf("journal: %w", err)
	}
	if !ok {
		return Settlement{}, ErrNoSettlement
	}
	return s, nil
}

// Settling reports whether a settlement of the open batch is in progress.
// While it is, no transaction should join the batch.
func (j *Journal) Settling() (bool, error) {
	_, err := j.Settlement()
	if errors.Is(err, ErrNoSettlement) {
		return false, nil
	}
	return err == nil, err
}

// BeginSettlement allocates the settlement request's trace number and
// freezes the open batch's totals and the list of its transactions to
// upload, all in one commit and one pass over the batch. It refuses with
// ErrUnresolved while a transaction of the batch is in doubt or queued for
// reversal, and with ErrSettling when a settlement is already in progress
// (resume that one).
func (j *Journal) BeginSettlement() (Settlement, error) {
	var s Settlement
	err := j.db.Update(func(tx *bolt.Tx) error {
		if _, ok, err := getSettlement(tx); err != nil {
			return err
		} else if ok {
			return ErrSettling
		}
		meta := tx.Bucket(layout.Meta)
		batch := binary.BigEndian.Uint32(meta.Get(layout.KeyBatch))
		totals, err := loadTotals(tx, batch)
		if err != nil {
			return err
		}
		if totals.Unresolved > 0 {
			return fmt.Errorf("%w: %d in batch %06d", ErrUnresolved, totals.Unresolved, batch)
		}
		// The batch index is in the order the transactions were written.
		list := []byte{}
		err = forBatch(tx, batch, func(x *Txn) {
			if entry.Uploads(x, entry.Classify(x)) {
				list = binary.BigEndian.AppendUint32(list, x.Trace)
			}
		})
		if err != nil {
			return err
		}
		trace, err := j.nextTrace(tx)
		if err != nil {
			return err
		}
		s = Settlement{Batch: batch, Step: StepStarted, Started: j.now(), Totals: totals, Trace: trace,
			UploadTotal: len(list) / 4}
		bk := tx.Bucket(layout.Batches)
		if err := bk.Put(layout.KeyUpload, list); err != nil {
			return err
		}
		return putJSON(bk, layout.KeySettlement, s)
	})
	if err != nil {
		if errors.Is(err, ErrSettling) || errors.Is(err, ErrUnresolved) {
			return Settlement{}, err
		}
		return Settlement{}, fmt.Errorf("journal: begin settlement: %w", err)
	}
	return s, nil
}

// SaveSettlement records the settlement's progress. The step may only move
// forward (or stay, e.g. as uploads advance), and the batch must be the one
// in progress.
func (j *Journal) SaveSettlement(s Settlement) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		cur, ok, err := getSettlement(tx)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNoSettlement
		}
		if cur.Batch != s.Batch || cur.Trace != s.Trace {
			return fmt.Errorf("%w: batch %06d is being settled, not %06d", ErrTransition, cur.Batch, s.Batch)
		}
		if !cur.Step.CanBecome(s.Step) || s.Uploaded < cur.Uploaded {
			return fmt.Errorf("%w: settlement %s → %s", ErrTransition, cur.Step, s.Step)
		}
		return putJSON(tx.Bucket(layout.Batches), layout.KeySettlement, s)
	})
	if err != nil {
		if errors.Is(err, ErrNoSettlement) || errors.Is(err, ErrTransition) {
			return err
		}
		return fmt.Errorf("journal: save settlement: %w", err)
	}
	return nil
}

// UploadList returns the traces of the transactions the settlement in
// progress uploads when unbalanced, in upload order.
func (j *Journal) UploadList() ([]uint32, error) {
	var out []uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(layout.Batches).Get(layout.KeyUpload)
		if raw == nil {
			return ErrNoSettlement
		}
		out = make([]uint32, 0, len(raw)/4)
		for i := 0; i+4 <= len(raw); i += 4 {
			out = append(out, binary.BigEndian.Uint32(raw[i:]))
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNoSettlement) {
			return nil, err
		}
		return nil, fmt.Errorf("journal: upload list: %w", err)
	}
	return out, nil
}

// CloseBatch ends the settlement in progress: in one commit it records the
// closed batch (totals, times, the host's answer, how it was settled),
// removes the progress record, opens the next batch number and erases the
// ICC data kept for the batch upload, which is now sent or not needed. The
// batch's transactions stay in the journal until retention removes them
// (Prune, run here once the batch is closed).
func (j *Journal) CloseBatch(s Settlement) (ClosedBatch, error) {
	var cb ClosedBatch
	err := j.update(func(tx *bolt.Tx) ([]uint32, error) {
		if err := j.closeBatch(tx, s, &cb); err != nil {
			return nil, err
		}
		if err := foldOverlays(tx); err != nil {
			return nil, err
		}
		return j.eraseBatchSAD(tx, s.Batch)
	})
	if err != nil {
		if errors.Is(err, ErrNoSettlement) || errors.Is(err, ErrTransition) {
			return ClosedBatch{}, err
		}
		return ClosedBatch{}, fmt.Errorf("journal: close batch %06d: %w", s.Batch, err)
	}
	// The batch is closed whatever retention does; retention that cannot
	// archive now is tried again at the next close, at Open and when the
	// journal is full.
	_, _ = j.Prune()
	return cb, nil
}

// eraseBatchSAD stores again, without what they no longer need, the
// transactions of a closed batch that still hold card data.
func (j *Journal) eraseBatchSAD(tx *bolt.Tx, batch uint32) ([]uint32, error) {
	var held []uint32
	bb := tx.Bucket(layout.ByBatch).Bucket(layout.U32(batch))
	if bb != nil {
		err := bb.ForEach(func(_, v []byte) error {
			r, ok, err := getRecord(tx, binary.BigEndian.Uint32(v))
			if ok && r.Slot != 0 {
				held = append(held, r.Trace)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	var freed []uint32
	for _, trace := range held {
		r, _, err := getRecord(tx, trace)
		if err != nil {
			return nil, err
		}
		t := r.Txn
		if err := seal.OpenCard(j.aead, &t); err != nil {
			return nil, err
		}
		if err := j.openSAD(&r, &t); err != nil {
			return nil, err
		}
		f, err := j.store(tx, t, false)
		if err != nil {
			return nil, err
		}
		freed = append(freed, f...)
	}
	return freed, nil
}

func (j *Journal) closeBatch(tx *bolt.Tx, s Settlement, cb *ClosedBatch) error {
	cur, ok, err := getSettlement(tx)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoSettlement
	}
	if cur.Batch != s.Batch || cur.Trace != s.Trace {
		return fmt.Errorf("%w: batch %06d is being settled, not %06d", ErrTransition, cur.Batch, s.Batch)
	}
	if !s.Step.Reached(StepTotalsSent) || (!s.Balanced && s.Step != StepUploadEnd) {
		return fmt.Errorf("%w: cannot close a settlement at step %s (balanced %v)", ErrTransition, s.Step, s.Balanced)
	}
	meta := tx.Bucket(layout.Meta)
	open := binary.BigEndian.Uint32(meta.Get(layout.KeyBatch))
	if open != s.Batch {
		return fmt.Errorf("%w: open batch is %06d, settlement is of %06d", ErrTransition, open, s.Batch)
	}
	next := open + 1
	if next > 999999 {
		next = 1
	}
	*cb = ClosedBatch{Batch: s.Batch, Totals: s.Totals, Started: s.Started, Closed: j.now(), Trace: s.Trace,
		Balanced: s.Balanced, Answer: s.Answer, Attempts: s.Attempts, NextBatch: next}
	if !s.Balanced {
		cb.Uploaded = s.Uploaded
	}
	bk := tx.Bucket(layout.Batches)
	if err := putJSON(bk, layout.U32(s.Batch), cb); err != nil {
		return err
	}
	if err := tx.Bucket(layout.Totals).Delete(layout.U32(s.Batch)); err != nil {
		return err
	}
	if err := bk.Delete(layout.KeySettlement); err != nil {
		return err
	}
	if err := bk.Delete(layout.KeyUpload); err != nil {
		return err
	}
	return meta.Put(layout.KeyBatch, layout.U32(next))
}

// ClosedBatches returns every closed batch, oldest first.
func (j *Journal) ClosedBatches() ([]ClosedBatch, error) {
	var out []ClosedBatch
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Batches).ForEach(func(k, v []byte) error {
			if len(k) != 4 {
				return nil
			}
			var cb ClosedBatch
			if err := json.Unmarshal(v, &cb); err != nil {
				return fmt.Errorf("batch %x: %w", k, err)
			}
			out = append(out, cb)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: closed batches: %w", err)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Closed.Before(out[b].Closed) })
	return out, nil
}

// ClosedBatch returns the closed batch with number n. When batch numbers
// have wrapped, the most recent one with that number.
func (j *Journal) ClosedBatch(n uint32) (ClosedBatch, error) {
	var cb ClosedBatch
	err := j.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(layout.Batches).Get(layout.U32(n))
		if raw == nil {
			return ErrNoBatch
		}
		return json.Unmarshal(raw, &cb)
	})
	if err != nil {
		if errors.Is(err, ErrNoBatch) {
			return ClosedBatch{}, fmt.Errorf("%w: %06d", ErrNoBatch, n)
		}
		return ClosedBatch{}, fmt.Errorf("journal: closed batch %06d: %w", n, err)
	}
	return cb, nil
}

// LastClosedBatch returns the most recently closed batch, or ErrNoBatch.
func (j *Journal) LastClosedBatch() (ClosedBatch, error) {
	all, err := j.ClosedBatches()
	if err != nil {
		return ClosedBatch{}, err
	}
	if len(all) == 0 {
		return ClosedBatch{}, ErrNoBatch
	}
	return all[len(all)-1], nil
}

// MarkBatchPrinted records that the report of closed batch n was printed
// (reprint: counted as a reprint).
func (j *Journal) MarkBatchPrinted(n uint32, reprint bool) error {
	err := j.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(layout.Batches)
		raw := bk.Get(layout.U32(n))
		if raw == nil {
			return ErrNoBatch
		}
		var cb ClosedBatch
		if err := json.Unmarshal(raw, &cb); err != nil {
			return err
		}
		cb.Printed = true
		if reprint {
			cb.Reprints++
		}
		return putJSON(bk, layout.U32(n), cb)
	})
	if err != nil {
		if errors.Is(err, ErrNoBatch) {
			return fmt.Errorf("%w: %06d", ErrNoBatch, n)
		}
		return fmt.Errorf("journal: mark batch %06d printed: %w", n, err)
	}
	return nil
}
