package main

import (
	"strings"
	"testing"

	"kpos/firmware/journal"
	"kpos/tools/hostsim"
)

func auth(trace uint32, amount int64, code string, applied, reversed bool) hostsim.Record {
	return hostsim.Record{Type: "authorization", Kind: "sale", TID: simTID, Batch: 1, Trace: trace,
		Amount: amount, Code: code, Applied: applied, Reversed: reversed}
}

func txn(trace uint32, amount int64, state journal.State) journal.Txn {
	return journal.Txn{Trace: trace, Batch: 1, Kind: journal.Sale, Method: journal.Chip, State: state,
		Amount: amount, MaskedPAN: "622202*********0128"}
}

func TestReconcile(t *testing.T) {
	tests := []struct {
		name string
		recs []hostsim.Record
		txns []journal.Txn
		want []string // substrings of the problems, in order; nil: agree
	}{
		{"completed and charged once", []hostsim.Record{auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, nil},
		{"reversed and reversed at the host", []hostsim.Record{auth(5, 1000, "00", true, true)},
			[]journal.Txn{txn(5, 1000, journal.Reversed)}, nil},
		{"reversed, never reached the host", nil, []journal.Txn{txn(5, 1000, journal.Reversed)}, nil},
		{"declined at the host", []hostsim.Record{auth(5, 1051, "51", false, false)},
			[]journal.Txn{txn(5, 1051, journal.Declined)}, nil},
		{"a repeat answered without effect", []hostsim.Record{auth(5, 1000, "00", true, false), auth(5, 1000, "00", false, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, nil},
		{"other terminals and messages are not ours", []hostsim.Record{{Type: "authorization", TID: "99999999", Trace: 7, Code: "00", Applied: true},
			{Type: "sign-on", TID: simTID, Trace: 8, Code: "00"}}, nil, nil},
		{"cash never goes to the host", nil, []journal.Txn{{Trace: 3, Batch: 1, Kind: journal.Cash, Method: journal.CashMethod, State: journal.Completed}}, nil},

		{"voided at both ends", []hostsim.Record{func() hostsim.Record { r := auth(5, 1000, "00", true, false); r.Voided = true; return r }(),
			{Type: "authorization", Kind: "void", TID: simTID, Batch: 1, Trace: 6, Amount: 1000, Code: "00", Applied: true}},
			[]journal.Txn{txn(5, 1000, journal.Voided), {Trace: 6, Batch: 1, Kind: journal.Void, Method: journal.Chip, State: journal.Completed, Amount: 1000}}, nil},
		{"voided in the journal only", []hostsim.Record{auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Voided)}, []string{"voided in the journal, 1 live charges at the host"}},
		{"voided in the journal, voided and charged again at the host", []hostsim.Record{
			func() hostsim.Record { r := auth(5, 1000, "00", true, false); r.Voided = true; return r }(), auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Voided)}, []string{"applied 2 times", "voided in the journal, 1 live charges"}},
		{"completed, voided at the host", []hostsim.Record{func() hostsim.Record { r := auth(5, 1000, "00", true, false); r.Voided = true; return r }()},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, []string{"0 live charges"}},
		{"another approval code is a charge too", []hostsim.Record{auth(5, 1000, "10", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Reversed)}, []string{"reversed in the journal but charged"}},
		{"an A2 approval unknown to the journal", []hostsim.Record{auth(9, 1000, "A2", true, false)}, nil,
			[]string{"trace 000009: charged at the host, unknown to the journal"}},
		{"an A4 approval completed once", []hostsim.Record{auth(5, 1000, "A4", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, nil},
		{"completed, never charged", nil, []journal.Txn{txn(5, 1000, journal.Completed)},
			[]string{"completed in the journal, 0 live charges"}},
		{"completed but reversed at the host", []hostsim.Record{auth(5, 1000, "00", true, true)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, []string{"0 live charges"}},
		{"reversed in the journal, still charged", []hostsim.Record{auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Reversed)}, []string{"reversed in the journal but charged"}},
		{"charged twice", []hostsim.Record{auth(5, 1000, "00", true, false), auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, []string{"applied 2 times", "2 live charges"}},
		{"amounts differ", []hostsim.Record{auth(5, 1200, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, []string{"journal amount 1000, host amount 1200"}},
		{"left in doubt", nil, []journal.Txn{txn(5, 1000, journal.Pending), txn(6, 1000, journal.ReversalPending)},
			[]string{"left pending", "left reversal-pending"}},
		{"charge unknown to the journal", []hostsim.Record{auth(9, 1000, "00", true, false)}, nil,
			[]string{"trace 000009: charged at the host, unknown to the journal"}},
		{"a reversed charge unknown to the journal is fine", []hostsim.Record{auth(9, 1000, "00", true, true)}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := reconcile(tc.recs, tc.txns, simTID)
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(tc.want), tc.want)
			}
			for i := range got {
				if !strings.Contains(got[i].text, tc.want[i]) {
					t.Errorf("problem %d: %q does not say %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestSpentByCard(t *testing.T) {
	pans := []string{"6222021234567890128", "4761739001010119"}
	txns := []journal.Txn{
		txn(1, 1000, journal.Completed),
		txn(2, 500, journal.Reversed),
		txn(3, 250, journal.Completed),
		{Trace: 4, Kind: journal.Sale, Method: journal.Chip, State: journal.Completed, Amount: 700, MaskedPAN: "476173******0119"},
		{Trace: 5, Kind: journal.Sale, Method: journal.QR, State: journal.Completed, Amount: 900},
	}
	got := spentByCard(txns, pans)
	if got[pans[0]] != 1250 || got[pans[1]] != 700 || len(got) != 2 {
		t.Fatalf("got %v", got)
	}
}

// TestReconcileKinds: a charge applied twice is money doubled; a charge
// without its record, or a record without its charge, money lost.
func TestReconcileKinds(t *testing.T) {
	tests := []struct {
		name string
		recs []hostsim.Record
		txns []journal.Txn
		want []moneyKind
	}{
		{"charged twice", []hostsim.Record{auth(5, 1000, "00", true, false), auth(5, 1000, "00", true, false)},
			[]journal.Txn{txn(5, 1000, journal.Completed)}, []moneyKind{doubledMoney, doubledMoney}},
		{"completed, never charged", nil, []journal.Txn{txn(5, 1000, journal.Completed)}, []moneyKind{lostMoney}},
		{"charged, unknown to the journal", []hostsim.Record{auth(9, 1000, "11", true, false)}, nil, []moneyKind{lostMoney}},
	}
	for _, tc := range tests {
		got := reconcile(tc.recs, tc.txns, simTID)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %v, want %d", tc.name, got, len(tc.want))
		}
		for i := range got {
			if got[i].kind != tc.want[i] {
				t.Errorf("%s: %q is kind %d, want %d", tc.name, got[i].text, got[i].kind, tc.want[i])
			}
		}
	}
}
