package journal

// This file keeps sensitive authentication data (track 2, the ICC data of
// field 55) only as long as something can still need it, and makes it
// unrecoverable afterwards (PCI DSS v3.2.1 requirement 3.2, v4.0 3.3.1: no
// sensitive authentication data after authorization, even encrypted).
//
// bbolt never overwrites a page in place: an updated record is written to a
// new page and the old one only joins the free list, so a record's earlier
// versions stay in the file until bbolt happens to reuse their pages.
// Deleting the data from the record is therefore not enough. Each
// transaction's SAD is sealed under a random key of its own, and that key
// (itself sealed under the journal's key) lives in a fixed slot of a small
// side file, journal.db.sad (firmware/journal/seal), which is overwritten in place. Purging zeroes
// the slot and fsyncs it: every copy of the SAD, live or in a freed page or
// in a backup of journal.db, is then ciphertext without a key
// (cryptographic erase, NIST SP 800-88 Rev. 1 §2.6).
//
// What needs it, and so how long it stays:
//   - Pending, Approved, ReversalPending: a reversal may have to be sent
//     (field 35, field 55): kept.
//   - Completed, when the transaction goes in a batch upload (chip and
//     contactless sales, completions and refunds carry field 55 in the
//     0320, docs/acquirer.md): the ICC data is kept until the batch is
//     closed, track 2 is not. Otherwise nothing is kept.
//   - Declined, Reversed, Voided: nothing is kept.
// The PIN block is never written to the journal at all.

import (
	"crypto/cipher"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/layout"
	"kpos/firmware/journal/seal"
)

// newSlot allocates a slot in tx and writes a fresh key into it (durably,
// before tx commits: a crash in between leaves a slot no record names,
// which the next Open erases). It returns the slot and the key's AEAD.
func (j *Journal) newSlot(tx *bolt.Tx, trace uint32) (uint32, cipher.AEAD, error) {
	var slot uint32
	free := tx.Bucket(layout.SlotFree)
	if k, _ := free.Cursor().First(); k != nil {
		slot = binary.BigEndian.Uint32(k)
		if err := free.Delete(k); err != nil {
			return 0, nil, err
		}
	} else {
		meta := tx.Bucket(layout.Meta)
		if v := meta.Get(layout.KeySlotNext); v != nil {
			slot = binary.BigEndian.Uint32(v)
		}
		if err := meta.Put(layout.KeySlotNext, layout.U32(slot+1)); err != nil {
			return 0, nil, err
		}
	}
	if err := tx.Bucket(layout.Slots).Put(layout.U32(slot), layout.U32(trace)); err != nil {
		return 0, nil, err
	}
	aead, err := j.slots.NewKey(j.aead, slot)
	return slot, aead, err
}

// freeSlot returns slot to the free list in tx; the caller erases it once
// tx has committed.
func freeSlot(tx *bolt.Tx, slot uint32) error {
	if err := tx.Bucket(layout.Slots).Delete(layout.U32(slot)); err != nil {
		return err
	}
	return tx.Bucket(layout.SlotFree).Put(layout.U32(slot), nil)
}

// sealSAD seals what r may keep of secret into r, reusing r's slot when it
// has one. It returns the slot freed when nothing is left to keep.
func (j *Journal) sealSAD(tx *bolt.Tx, r *record, secret Sensitive) (freed []uint32, err error) {
	keepT2, keepICC := entry.KeepSAD(&r.Txn, binary.BigEndian.Uint32(tx.Bucket(layout.Meta).Get(layout.KeyBatch)))
	var s seal.SAD
	if keepT2 {
		s.Track2 = secret.Track2
	}
	if keepICC {
		s.ICCData = secret.ICCData
	}
	if s.Track2 == nil && s.ICCData == nil {
		r.SAD = nil
		if r.Slot != 0 {
			freed = []uint32{r.Slot - 1}
			if err := freeSlot(tx, r.Slot-1); err != nil {
				return nil, err
			}
			r.Slot = 0
		}
		return freed, nil
	}
	var aead cipher.AEAD
	var lost uint32 // a slot to erase once a new one holds the data, plus 1
	if r.Slot != 0 && ((secret.Track2 != nil && s.Track2 == nil) || (secret.ICCData != nil && s.ICCData == nil)) {
		// Part of the data goes: under the same key, the older copies
		// bbolt left in freed pages would still open. A new key, and the
		// old one erased.
		lost, r.Slot = r.Slot, 0
	}
	if r.Slot != 0 {
		var ok bool
		if aead, ok, err = j.slots.Key(j.aead, r.Slot-1); err != nil {
			return nil, err
		} else if !ok {
			// The key is gone (a restored backup): a new one.
			lost, r.Slot = r.Slot, 0
		}
	}
	if r.Slot == 0 {
		var slot uint32
		if slot, aead, err = j.newSlot(tx, r.Trace); err != nil {
			return nil, err
		}
		r.Slot = slot + 1
	}
	if lost != 0 {
		// Freed only now, so the new slot cannot be this one.
		if err := freeSlot(tx, lost-1); err != nil {
			return nil, err
		}
		freed = append(freed, lost-1)
	}
	r.SAD, err = seal.SealSAD(aead, r.Slot-1, r.Trace, s)
	return freed, err
}

// openSAD fills t's Track2 and ICCData from r. When the slot's key is gone
// (a journal restored from a backup, which never holds the key slots), t
// has none: a reversal goes out with the PAN and expiry only.
func (j *Journal) openSAD(r *record, t *Txn) error {
	if r.Slot == 0 || len(r.SAD) == 0 {
		return nil
	}
	aead, ok, err := j.slots.Key(j.aead, r.Slot-1)
	if err != nil || !ok {
		return err
	}
	s, err := seal.OpenSAD(aead, r.Slot-1, r.Trace, r.SAD)
	if err != nil {
		return err
	}
	t.Secret.Track2, t.Secret.ICCData = s.Track2, s.ICCData
	return nil
}

// scrubSlots erases every slot no record holds: those freed by a commit
// that a crash kept from being erased, and those written for a commit that
// never happened.
func (j *Journal) scrubSlots() error {
	var stale []uint32
	var next uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(layout.Meta).Get(layout.KeySlotNext); v != nil {
			next = binary.BigEndian.Uint32(v)
		}
		used := tx.Bucket(layout.Slots)
		for n := uint32(0); n < next; n++ {
			if used.Get(layout.U32(n)) == nil {
				stale = append(stale, n)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return j.slots.Cut(stale, next)
}
