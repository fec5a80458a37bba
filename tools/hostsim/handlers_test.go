package hostsim

import (
	"testing"

	"kpos/firmware/acquirer"
)

// TestEveryKindHasAHandler: every transaction kind the terminal can send
// (BuildRequest knows it) is decided by a handler of its own (the offline
// advice is booked, not decided), so a new kind cannot reach the host
// without one.
func TestEveryKindHasAHandler(t *testing.T) {
	c := acquirer.NewCodec()
	id := acquirer.Identity{TID: "12345678", MID: "898320154110001"}
	n := 0
	for k := acquirer.Kind(1); k < 64; k++ {
		if _, err := acquirer.BuildRequest(c, acquirer.Request{Kind: k, Trace: 1, Batch: 1}, id, ""); err != nil {
			continue
		}
		n++
		if _, ok := handlers[k]; !ok && k != acquirer.KindOfflineAdvice {
			t.Errorf("%s has no handler", k)
		}
	}
	if n < 11 {
		t.Fatalf("only %d kinds found", n)
	}
}
