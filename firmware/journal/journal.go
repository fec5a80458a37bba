package journal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/durable"
)

var (
	bucketMeta      = []byte("meta")
	bucketTxns      = []byte("txns")
	bucketReversals = []byte("reversals")
	bucketBatches   = []byte("batches")

	keyTrace = []byte("trace")
	keyBatch = []byte("batch")
)

// Errors callers branch on.
var (
	ErrNotFound   = errors.New("journal: no such transaction")
	ErrFull       = errors.New("journal: full; settle to make room")
	ErrBadSealKey = errors.New("journal: seal key must be 32 bytes")
	ErrTransition = errors.New("journal: state change not allowed")
)

// Options tune Open.
type Options struct {
	// MaxBytes bounds the database file; Begin refuses new transactions past
	// it. 32-bit ARM caps the mmap at 2 GB; the default of 256 MB keeps far
	// below that.
	MaxBytes int64
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Journal is an open journal file.
type Journal struct {
	db   *bolt.DB
	aead cipher.AEAD
	max  int64
	now  func() time.Time
}

// Open opens or creates the journal at path. sealKey (32 bytes) seals card
// data at rest.
func Open(path string, sealKey []byte, opt Options) (*Journal, error) {
	if len(sealKey) != 32 {
		return nil, ErrBadSealKey
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if opt.MaxBytes == 0 {
		opt.MaxBytes = 256 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	_, statErr := os.Stat(path)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, InitialMmapSize: 8 << 20})
	if err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// bbolt syncs the file, not its name: a new journal's name is
		// made durable here, or a power cut could take the whole file.
		if err := durable.SyncDir(filepath.Dir(path)); err != nil {
			db.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketMeta, bucketTxns, bucketReversals, bucketBatches} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if meta.Get(keyBatch) == nil {
			return meta.Put(keyBatch, u32(1))
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: init: %w", err)
	}
	return &Journal{db: db, aead: aead, max: opt.MaxBytes, now: opt.Now}, nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.db.Close() }

// Path returns the file's path.
func (j *Journal) Path() string { return j.db.Path() }

func u32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

// NextTrace durably allocates the next system trace audit number (1..999999).
// A trace number is never handed out twice, even across a power cut.
func (j *Journal) NextTrace() (uint32, error) {
	var trace uint32
	err := j.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keyTrace); v != nil {
			trace = binary.BigEndian.Uint32(v)
		}
		trace++
		if trace > 999999 {
			trace = 1
		}
		return meta.Put(keyTrace, u32(trace))
	})
	if err != nil {
		return 0, fmt.Errorf("journal: next trace: %w", err)
	}
	return trace, nil
}

// Batch returns the open batch number.
func (j *Journal) Batch() (uint32, error) {
	var batch uint32
	err := j.db.View(func(tx *bolt.Tx) error {
		batch = binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(keyBatch))
		return nil
	})
	return batch, err
}

func (j *Journal) seal(t *Txn) error {
	if t.Secret.PAN == "" && t.Secret.Track2 == nil && t.Secret.ICCData == nil {
		t.Sealed = nil
		return nil
	}
	plain, err := json.Marshal(t.Secret)
	if err != nil {
		return err
	}
	nonce := make([]byte, j.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	t.Sealed = j.aead.Seal(nonce, nonce, plain, u32(t.Trace))
	for i := range plain {
		plain[i] = 0
	}
	return nil
}

func (j *Journal) unseal(t *Txn) error {
	if len(t.Sealed) == 0 {
		return nil
	}
	n := j.aead.NonceSize()
	if len(t.Sealed) < n {
		return fmt.Errorf("journal: trace %06d: sealed data truncated", t.Trace)
	}
	plain, err := j.aead.Open(nil, t.Sealed[:n], t.Sealed[n:], u32(t.Trace))
	if err != nil {
		return fmt.Errorf("journal: trace %06d: sealed data does not open", t.Trace)
	}
	defer func() {
		for i := range plain {
			plain[i] = 0
		}
	}()
	return json.Unmarshal(plain, &t.Secret)
}

func txnKey(trace uint32) []byte { return u32(trace) }

// Begin records t as it is about to be acted on. Trace and Batch must be
// set. It refuses with ErrSettling while a settlement is in progress.
func (j *Journal) Begin(t Txn) error {
	if t.Trace == 0 {
		return fmt.Errorf("journal: begin without a trace number")
	}
	if info, err := os.Stat(j.db.Path()); err == nil && info.Size() >= j.max {
		return ErrFull
	}
	// The batch is frozen while it settles: a sale now would belong to a
	// batch whose totals were already sent.
	if settling, err := j.Settling(); err != nil {
		return err
	} else if settling {
		return ErrSettling
	}
	now := j.now()
	t.Created, t.Updated = now, now
	if t.State == "" {
		t.State = Pending
	}
	return j.put(t, true)
}

func (j *Journal) put(t Txn, mustBeNew bool) error {
	if err := j.seal(&t); err != nil {
		return fmt.Errorf("journal: seal: %w", err)
	}
	raw, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	err = j.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTxns)
		if mustBeNew && b.Get(txnKey(t.Trace)) != nil {
			return fmt.Errorf("journal: trace %06d already recorded", t.Trace)
		}
		if err := b.Put(txnKey(t.Trace), raw); err != nil {
			return err
		}
		rev := tx.Bucket(bucketReversals)
		if t.State == ReversalPending {
			return rev.Put(txnKey(t.Trace), []byte(t.Reason))
		}
		return rev.Delete(txnKey(t.Trace))
	})
	if err != nil {
		return fmt.Errorf("journal: write trace %06d: %w", t.Trace, err)
	}
	return nil
}

