package main

import (
	"fmt"
	"sort"

	"kpos/firmware/journal"
	"kpos/tools/hostsim"
)

type traceKey struct {
	batch, trace uint32
}

// moneyKind is what a disagreement did to the money.
type moneyKind int

const (
	lostMoney    moneyKind = iota // a charge without its record, a record without its charge, a sale left in doubt
	doubledMoney                  // a transaction applied twice, or charged twice
)

// discrepancy is one disagreement of the host and the journal.
type discrepancy struct {
	kind moneyKind
	text string
}

func (d discrepancy) String() string { return d.text }

// reconcile compares what the host did for terminal tid with the terminal's
// journal after the last boot, and returns every disagreement:
//   - nothing is left in doubt or waiting for its reversal;
//   - a completed transaction that went online is approved at the host,
//     once, for the same amount, and not reversed;
//   - a reversed or declined one left no approved, unreversed charge;
//   - a voided sale is voided at the host too;
//   - every charge the host still holds is a completed transaction;
//   - no transaction was applied twice.
//
// A charge is an authorization the host applied (it moved money), whatever
// its approval code: 00, and the other approval codes of the UnionPay
// dialect (10 partial, 11 VIP, A2/A4/A5/A6 approved with a note) alike. A
// charge is live until a reversal or a void undid it.
func reconcile(recs []hostsim.Record, txns []journal.Txn, tid string) []discrepancy {
	var problems []discrepancy
	lost := func(format string, a ...any) {
		problems = append(problems, discrepancy{lostMoney, fmt.Sprintf(format, a...)})
	}
	doubled := func(format string, a ...any) {
		problems = append(problems, discrepancy{doubledMoney, fmt.Sprintf(format, a...)})
	}
	charges := map[traceKey][]hostsim.Record{} // approved, applied authorizations
	for _, r := range recs {
		if r.Type != "authorization" || r.TID != tid || !r.Applied {
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
			if !r.Reversed && !r.Voided {
				live++
			}
		}
		if len(held) > 1 {
			doubled("trace %06d: applied %d times at the host", t.Trace, len(held))
		}
		switch {
		case t.State.InDoubt() || t.State == journal.ReversalPending:
			lost("trace %06d: left %s after boot", t.Trace, t.State)
		case t.State == journal.Completed && t.Method != journal.CashMethod && t.Kind != journal.Cash:
			switch {
			case live > 1:
				doubled("trace %06d: completed in the journal, %d live charges at the host", t.Trace, live)
			case live == 0:
				lost("trace %06d: completed in the journal, %d live charges at the host", t.Trace, live)
			case held[0].Amount != t.Amount:
				lost("trace %06d: journal amount %d, host amount %d", t.Trace, t.Amount, held[0].Amount)
			}
		case t.State == journal.Reversed || t.State == journal.Declined:
			if live != 0 {
				lost("trace %06d: %s in the journal but charged at the host", t.Trace, t.State)
			}
		case t.State == journal.Voided:
			// The void is a transaction of its own (completed, charged
			// back at the host); the sale it cancelled must hold no live
			// charge.
			if live != 0 {
				lost("trace %06d: voided in the journal, %d live charges at the host", t.Trace, live)
			}
		}
	}
	var orphans []traceKey
	for k, held := range charges {
		if _, ok := byTrace[k]; ok {
			continue
		}
		for _, r := range held {
			if !r.Reversed && !r.Voided {
				orphans = append(orphans, k)
				break
			}
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].trace < orphans[j].trace })
	for _, k := range orphans {
		lost("trace %06d: charged at the host, unknown to the journal", k.trace)
	}
	return problems
}

// spentByCard sums the completed card transactions of the journal per
// card, matching the masked PAN's first six and last four digits.
func spentByCard(txns []journal.Txn, pans []string) map[string]int64 {
	out := map[string]int64{}
	for _, t := range txns {
		if t.State != journal.Completed || t.Kind != journal.Sale || len(t.MaskedPAN) < 10 {
			continue
		}
		for _, pan := range pans {
			if t.MaskedPAN[:6] == pan[:6] && t.MaskedPAN[len(t.MaskedPAN)-4:] == pan[len(pan)-4:] &&
				len(t.MaskedPAN) == len(pan) {
				out[pan] += t.Amount
			}
		}
	}
	return out
}
