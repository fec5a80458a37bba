package journal

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/durable"
	"kpos/firmware/journal/entry"
	"kpos/firmware/journal/layout"
	"kpos/firmware/journal/seal"
)

// Errors callers branch on.
var (
	ErrNotFound = errors.New("journal: no such transaction")
	// ErrOutsideWindow (which also matches ErrNotFound): the transaction
	// was in a settled batch older than the retention window, archived and
	// removed from the journal.
	ErrOutsideWindow = fmt.Errorf("%w: older than the retention window, archived", ErrNotFound)
	ErrFull          = errors.New("journal: full, and retention could free nothing: settle the open batch " +
		"and send the queued reversals; if it stays full, shorten the retention or call support")
	ErrBadSealKey = errors.New("journal: seal key must be 32 bytes")
	ErrTransition = errors.New("journal: state change not allowed")
)

// Defaults of Options.
const (
	DefaultRetentionDays   = 90
	DefaultMaxBytes        = 256 << 20
	DefaultArchiveMaxBytes = 32 << 20
	TraceMax               = 999999 // system trace audit numbers run 000001..999999 (ISO 8583 field 11)
)

// Options tune Open.
type Options struct {
	// MaxBytes bounds the live data in the database file; Begin refuses new
	// transactions past it once retention can free nothing. 32-bit ARM
	// caps the mmap at 2 GB; the default of 256 MB keeps far below that.
	MaxBytes int64
	// RetentionDays is how long a settled batch stays in the journal after
	// it closed (DefaultRetentionDays when 0). Older batches are archived,
	// then deleted.
	RetentionDays int
	// ArchiveDir receives the archive of each batch retention removes
	// ("archive" beside the journal when empty); ArchiveMaxBytes caps it,
	// the oldest archives going first (DefaultArchiveMaxBytes when 0).
	ArchiveDir      string
	ArchiveMaxBytes int64
	// TraceMax is the last trace number before it wraps to 1 (TraceMax
	// when 0; smaller only in tests).
	TraceMax uint32
	// Location is where calendar days (the daily limit, lookups by date)
	// begin (time.Local when nil).
	Location *time.Location
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// NoSync skips fsync on commit. TEST ONLY: a power cut may lose
	// transactions.
	NoSync bool
}

// Journal is an open journal file.
type Journal struct {
	db    *bolt.DB
	aead  cipher.AEAD
	slots *seal.Slots
	// wmu serializes writes that free key slots with the erasing of those
	// slots, so a slot is never handed out again before it is erased.
	wmu        sync.Mutex
	max        int64
	now        func() time.Time
	loc        *time.Location
	retention  time.Duration
	archiveDir string
	archiveMax int64
	traceMax   uint32
}

// Open opens or creates the journal at path, and its key-slot file at
// path+".sad". sealKey (32 bytes) seals card data at rest. A journal from
// before the indexes is indexed once; then settled batches older than the
// retention window are archived and removed.
func Open(path string, sealKey []byte, opt Options) (*Journal, error) {
	if len(sealKey) != 32 {
		return nil, ErrBadSealKey
	}
	aead, err := seal.NewAEAD(sealKey)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if opt.MaxBytes == 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.RetentionDays <= 0 {
		opt.RetentionDays = DefaultRetentionDays
	}
	if opt.ArchiveDir == "" {
		opt.ArchiveDir = filepath.Join(filepath.Dir(path), "archive")
	}
	if opt.ArchiveMaxBytes == 0 {
		opt.ArchiveMaxBytes = DefaultArchiveMaxBytes
	}
	if opt.TraceMax == 0 || opt.TraceMax > TraceMax {
		opt.TraceMax = TraceMax
	}
	if opt.Location == nil {
		opt.Location = time.Local
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	slots, err := seal.OpenSlots(path+".sad", opt.NoSync)
	if err != nil {
		return nil, fmt.Errorf("journal: open key slots: %w", err)
	}
	// The free list is not written at every commit but rebuilt from the
	// pages when the file is opened (as etcd runs bbolt): a commit then
	// writes only the pages it changed and the meta page, whatever the
	// size of the journal. The map free list keeps allocation cheap when
	// retention has freed many pages.
	_, statErr := os.Stat(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, InitialMmapSize: 8 << 20,
		NoSync: opt.NoSync, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, PageSize: layout.PageSize})
	if err != nil {
		slots.Close()
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// bbolt syncs the file, not its name: a new journal's name is
		// made durable here (with the key-slot file's), or a power cut
		// could take the whole file.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			db.Close()
			slots.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	j := &Journal{db: db, aead: aead, slots: slots, max: opt.MaxBytes, now: opt.Now, loc: opt.Location,
		retention: time.Duration(opt.RetentionDays) * 24 * time.Hour, archiveDir: opt.ArchiveDir,
		archiveMax: opt.ArchiveMaxBytes, traceMax: opt.TraceMax}
	var freed []uint32
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{layout.Meta, layout.Reversals, layout.Batches, layout.Records, layout.Where,
			layout.ByBatch, layout.ByDay, layout.RRN, layout.Orig, layout.Doubt, layout.Totals, layout.Daily,
			layout.Slots, layout.SlotFree, layout.WhereNew, layout.RRNNew, layout.DailyNew} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(layout.Meta)
		if meta.Get(layout.KeyBatch) == nil {
			if err := meta.Put(layout.KeyBatch, layout.U32(1)); err != nil {
				return err
			}
		}
		if v := meta.Get(layout.KeyVersion); v == nil || binary.BigEndian.Uint32(v) < layout.Version {
			var err error
			if freed, err = j.reindex(tx); err != nil {
				return fmt.Errorf("index: %w", err)
			}
			return meta.Put(layout.KeyVersion, layout.U32(layout.Version))
		}
		return nil
	})
	if err == nil {
		err = j.slots.Zero(freed)
	}
	if err == nil {
		err = j.scrubSlots()
	}
	if err == nil {
		// Retention that cannot archive (a full or read-only disk) does
		// not stop the terminal: it is tried again after every settlement
		// and when the journal is full, which then says so.
		_, _ = j.Prune()
	}
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("journal: init: %w", err)
	}
	return j, nil
}

