package main

import (
	"testing"

	"kpos/firmware/journal"
	"kpos/tools/hostsim"
)

func TestReconcileCountsLostAndDoubled(t *testing.T) {
	charge := func(trace uint32, amount int64, reversed bool) hostsim.Record {
		return hostsim.Record{Type: "authorization", Code: "00", Applied: true, Batch: 1, Trace: trace, Amount: amount, Reversed: reversed}
	}
	sale := func(trace uint32, st journal.State) journal.Txn {
		return journal.Txn{Batch: 1, Trace: trace, State: st, Kind: journal.Sale, Method: journal.Chip, Amount: 100}
	}
	cases := []struct {
		name                 string
		recs                 []hostsim.Record
		txns                 []journal.Txn
		lost, doubled, other int
	}{
		{"agree", []hostsim.Record{charge(1, 100, false), charge(2, 100, true)},
			[]journal.Txn{sale(1, journal.Completed), sale(2, journal.Reversed)}, 0, 0, 0},
		{"completed, never charged", nil, []journal.Txn{sale(1, journal.Completed)}, 1, 0, 0},
		{"reversed in the journal, charged", []hostsim.Record{charge(1, 100, false)}, []journal.Txn{sale(1, journal.Reversed)}, 1, 0, 0},
		{"charged, unknown to the journal", []hostsim.Record{charge(7, 100, false)}, nil, 1, 0, 0},
		{"applied twice", []hostsim.Record{charge(1, 100, false), charge(1, 100, false)},
			[]journal.Txn{sale(1, journal.Completed)}, 0, 1, 0},
		{"left in doubt", []hostsim.Record{charge(1, 100, false)}, []journal.Txn{sale(1, journal.Approved)}, 0, 0, 1},
		{"wrong amount", []hostsim.Record{charge(1, 999, false)}, []journal.Txn{sale(1, journal.Completed)}, 0, 0, 1},
	}
	for _, c := range cases {
		lost, doubled, other := reconcile(c.recs, c.txns)
		if len(lost) != c.lost || len(doubled) != c.doubled || len(other) != c.other {
			t.Errorf("%s: lost %v, doubled %v, other %v", c.name, lost, doubled, other)
		}
	}
}
