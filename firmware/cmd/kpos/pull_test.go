package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/boards"
	"kpos/boards/sim"
	"kpos/firmware/journal"
)

// TestCardPulledAtEachCommand pulls the card out of the slot at every
// command of a chip sale in turn, one sale each, against a host simulator
// that outlives the terminal. However far the sale got, nobody is charged
// for a sale the terminal does not hold as completed: the host's approved
// and unreversed sales are exactly the journal's completed ones, and the
// account's balance moved by exactly their sum.
func TestCardPulledAtEachCommand(t *testing.T) {
	const commands = 18 // a contact online-PIN sale of this card takes 15
	srv, ln := outsideHost(t)

	var script strings.Builder
	script.WriteString("expect screen idle within 20s\n")
	for n := 1; n <= commands; n++ {
		// Amounts 1.01, 1.02, … tell the sales apart at the host.
		// The card goes in when asked for, and is taken back once the
		// terminal asks for it or gave up.
		fmt.Fprintf(&script, "keys 1 0 %d ENTER ENTER\nexpect screen present-card\npull-at %d\ninsert unionpay-debit\npin 123456\n"+
			"expect text \"/Remove card|Approved|Declined|Cancelled|Failed/\" within 20s\nremove\nexpect screen idle within 20s\n", n%10, n)
	}
	path := filepath.Join(t.TempDir(), "pull.txt")
	os.WriteFile(path, []byte(script.String()), 0o600)
	data := t.TempDir()
	out, err := kpos(t, 3*time.Minute, "-board", "sim", "-data", data, "-host", ln.Addr().String(), "-script", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}

	key, err := boards.LoadDeviceKey(sim.DeviceKeyPath(data))
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(data, "journal.db"), (&boards.Board{DeviceKey: key}).SubKey("journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	txns, err := j.List(0)
	if err != nil {
		t.Fatal(err)
	}
	var completed, journaled int64
	kept := map[uint32]bool{}
	for _, x := range txns {
		if x.Kind != journal.Sale {
			continue
		}
		journaled++
		if x.State.InDoubt() || x.State == journal.ReversalPending {
			t.Errorf("trace %06d left %s", x.Trace, x.State)
		}
		if x.State == journal.Completed {
			completed += x.Amount
			kept[x.Trace] = true
		}
	}
	var charged int64
	for _, r := range srv.Records() {
		if r.Type != "authorization" || r.Kind != "sale" || r.Code != "00" || r.Reversed {
			continue
		}
		charged += r.Amount
		if !kept[r.Trace] {
			t.Errorf("the host charged trace %06d (%d fen) that the terminal does not hold as completed", r.Trace, r.Amount)
		}
	}
	if charged != completed {
		t.Errorf("host charged %d fen, the journal completed %d", charged, completed)
	}
	if bal, _ := srv.Balance("6222021234567890128"); bal != 1000000-completed {
		t.Errorf("balance %d, want %d", bal, 1000000-completed)
	}
	if completed == 0 || len(kept) == commands {
		t.Errorf("the pulls should stop some sales and not others: %d of %d completed", len(kept), commands)
	}
	t.Logf("%d sales, %d completed, %d fen charged", journaled, len(kept), completed)
}
