package journal

// This file keeps the commits of a sale about as small on a journal of
// 100,000 transactions as on an empty one. Three indexes grow with the
// whole history: where each trace is recorded, the RRNs and the daily
// figures. A new entry in one of them rewrites a path through a tree that
// deepens and widens with the history (branch pages and a leaf, spread over
// the file), in every sale. So the entries made since the last batch close
// go to a small bucket beside each (its overlay, a page or two that the
// day's sales keep rewriting), and closing the batch moves them into the
// big one, in the commit that closes it: once a day, not once a sale.
// Readers look in the overlay first, then in the big bucket: the overlay's
// entry of a key is the newer one, and a deletion removes the key from both.

import (
	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/layout"
)

// overlays pairs each overlay with the bucket it is folded into.
var overlays = [][2][]byte{
	{layout.WhereNew, layout.Where},
	{layout.RRNNew, layout.RRN},
	{layout.DailyNew, layout.Daily},
}

// overlayGet reads key from the overlay hot, then from cold.
func overlayGet(tx *bolt.Tx, hot, cold, key []byte) []byte {
	if v := tx.Bucket(hot).Get(key); v != nil {
		return v
	}
	return tx.Bucket(cold).Get(key)
}

// overlayDelete removes key from the overlay hot and from cold. A bucket
// that does not hold key is left alone and costs the commit no page.
func overlayDelete(tx *bolt.Tx, hot, cold, key []byte) error {
	for _, name := range [][]byte{hot, cold} {
		b := tx.Bucket(name)
		if b.Get(key) == nil {
			continue
		}
		if err := b.Delete(key); err != nil {
			return err
		}
	}
	return nil
}

// whereIs is the day the record of the trace key is in (nil when none).
func whereIs(tx *bolt.Tx, key []byte) []byte {
	return overlayGet(tx, layout.WhereNew, layout.Where, key)
}

// foldOverlays moves every overlay entry into its big bucket and empties
// the overlays (closing a batch).
func foldOverlays(tx *bolt.Tx) error {
	for _, o := range overlays {
		hot, cold := tx.Bucket(o[0]), tx.Bucket(o[1])
		if k, _ := hot.Cursor().First(); k == nil {
			continue
		}
		// In key order: mostly appends at the big bucket's right edge.
		if err := hot.ForEach(func(k, v []byte) error { return cold.Put(k, v) }); err != nil {
			return err
		}
		if err := tx.DeleteBucket(o[0]); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(o[0]); err != nil {
			return err
		}
	}
	return nil
}