// Close closes the files.
func (j *Journal) Close() error {
	return errors.Join(j.db.Close(), j.slots.Close())
}

// Path returns the file's path.
func (j *Journal) Path() string { return j.db.Path() }

// update runs fn in a write transaction and, once it has committed, erases
// the key slots fn freed.
func (j *Journal) update(fn func(tx *bolt.Tx) (freed []uint32, err error)) error {
	j.wmu.Lock()
	defer j.wmu.Unlock()
	var freed []uint32
	err := j.db.Update(func(tx *bolt.Tx) error {
		var err error
		freed, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	if err := j.slots.Zero(freed); err != nil {
		return fmt.Errorf("journal: erase card data: %w", err)
	}
	return nil
}

// NextTrace durably allocates the next system trace audit number
// (1..999999, then 1 again). A trace number is never handed out twice while
// a transaction with it is in the journal, even across a power cut.
func (j *Journal) NextTrace() (uint32, error) {
	var trace uint32
	err := j.update(func(tx *bolt.Tx) ([]uint32, error) {
		var err error
		trace, err = j.nextTrace(tx)
		return nil, err
	})
	if err != nil {
		return 0, fmt.Errorf("journal: next trace: %w", err)
	}
	return trace, nil
}

// nextTrace allocates a trace number in tx, skipping those still in use.
func (j *Journal) nextTrace(tx *bolt.Tx) (uint32, error) {
	meta := tx.Bucket(layout.Meta)
	var trace uint32
	if v := meta.Get(layout.KeyTrace); v != nil {
		trace = binary.BigEndian.Uint32(v)
	}
	for tries := uint32(0); ; tries++ {
		if tries >= j.traceMax {
			return 0, ErrFull
		}
		if trace++; trace > j.traceMax {
			trace = 1
			if err := meta.Put(layout.KeyWrapped, []byte{1}); err != nil {
				return 0, err
			}
		}
		if whereIs(tx, layout.TxnKey(trace)) == nil {
			break
		}
	}
	return trace, meta.Put(layout.KeyTrace, layout.U32(trace))
}

// Batch returns the open batch number.
func (j *Journal) Batch() (uint32, error) {
	var batch uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		batch = binary.BigEndian.Uint32(tx.Bucket(layout.Meta).Get(layout.KeyBatch))
		return nil
	})
	return batch, err
}

// Begin records t as it is about to be acted on. Trace and Batch must be
// set. It refuses with ErrSettling while a settlement is in progress, and
// with ErrFull when the journal is full and retention can free nothing.
func (j *Journal) Begin(t Txn) error {
	if t.Trace == 0 {
		return fmt.Errorf("journal: begin without a trace number")
	}
	if j.full() {
		_, perr := j.Prune()
		if j.full() {
			if perr != nil {
				return fmt.Errorf("%w (retention could not archive: %v)", ErrFull, perr)
			}
			return ErrFull
		}
	}
	now := j.now()
	t.Created, t.Updated = now, now
	if t.State == "" {
		t.State = Pending
	}
	return j.put(t, true)
}

