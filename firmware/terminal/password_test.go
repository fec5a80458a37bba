package terminal

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"kpos/firmware/internal/testproc"
	"kpos/firmware/journal"
	"kpos/firmware/merchantpw"
	"kpos/firmware/terminal/menu"
	"kpos/hal"
)

// testPassword is a real merchant password guard in a temporary directory,
// at a cost that keeps the tests quick.
func testPassword(t *testing.T, pw string) *merchantpw.Guard {
	t.Helper()
	return testPasswordIn(t, t.TempDir(), pw)
}

func testPasswordIn(t *testing.T, dir, pw string) *merchantpw.Guard {
	t.Helper()
	g := merchantpw.New(merchantpw.Config{Dir: dir, Iterations: 1000})
	if !g.IsSet() {
		if err := g.Set(pw); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// menuEntry runs the merchant menu once with the keys pressed beforehand.
func menuEntry(t *testing.T, r *rig, entry hal.Key, typed string) {
	t.Helper()
	r.keypad.Press(entry)
	r.keypad.Type(typed)
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.term.Menu(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
}

// screensSince returns the IDs and texts of the screens shown since mark
// (a length of the display's history).
func (r *rig) screensSince(mark int) map[string]string {
	out := map[string]string{}
	for _, s := range r.display.History()[mark:] {
		out[s.ID] += s.String()
	}
	return out
}

// Five wrong passwords, whichever entry they were typed at, lock void,
// refund and settlement; the lock holds for a new terminal over the same
// data (a restart) and is shown before anything is typed.
func TestFiveWrongPasswordsLockVoidRefundAndSettlement(t *testing.T) {
	dir := t.TempDir()
	r := newRig(t)
	WithMerchantPassword(testPasswordIn(t, dir, "123456"))(r.term)
	WithSettlement(&fakeSettleHost{balanced: true})(r.term)
	approvedSale(t, r, "5000")
	for i, entry := range []hal.Key{'6', '7', '6', '7', '6'} {
		mark := len(r.display.History())
		menuEntry(t, r, entry, "000000")
		got := r.screensSince(mark)
		if i < 4 && !strings.Contains(got[menu.ScreenWrongPassword], "Wrong password") || i == 4 && got[menu.ScreenPasswordLock] == "" {
			t.Fatalf("attempt %d: %v", i+1, got)
		}
	}

	// A restart: a new terminal and a new guard over the same directory.
	r2 := newRig(t)
	WithMerchantPassword(testPasswordIn(t, dir, "123456"))(r2.term)
	h := &fakeSettleHost{balanced: true}
	WithSettlement(h)(r2.term)
	approvedSale(t, r2, "5000")
	for _, entry := range []hal.Key{'6', '7'} {
		mark := len(r2.display.History())
		r2.keypad.Press(entry, hal.KeyEnter) // nothing to type: the lock shows first
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := r2.term.Menu(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		got := r2.screensSince(mark)
		if got[menu.ScreenPasswordLock] == "" || got[menu.ScreenPassword] != "" || got[ScreenOrigTrace] != "" || got[ScreenRefundRRN] != "" {
			t.Fatalf("menu %c while locked: %v", entry, got)
		}
	}
	r2.keypad.Press('1', hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r2.term.menus().SettleMenu(ctx); err != nil {
		t.Fatal(err)
	}
	if len(h.settles) != 0 || !r2.shown(menu.ScreenPasswordLock) {
		t.Fatalf("settled while locked: %v", r2.display.History())
	}
	if len(r2.host.requests) != 1 {
		t.Fatalf("host saw %d requests, want the sale only", len(r2.host.requests))
	}
}

// failWrites makes every write of this process fail, as a full disk does
// (RLIMIT_FSIZE 0: write(2) returns EFBIG; Go ignores SIGXFSZ), until
// restore or the end of the test; only a test alone in its process
// (testproc) may call it.
func failWrites(t *testing.T) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	full := syscall.Rlimit{Cur: 0, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatal(err)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			_ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
		}
	}
	t.Cleanup(restore)
	return restore
}

// A full disk during a merchant password attempt: the right password is
// refused (the attempt cannot be recorded), nothing reaches the host, and
// the sale in the journal is still there, completed, once the disk has
// room again; then the void goes through.
func TestFullDiskDuringMerchantPasswordRefusesAndLosesNothing(t *testing.T) {
	if !testproc.Alone(t) {
		return // the write limit is the whole process's
	}
	r := newRig(t)
	WithMerchantPassword(testPassword(t, "123456"))(r.term)
	orig := approvedSale(t, r, "5000")

	restore := failWrites(t)
	mark := len(r.display.History())
	menuEntry(t, r, '6', "123456")
	restore()
	got := r.screensSince(mark)
	if !strings.Contains(got[menu.ScreenWrongPassword], "cannot be checked") || got[ScreenOrigTrace] != "" {
		t.Fatalf("full disk: %v", got)
	}
	if len(r.host.requests) != 1 {
		t.Fatalf("host saw %d requests on a full disk", len(r.host.requests))
	}
	x, err := r.j.Get(orig)
	if err != nil || x.State != journal.Completed {
		t.Fatalf("the sale after the full disk: %+v %v", x, err)
	}

	mark = len(r.display.History())
	r.keypad.Press('6')
	r.keypad.Type("123456")
	r.keypad.Press(hal.KeyEnter)
	r.keypad.Type("1")
	r.keypad.Press(hal.KeyEnter, hal.KeyEnter, hal.KeyEnter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.term.Menu(ctx)
	if r.screensSince(mark)[ScreenOrigTrace] == "" {
		t.Fatalf("with room again the password is not taken: %v", r.display.History())
	}
}
