// Package layout is the journal's on-disk schema: the name of every bbolt
// bucket and meta key, the encoding of keys, the page size of a new file
// and the version of the layout. A name or an encoding here changes only
// with Version and a migration in the journal; docs/journal.md draws the
// same map. It knows nothing of transactions: what the values hold is
// firmware/journal/entry's, and reading and writing them the journal's.
package layout

import (
	"encoding/binary"
	"time"
)

// PageSize is the bbolt page size of a new journal file (an existing file
// keeps the size it was made with). What a commit costs is the bytes it
// copies and writes and the number of separate places it writes to, not
// the depth of the trees: measured on journals of 0, 10,000 and 100,000
// sales (docs/journal.md), 4 KB pages (the flash and OS page) cost a sale
// on a full journal less than 16 KB ones, which rewrite four times the
// bytes for every node a commit touches and spread a commit's writes four
// times as wide.
const PageSize = 4 << 10

// Version is the layout of the file: 2 has the indexes, running totals and
// key slots.
const Version = 2

// The top-level buckets and the keys of Meta.
var (
	Meta      = []byte("meta")
	Txns      = []byte("txns") // the records before layout 2: trace → record
	Reversals = []byte("reversals")
	Batches   = []byte("batches") // batch → closed batch, and the keys below

	KeyTrace   = []byte("trace")
	KeyBatch   = []byte("batch")
	KeyVersion = []byte("version")
	KeyWrapped = []byte("wrapped") // the trace number has wrapped at least once
	KeyPruned  = []byte("pruned")  // the close time of the newest batch retention removed
	KeySeq     = []byte("seq")

	// Keys of Batches besides the closed batches (which are keyed by their
	// 4-byte batch number).
	KeySettlement = []byte("settlement") // the settlement in progress
	KeyUpload     = []byte("upload")     // the traces to upload, frozen at the start
)

// The records and their indexes.
var (
	// The records live in one bucket per calendar day, so that a commit
	// rewrites a path through a day's records, not through the whole
	// history; "where" finds a trace's day.
	Records = []byte("records")  // YYYYMMDD → {trace → record}
	Where   = []byte("where")    // trace → YYYYMMDD
	ByBatch = []byte("by-batch") // batch → {seq → trace}
	ByDay   = []byte("by-day")   // YYYYMMDD → {seq → trace}, every live record, oldest first
	RRN     = []byte("by-rrn")   // rrn 0x00 trace → nothing
	Orig    = []byte("by-orig")  // original trace, trace → nothing
	Doubt   = []byte("in-doubt") // trace → nothing, for Pending and Approved
	Totals  = []byte("totals")   // open batch → Totals, kept as records change
	Daily   = []byte("daily")    // YYYYMMDD → entry.DayTotals

	// Since the last batch close, new entries of the three indexes that
	// grow with the whole history go to small buckets of their own, folded
	// into the big ones when the batch closes (the journal's overlay.go).
	WhereNew = []byte("where-new")
	RRNNew   = []byte("by-rrn-new")
	DailyNew = []byte("daily-new")
)

// The key slots of sensitive authentication data (firmware/journal/seal).
var (
	Slots       = []byte("sad-slots") // slot → trace: slots in use
	SlotFree    = []byte("sad-free")  // slot → nothing: slots to reuse
	KeySlotNext = []byte("sad-next")  // in Meta: slots ever used (the file's length / seal.SlotSize)
)

// U32 is v as a 4-byte big-endian key: trace and batch numbers, slots.
func U32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

// U64 is v as an 8-byte big-endian key: sequence numbers.
func U64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// TxnKey is the key of a record.
func TxnKey(trace uint32) []byte { return U32(trace) }

// DayKey is the calendar day of at in loc, as an index key.
func DayKey(at time.Time, loc *time.Location) []byte {
	return []byte(at.In(loc).Format("20060102"))
}

// RRNKey is the key of trace in the RRN index.
func RRNKey(rrn string, trace uint32) []byte {
	return append(append([]byte(rrn), 0), U32(trace)...)
}

// OrigKey is the key of trace in the index of originals.
func OrigKey(orig, trace uint32) []byte { return append(U32(orig), U32(trace)...) }