// allowed lists the state changes a transaction may make.
var allowed = map[State][]State{
	Pending:         {Approved, Completed, Declined, ReversalPending},
	Approved:        {Completed, ReversalPending, Declined},
	Completed:       {ReversalPending, Voided},
	ReversalPending: {Reversed, ReversalPending},
	Declined:        {},
	Reversed:        {},
	Voided:          {},
}

// Update applies change to the transaction with trace and commits it. The
// state change, if any, must be one the journal allows.
func (j *Journal) Update(trace uint32, change func(*Txn)) (Txn, error) {
	t, err := j.Get(trace)
	if err != nil {
		return Txn{}, err
	}
	from := t.State
	change(&t)
	if t.State != from {
		ok := false
		for _, s := range allowed[from] {
			ok = ok || s == t.State
		}
		if !ok {
			return Txn{}, fmt.Errorf("%w: trace %06d %s → %s", ErrTransition, trace, from, t.State)
		}
	}
	t.Updated = j.now()
	return t, j.put(t, false)
}

// Get returns the transaction with trace, card data unsealed.
func (j *Journal) Get(trace uint32) (Txn, error) {
	var t Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketTxns).Get(txnKey(trace))
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &t)
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return Txn{}, fmt.Errorf("%w: trace %06d", ErrNotFound, trace)
		}
		return Txn{}, fmt.Errorf("journal: read trace %06d: %w", trace, err)
	}
	return t, j.unseal(&t)
}

// List returns the transactions of batch (0: every batch), oldest first,
// without their card data.
func (j *Journal) List(batch uint32) ([]Txn, error) {
	var out []Txn
	err := j.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTxns).ForEach(func(k, v []byte) error {
			var t Txn
			if err := json.Unmarshal(v, &t); err != nil {
				return fmt.Errorf("trace %x: %w", k, err)
			}
			if batch == 0 || t.Batch == batch {
				t.Sealed = nil
				out = append(out, t)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("journal: list: %w", err)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, nil
}

// Last returns the most recent transaction (card data unsealed).
func (j *Journal) Last() (Txn, error) {
	all, err := j.List(0)
	if err != nil {
		return Txn{}, err
	}
	if len(all) == 0 {
		return Txn{}, ErrNotFound
	}
	return j.Get(all[len(all)-1].Trace)
}

// Recover runs at boot, before anything else: every transaction left in
// doubt by a power cut is queued for reversal. It returns how many were.
func (j *Journal) Recover() (int, error) {
	all, err := j.List(0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range all {
		if !t.State.InDoubt() {
			continue
		}
		reason := "power failure: answer not recorded"
		if t.State == Approved {
			reason = "power failure: card did not complete"
		}
		if _, err := j.Update(t.Trace, func(t *Txn) { t.State, t.Reason = ReversalPending, reason }); err != nil {
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
		return tx.Bucket(bucketReversals).ForEach(func(k, _ []byte) error {
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
	sort.SliceStable(out, func(a, b int) bool { return out[a].Created.Before(out[b].Created) })
	return out, nil
}

// Snapshot writes a consistent copy of the whole journal file to w, for
// backups; transactions keep running meanwhile.
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
// reversal: what a restore must not lose.
func (j *Journal) Unsettled() ([]Txn, error) {
	batch, err := j.Batch()
	if err != nil {
		return nil, err
	}
	all, err := j.List(0)
	if err != nil {
		return nil, err
	}
	var out []Txn
	for _, t := range all {
		if t.Batch >= batch || t.State == ReversalPending || t.State.InDoubt() {
			out = append(out, t)
		}
	}
	return out, nil
}