// full reports whether the live data has reached MaxBytes. Pages bbolt
// freed are reused before the file grows, so they do not count.
func (j *Journal) full() bool {
	var used int64
	_ = j.db.View(func(tx *bolt.Tx) error {
		used = tx.Size() - int64(j.db.Stats().FreePageN)*int64(j.db.Info().PageSize)
		return nil
	})
	return used >= j.max
}

func (j *Journal) put(t Txn, mustBeNew bool) error {
	err := j.update(func(tx *bolt.Tx) ([]uint32, error) {
		if mustBeNew {
			// The batch is frozen while it settles: a sale now would
			// belong to a batch whose totals were already sent.
			if _, ok, err := getSettlement(tx); err != nil {
				return nil, err
			} else if ok {
				return nil, ErrSettling
			}
		}
		return j.store(tx, t, mustBeNew)
	})
	if err != nil {
		if errors.Is(err, ErrSettling) {
			return err
		}
		return fmt.Errorf("journal: write trace %06d: %w", t.Trace, err)
	}
	return nil
}

// store writes t in tx with its indexes and running totals, keeping only the
// card data its state still needs. It returns the key slots to erase.
func (j *Journal) store(tx *bolt.Tx, t Txn, mustBeNew bool) ([]uint32, error) {
	old, exists, err := getRecord(tx, t.Trace)
	if err != nil {
		return nil, err
	}
	if mustBeNew && exists {
		return nil, fmt.Errorf("trace %06d already recorded", t.Trace)
	}
	if !exists {
		return j.storeOver(tx, t, nil)
	}
	return j.storeOver(tx, t, &old)
}

// storeOver is store when the record t replaces (old, nil when none) is
// already read.
func (j *Journal) storeOver(tx *bolt.Tx, t Txn, old *record) ([]uint32, error) {
	r := record{Txn: t}
	if old != nil {
		r.Seq, r.Slot = old.Seq, old.Slot
	} else {
		meta := tx.Bucket(layout.Meta)
		if v := meta.Get(layout.KeySeq); v != nil {
			r.Seq = binary.BigEndian.Uint64(v)
		}
		r.Seq++
		if err := meta.Put(layout.KeySeq, layout.U64(r.Seq)); err != nil {
			return nil, err
		}
	}
	if err := seal.Card(j.aead, &r.Txn); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	freed, err := j.sealSAD(tx, &r, t.Secret)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	r.Secret = Sensitive{}
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if err := putRecord(tx, t.Trace, layout.DayKey(t.Created, j.loc), raw); err != nil {
		return nil, err
	}
	return freed, j.index(tx, old, &r)
}

// Update applies change to the transaction with trace and commits it, in
// one bbolt transaction. The state change, if any, must be one the journal
// allows. Card data the new state no longer needs is erased in the same
// step (sad.go).
func (j *Journal) Update(trace uint32, change func(*Txn)) (Txn, error) {
	var t Txn
	err := j.update(func(tx *bolt.Tx) ([]uint32, error) {
		old, ok, err := getRecord(tx, trace)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%w: trace %06d", ErrNotFound, trace)
		}
		if t, err = j.open(&old); err != nil {
			return nil, err
		}
		from := t.State
		change(&t)
		if t.State != from {
			if !from.CanBecome(t.State) {
				return nil, fmt.Errorf("%w: trace %06d %s → %s", ErrTransition, trace, from, t.State)
			}
		}
		t.Trace = trace
		t.Updated = j.now()
		return j.storeOver(tx, t, &old)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrTransition) {
			return Txn{}, err
		}
		return Txn{}, fmt.Errorf("journal: write trace %06d: %w", trace, err)
	}
	return t, nil
}

// open is r's transaction with its card data unsealed.
func (j *Journal) open(r *record) (Txn, error) {
	t := r.Txn
	if err := seal.OpenCard(j.aead, &t); err != nil {
		return Txn{}, err
	}
	if err := j.openSAD(r, &t); err != nil {
		return Txn{}, err
	}
	t.Sealed = nil
	return t, nil
}

