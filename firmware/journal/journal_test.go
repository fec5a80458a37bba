package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"kpos/firmware/journal/layout"
)

var testSealKey = bytes.Repeat([]byte{0x5A}, 32) // TEST ONLY

func openTemp(t *testing.T) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, testSealKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func sale(t *testing.T, j *Journal, amount int64) Txn {
	t.Helper()
	trace, err := j.NextTrace()
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := j.Batch()
	tx := Txn{Trace: trace, Batch: batch, Kind: Sale, Method: Chip, Amount: amount, Currency: 156,
		MaskedPAN: "622202*********0128",
		Secret:    Sensitive{PAN: "6222021234567890128", Track2: []byte("6222021234567890128=30122011234"), ICCData: []byte{0x9F, 0x26}}}
	if err := j.Begin(tx); err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestCardDataIsSealedAtRest(t *testing.T) {
	j, path := openTemp(t)
	tx := sale(t, j, 1234)
	got, err := j.Get(tx.Trace)
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret.PAN != "6222021234567890128" || string(got.Secret.Track2) != string(tx.Secret.Track2) {
		t.Fatalf("card data did not round-trip")
	}
	j.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"6222021234567890128", "30122011234"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("journal file holds card data in the clear")
		}
	}
	list, err := func() ([]Txn, error) {
		j2, err := Open(path, testSealKey, Options{})
		if err != nil {
			return nil, err
		}
		defer j2.Close()
		return j2.List(0)
	}()
	if err != nil || len(list) != 1 || list[0].Secret.PAN != "" {
		t.Fatalf("List must not unseal card data: %v %+v", err, list)
	}
}

func TestWrongSealKeyCannotReadCardData(t *testing.T) {
	j, path := openTemp(t)
	tx := sale(t, j, 100)
	j.Close()
	other := bytes.Repeat([]byte{0x33}, 32)
	j2, err := Open(path, other, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if _, err := j2.Get(tx.Trace); err == nil {
		t.Fatal("a wrong seal key opened the card data")
	}
}

func TestStateTransitions(t *testing.T) {
	cases := []struct {
		path []State
		ok   bool
	}{
		{[]State{Approved, Completed}, true},
		{[]State{Declined}, true},
		{[]State{Approved, ReversalPending, Reversed}, true},
		{[]State{Completed, Voided}, true},
		{[]State{Declined, Completed}, false},
		{[]State{Reversed}, false},
		{[]State{Completed, Pending}, false},
		{[]State{ReversalPending, Reversed, Completed}, false},
	}
	for _, c := range cases {
		j, _ := openTemp(t)
		tx := sale(t, j, 500)
		var err error
		for _, s := range c.path {
			if _, err = j.Update(tx.Trace, func(t *Txn) { t.State = s }); err != nil {
				break
			}
		}
		if (err == nil) != c.ok {
			t.Errorf("%v: got err %v, want ok=%v", c.path, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrTransition) {
			t.Errorf("%v: want ErrTransition, got %v", c.path, err)
		}
	}
}

func TestRecoverQueuesEverythingInDoubt(t *testing.T) {
	j, path := openTemp(t)
	pending := sale(t, j, 100)
	approved := sale(t, j, 200)
	done := sale(t, j, 300)
	declined := sale(t, j, 400)
	mustUpdate(t, j, approved.Trace, Approved)
	mustUpdate(t, j, done.Trace, Completed)
	mustUpdate(t, j, declined.Trace, Declined)
	j.Close() // the power cut

	j, err := Open(path, testSealKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	n, err := j.Recover()
	if err != nil || n != 2 {
		t.Fatalf("Recover: n=%d err=%v, want 2", n, err)
	}
	revs, err := j.Reversals()
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 2 || revs[0].Trace != pending.Trace || revs[1].Trace != approved.Trace {
		t.Fatalf("reversal queue: %v", revs)
	}
	if revs[0].Secret.PAN == "" {
		t.Fatal("a queued reversal needs its card data")
	}
	if n, _ := j.Recover(); n != 0 {
		t.Fatalf("a second Recover queued %d more", n)
	}
	mustUpdate(t, j, pending.Trace, Reversed)
	if revs, _ := j.Reversals(); len(revs) != 1 {
		t.Fatalf("a reversed transaction stays queued: %v", revs)
	}
}

func mustUpdate(t *testing.T, j *Journal, trace uint32, s State) {
	t.Helper()
	if _, err := j.Update(trace, func(t *Txn) { t.State = s }); err != nil {
		t.Fatal(err)
	}
}

func TestTraceNumbersSurviveReopenAndWrap(t *testing.T) {
	j, path := openTemp(t)
	a, _ := j.NextTrace()
	b, _ := j.NextTrace()
	j.Close()
	j, err := Open(path, testSealKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	c, _ := j.NextTrace()
	if a != 1 || b != 2 || c != 3 {
		t.Fatalf("traces %d %d %d", a, b, c)
	}
	if err := j.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(layout.Meta).Put(layout.KeyTrace, layout.U32(999999)) }); err != nil {
		t.Fatal(err)
	}
	if w, _ := j.NextTrace(); w != 1 {
		t.Fatalf("trace after 999999 = %d, want 1", w)
	}
}

func TestBeginRefusesDuplicatesAndFullJournal(t *testing.T) {
	j, _ := openTemp(t)
	tx := sale(t, j, 100)
	if err := j.Begin(tx); err == nil {
		t.Fatal("the same trace was recorded twice")
	}
	j.max = 1
	if err := j.Begin(Txn{Trace: 77, Batch: 1}); !errors.Is(err, ErrFull) {
		t.Fatalf("full journal: %v", err)
	}
}

func TestOpenRejectsBadKey(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "j.db"), []byte("short"), Options{}); !errors.Is(err, ErrBadSealKey) {
		t.Fatal(err)
	}
}

func TestSnapshotOpensAsTheSameJournal(t *testing.T) {
	j, _ := openTemp(t)
	tx := sale(t, j, 321)
	path := filepath.Join(t.TempDir(), "copy.db")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Snapshot(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, err := Open(path, testSealKey, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Get(tx.Trace)
	if err != nil || got.Amount != 321 || got.Secret.PAN == "" {
		t.Fatalf("%+v %v", got, err)
	}
	un, err := c.Unsettled()
	if err != nil || len(un) != 1 {
		t.Fatalf("unsettled %v %v", un, err)
	}
}

func TestBeginRefusedWhileSettling(t *testing.T) {
	j, _ := openTemp(t)
	tx := sale(t, j, 100)
	if _, err := j.Update(tx.Trace, func(t *Txn) { t.State = Completed }); err != nil {
		t.Fatal(err)
	}
	if _, err := j.BeginSettlement(); err != nil {
		t.Fatal(err)
	}
	trace, _ := j.NextTrace()
	if err := j.Begin(Txn{Trace: trace, Batch: tx.Batch, Kind: Sale}); !errors.Is(err, ErrSettling) {
		t.Fatalf("a sale was journaled during a settlement: %v", err)
	}
}
