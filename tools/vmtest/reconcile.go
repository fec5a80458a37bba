package main

import (
	"fmt"
	"sort"

	"kpos/firmware/journal"
	"kpos/tools/hostsim"
)

type traceKey struct{ batch, trace uint32 }

// reconcile compares what the host did with the terminal's journal after
// the last boot (the rules of tools/hil's campaign; one terminal talks to
// this host). lost: money the journal and the host disagree on — a
// completed sale with no live charge, a reversed or declined one still
// charged, a charge the journal does not know; doubled: a transaction
// applied more than once; other: anything left in doubt, wrong amounts.
func reconcile(recs []hostsim.Record, txns []journal.Txn) (lost, doubled, other []string) {
	charges := map[traceKey][]hostsim.Record{}
	for _, r := range recs {
		if r.Type != "authorization" || r.Code != "00" || !r.Applied {
			continue
		}
		k := traceKey{r.Batch, r.Trace}
		charges[k] = append(charges[k], r)
	}
	byTrace := map[traceKey]journal.Txn{}
	for _, t := range txns {
		k := traceKey{t.Batch, t.Trace}
		byTrace[k] = t
		held := charges[k]
		live := 0
		for _, r := range held {
			if !r.Reversed {
				live++
			}
		}
		if len(held) > 1 {
			doubled = append(doubled, fmt.Sprintf("trace %06d: applied %d times at the host", t.Trace, len(held)))
		}
		switch {
		case t.State.InDoubt() || t.State == journal.ReversalPending:
			other = append(other, fmt.Sprintf("trace %06d: left %s after boot", t.Trace, t.State))
		case t.State == journal.Completed && t.Method != journal.CashMethod && t.Kind != journal.Cash:
			if live == 0 {
				lost = append(lost, fmt.Sprintf("trace %06d: completed in the journal, no live charge at the host", t.Trace))
			} else if live == 1 && held[0].Amount != t.Amount { // more than one: counted as doubled above
				other = append(other, fmt.Sprintf("trace %06d: journal amount %d, host amount %d", t.Trace, t.Amount, held[0].Amount))
			}
		case t.State == journal.Reversed || t.State == journal.Declined:
			if live != 0 {
				lost = append(lost, fmt.Sprintf("trace %06d: %s in the journal but charged at the host", t.Trace, t.State))
			}
		}
	}
	var orphans []traceKey
	for k, held := range charges {
		if _, ok := byTrace[k]; ok {
			continue
		}
		for _, r := range held {
			if !r.Reversed {
				orphans = append(orphans, k)
				break
			}
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].trace < orphans[j].trace })
	for _, k := range orphans {
		lost = append(lost, fmt.Sprintf("trace %06d: charged at the host, unknown to the journal", k.trace))
	}
	return lost, doubled, other
}