// Get returns the transaction with trace, card data unsealed. A trace
// retention removed is ErrOutsideWindow.
func (j *Journal) Get(trace uint32) (Txn, error) {
	var r record
	var pruned time.Time
	var found, wrapped bool
	var last uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		r, found, err = getRecord(tx, trace)
		if err != nil || found {
			return err
		}
		meta := tx.Bucket(layout.Meta)
		if v := meta.Get(layout.KeyPruned); v != nil {
			_ = pruned.UnmarshalBinary(v)
		}
		wrapped = meta.Get(layout.KeyWrapped) != nil
		if v := meta.Get(layout.KeyTrace); v != nil {
			last = binary.BigEndian.Uint32(v)
		}
		return nil
	})
	if err != nil {
		return Txn{}, fmt.Errorf("journal: read trace %06d: %w", trace, err)
	}
	if !found {
		// A number already handed out, from a journal retention has
		// pruned, can only have gone with an archived batch.
		if !pruned.IsZero() && trace != 0 && trace <= j.traceMax && (wrapped || trace <= last) {
			return Txn{}, fmt.Errorf("%w: trace %06d (settled batches closed before %s are archived)",
				ErrOutsideWindow, trace, pruned.In(j.loc).Add(time.Second).Format("2006-01-02 15:04"))
		}
		return Txn{}, fmt.Errorf("%w: trace %06d", ErrNotFound, trace)
	}
	return j.open(&r)
}

// listed is x as listings give it: without card data.
func listed(r record) Txn {
	r.Txn.Sealed = nil
	return r.Txn
}

// traces reads the records an index bucket names, in its order.
func traces(tx *bolt.Tx, idx *bolt.Bucket, out []Txn) ([]Txn, error) {
	if idx == nil {
		return out, nil
	}
	err := idx.ForEach(func(_, v []byte) error {
		r, ok, err := getRecord(tx, binary.BigEndian.Uint32(v))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("index names trace %x, which is not recorded", v)
		}
		out = append(out, listed(r))
		return nil
	})
	return out, err
}

