package journal

import (
	"io/fs"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// A year at the counter, through the journal API the terminal's sale and
// settlement use: every sale is a trace number, Begin (pending, card data
// sealed), Update to approved, then to completed (one in fifty declined
// instead); every day ends with a settlement that closes the batch. 100
// sales a day for 365 days, retention 90 days, trace numbers wrapping at
// 20,000 so that they wrap at least once (the real modulus is 999,999).
// The data directory must end under yearBound, and the journal file must
// have stopped growing once the window filled. Under an ARM emulator
// (make test-arm) the days are ten times quieter, to keep its time
// reasonable; the year, the settlements and the wrap are the same.
func TestAYearAtTheCounter(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of sales")
	}
	const (
		days      = 365
		retention = 90
		yearBound = 24 << 20 // bytes: journal, key slots and archive
	)
	perDay, traceMax := 100, uint32(20000)
	if runtime.GOARCH == "arm" {
		perDay, traceMax = 10, 2000
	}
	c := &clock{time.Date(2026, 1, 1, 8, 0, 0, 0, utc8)}
	dir := t.TempDir()
	j := openAt(t, dir, c, Options{RetentionDays: retention, TraceMax: traceMax})
	var sizeAtWindow int64
	for day := 0; day < days; day++ {
		c.t = time.Date(2026, 1, 1, 8, 0, 0, 0, utc8).AddDate(0, 0, day)
		for i := 0; i < perDay; i++ {
			c.t = c.t.Add(6 * time.Minute)
			tr := begin(t, j, Sale, Chip, int64(100+i), 0)
			if i%50 == 49 {
				set(t, j, tr, Declined, "")
				continue
			}
			set(t, j, tr, Approved, "")
			set(t, j, tr, Completed, "")
		}
		if got, err := j.SalesOn(c.t); err != nil || got.Count != perDay-perDay/50 {
			t.Fatalf("day %d: the day's sales %+v %v", day, got, err)
		}
		c.t = c.t.Add(time.Hour)
		settleDay(t, j)
		if day == retention+10 {
			st, _ := j.Stats()
			sizeAtWindow = st.FileBytes
		}
	}
	st, err := j.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if !st.Wrapped {
		t.Fatalf("trace numbers never wrapped: last %d", st.Trace)
	}
	// 90 days of batches closed, plus the one closed this evening.
	if st.Closed > retention+1 || st.Live > (retention+1)*perDay || st.KeySlots != 0 {
		t.Fatalf("after a year: %+v", st)
	}
	if st.FileBytes > sizeAtWindow*5/4 {
		t.Fatalf("journal grew after the window filled: %d bytes on day %d, %d at the end", sizeAtWindow, retention+10, st.FileBytes)
	}
	var total int64
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after a year: %d live transactions in %d batches, journal %d bytes (%d in use), data directory %d bytes, trace %d",
		st.Live, st.Closed, st.FileBytes, st.LiveBytes, total, st.Trace)
	if total > yearBound {
		t.Fatalf("data directory %d bytes, bound %d", total, yearBound)
	}
}