// List returns the transactions of batch (0: every transaction in the
// journal), oldest first, without their card data. It reads only what it
// returns.
func (j *Journal) List(batch uint32) ([]Txn, error) {
	var out []Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		if batch != 0 {
			out, err = traces(tx, tx.Bucket(layout.ByBatch).Bucket(layout.U32(batch)), nil)
			return err
		}
		days := tx.Bucket(layout.ByDay)
		return days.ForEach(func(day, _ []byte) error {
			out, err = traces(tx, days.Bucket(day), out)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: list: %w", err)
	}
	return out, nil
}

// Day returns the transactions created on the calendar day of day (in the
// journal's location), oldest first, without their card data.
func (j *Journal) Day(day time.Time) ([]Txn, error) {
	var out []Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = traces(tx, tx.Bucket(layout.ByDay).Bucket(layout.DayKey(day, j.loc)), nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("journal: day: %w", err)
	}
	return out, nil
}

// ByRRN returns the transactions with the host's retrieval reference number
// rrn (normally one), oldest first, without their card data.
func (j *Journal) ByRRN(rrn string) ([]Txn, error) {
	return j.byPrefix(append([]byte(rrn), 0), "rrn", layout.RRNNew, layout.RRN)
}

// Referring returns the transactions that name trace as their original
// (voids, completions, refunds of it), oldest first, without card data.
func (j *Journal) Referring(trace uint32) ([]Txn, error) {
	return j.byPrefix(layout.U32(trace), "referring", layout.Orig)
}

func (j *Journal) byPrefix(prefix []byte, what string, buckets ...[]byte) ([]Txn, error) {
	var out []Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		for _, b := range buckets {
			c := tx.Bucket(b).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				r, ok, err := getRecord(tx, binary.BigEndian.Uint32(k[len(k)-4:]))
				if err != nil {
					return err
				}
				if ok {
					out = append(out, listed(r))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", what, err)
	}
	sortTxns(out)
	return out, nil
}

// SalesOn returns what counts against the daily limit (CountsToday) on the
// calendar day of day (in the journal's location), over every batch. It is
// kept as transactions change, so it costs the same whatever the journal
// holds.
func (j *Journal) SalesOn(day time.Time) (Sum, error) {
	var d entry.DayTotals
	err := j.db.View(func(tx *bolt.Tx) error {
		if raw := overlayGet(tx, layout.DailyNew, layout.Daily, layout.DayKey(day, j.loc)); raw != nil {
			return json.Unmarshal(raw, &d)
		}
		return nil
	})
	if err != nil {
		return Sum{}, fmt.Errorf("journal: daily totals: %w", err)
	}
	return d.Sales, nil
}

// Last returns the most recent transaction (card data unsealed).
func (j *Journal) Last() (Txn, error) {
	return j.LastWhere(func(Txn) bool { return true })
}

// LastWhere returns the most recent transaction for which match is true
// (card data unsealed), reading back from the newest; ErrNotFound when
// none is.
func (j *Journal) LastWhere(match func(Txn) bool) (Txn, error) {
	var trace uint32
	found := false
	err := j.db.View(func(tx *bolt.Tx) error {
		days := tx.Bucket(layout.ByDay).Cursor()
		for day, _ := days.Last(); day != nil; day, _ = days.Prev() {
			c := tx.Bucket(layout.ByDay).Bucket(day).Cursor()
			for k, v := c.Last(); k != nil; k, v = c.Prev() {
				r, ok, err := getRecord(tx, binary.BigEndian.Uint32(v))
				if err != nil {
					return err
				}
				if ok && match(listed(r)) {
					trace, found = r.Trace, true
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return Txn{}, fmt.Errorf("journal: last: %w", err)
	}
	if !found {
		return Txn{}, ErrNotFound
	}
	return j.Get(trace)
}

// Recover runs at boot, before anything else: every transaction left in
// doubt by a power cut is queued for reversal. It returns how many were.
func (j *Journal) Recover() (int, error) {
	var doubt []uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Doubt).ForEach(func(k, _ []byte) error {
			doubt = append(doubt, binary.BigEndian.Uint32(k))
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("journal: recover: %w", err)
	}
	n := 0
	for _, trace := range doubt {
		if _, err := j.Update(trace, func(t *Txn) {
			t.Reason = "power failure: answer not recorded"
			if t.State == Approved {
				t.Reason = "power failure: card did not complete"
			}
			t.State = ReversalPending
		}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// QueueReversal marks trace for reversal with reason, caused by a terminal
// failure (cause zero).
func (j *Journal) QueueReversal(trace uint32, reason string) error {
	return j.QueueReversalCause(trace, 0, reason)
}

// QueueReversalCause marks trace for reversal with its cause (see
// Txn.Cause) and reason.
func (j *Journal) QueueReversalCause(trace uint32, cause uint8, reason string) error {
	_, err := j.Update(trace, func(t *Txn) { t.State, t.Reason, t.Cause = ReversalPending, reason, cause })
	return err
}

// Reversals returns the queued reversals, oldest first, card data unsealed.
func (j *Journal) Reversals() ([]Txn, error) {
	var traces []uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(layout.Reversals).ForEach(func(k, _ []byte) error {
			traces = append(traces, binary.BigEndian.Uint32(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: reversals: %w", err)
	}
	out := make([]Txn, 0, len(traces))
	for _, tr := range traces {
		t, err := j.Get(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sortTxns(out)
	return out, nil
}

func sortTxns(out []Txn) {
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
}

func sortRecords(out []record) {
	sort.SliceStable(out, func(a, b int) bool {
		if !out[a].Created.Equal(out[b].Created) {
			return out[a].Created.Before(out[b].Created)
		}
		return out[a].Seq < out[b].Seq
	})
}

// Snapshot writes a consistent copy of the whole journal file to w, for
// backups; transactions keep running meanwhile. The copy holds no readable
// sensitive authentication data: the keys of what is still kept stay in the
// key-slot file, which is not in it.
func (j *Journal) Snapshot(w io.Writer) (int64, error) {
	var n int64
	err := j.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("journal: snapshot: %w", err)
	}
	return n, nil
}

// Unsettled returns the transactions of the open batch and every queued
// reversal or transaction in doubt: what a restore must not lose.
func (j *Journal) Unsettled() ([]Txn, error) {
	var out []Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		batch := binary.BigEndian.Uint32(tx.Bucket(layout.Meta).Get(layout.KeyBatch))
		var err error
		if out, err = traces(tx, tx.Bucket(layout.ByBatch).Bucket(layout.U32(batch)), nil); err != nil {
			return err
		}
		for _, b := range [][]byte{layout.Reversals, layout.Doubt} {
			err := tx.Bucket(b).ForEach(func(k, _ []byte) error {
				r, ok, err := getRecord(tx, binary.BigEndian.Uint32(k))
				if ok && r.Batch != batch {
					out = append(out, listed(r))
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("journal: unsettled: %w", err)
	}
	sortTxns(out)
	return out, nil
}
