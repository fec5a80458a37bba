package emv

import (
	"context"
	"errors"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/hal"
	"kpos/hal/fake"
)

const (
	selUP0103  = "00A4040008A00000033301010300"
	selVisa    = "00A4040007A000000003101000"
	selMC      = "00A4040007A000000004101000"
	selMaestro = "00A4040007A000000004306000"
)

// aidListMisses are the SELECTs of the configured AIDs after the first
// two, answered "not found".
func aidListMisses() []fake.Exchange {
	return []fake.Exchange{x(selUP0103, sw("6A82")), x(selVisa, sw("6A82")), x(selMC, sw("6A82")), x(selMaestro, sw("6A82"))}
}

func seq(parts ...[]fake.Exchange) []fake.Exchange {
	var out []fake.Exchange
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestSelection(t *testing.T) {
	rest := upOnlineStart("1C00")[3:] // final SELECT of the debit application onwards
	fromGPO := upOnlineStart("1C00")[4:]
	tests := []struct {
		name    string
		script  []fake.Exchange
		ch      *cardholder
		edit    func(*emvconfig.Config)
		wantErr error
		wantAID string
		asked   []string // AIDs offered to the cardholder, in order
		notice  Notice
	}{
		{
			name:   "PSE",
			script: upOnlineStart("1C00"), wantAID: upAID,
		},
		{
			name: "no PSE: list of AIDs",
			script: seq([]fake.Exchange{x(selPSE, sw("6A82")), x(selUP, appFCI(upAID, "UnionPay Debit", upPDOL)), x(selUPCred, sw("6A82"))},
				aidListMisses(), rest),
			wantAID: upAID,
		},
		{
			name: "blocked application (6283) left out",
			script: seq([]fake.Exchange{x(selPSE, sw("6A82")), x(selUP, cat(T(0x6F, T(0x84, upAID), T(0xA5, T(0x50, []byte("X")))), "6283")),
				x(selUPCred, appFCI(upCredit, "UnionPay Credit", upPDOL))},
				aidListMisses(), []fake.Exchange{x(selUPCred, appFCI(upCredit, "UnionPay Credit", upPDOL))}, fromGPO),
			wantAID: upCredit,
		},
		{
			name: "card blocked at PSE", script: []fake.Exchange{x(selPSE, sw("6A81"))}, wantErr: ErrCardBlocked,
		},
		{
			name: "card blocked at AID list", script: []fake.Exchange{x(selPSE, sw("6A82")), x(selUP, sw("6A81"))}, wantErr: ErrCardBlocked,
		},
		{
			name: "cardholder chooses among several, sorted by priority",
			script: seq([]fake.Exchange{x(selPSE, pseFCI()),
				x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "02"), dirEntry(upCredit, "UnionPay Credit", "01"))),
				x(rr2sfi1, sw("6A83"))}, rest),
			ch: &cardholder{choice: 1}, asked: []string{upCredit, upAID}, wantAID: upAID,
		},
		{
			name:   "confirmation required and refused",
			script: []fake.Exchange{x(selPSE, pseFCI()), x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "81"))), x(rr2sfi1, sw("6A83"))},
			ch:     &cardholder{chooseFn: func([]Candidate) (int, error) { return 0, errors.New("no") }},
			asked:  []string{upAID}, wantErr: ErrCancelled,
		},
		{
			name: "failed final SELECT: next candidate",
			script: seq([]fake.Exchange{x(selPSE, pseFCI()),
				x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "02"), dirEntry(upCredit, "UnionPay Credit", "01"))),
				x(rr2sfi1, sw("6A83")), x(selUPCred, sw("6A82"))}, rest),
			ch: &cardholder{choice: 0}, asked: []string{upCredit, upAID}, wantAID: upAID, notice: NoticeTryAgain,
		},
		{
			// EMV Book 1, final selection: 6A81 to the SELECT means the card is
			// blocked; the transaction ends, no other application is tried.
			name: "card blocked at the final SELECT: terminate",
			script: []fake.Exchange{x(selPSE, pseFCI()),
				x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "02"), dirEntry(upCredit, "UnionPay Credit", "01"))),
				x(rr2sfi1, sw("6A83")), x(selUPCred, sw("6A81"))},
			ch: &cardholder{choice: 0}, asked: []string{upCredit, upAID}, wantErr: ErrCardBlocked,
		},
		{
			name: "GPO refused (6985): next candidate",
			script: seq([]fake.Exchange{x(selPSE, pseFCI()),
				x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "02"), dirEntry(upCredit, "UnionPay Credit", "01"))),
				x(rr2sfi1, sw("6A83")), x(selUPCred, appFCI(upCredit, "UnionPay Credit", upPDOL)), x(gpoUP10000, sw("6985"))}, rest),
			ch: &cardholder{choice: 0}, asked: []string{upCredit, upAID}, wantAID: upAID, notice: NoticeTryAgain,
		},
		{
			name: "no mutual application",
			script: seq([]fake.Exchange{x(selPSE, pseFCI()), x(rr1sfi1, pseRecord(dirEntry("A00000002501", "AMEX", "01"))), x(rr2sfi1, sw("6A83")),
				x(selUP, sw("6A82")), x(selUPCred, sw("6A82"))}, aidListMisses()),
			wantErr: ErrNoApplication, notice: NoticeUseOtherCard,
		},
		{
			name: "PSE with a nested DDF",
			script: seq([]fake.Exchange{x(selPSE, pseFCI()),
				x(rr1sfi1, pseRecord(T(0x61, T(0x9D, "A000000333DDF1")), dirEntry(upCredit, "UnionPay Credit", "02"))),
				x("00A4040007A000000333DDF100", ok(T(0x6F, T(0x84, "A000000333DDF1"), T(0xA5, T(0x88, "02"))))),
				x(rr1sfi2, pseRecord(dirEntry(upAID, "UnionPay Debit", "01"))),
				x("00B2021400", sw("6A83")),
				x(rr2sfi1, sw("6A83"))}, rest),
			ch: &cardholder{choice: 0}, asked: []string{upAID, upCredit}, wantAID: upAID,
		},
		{
			name: "partial AID with SELECT NEXT",
			edit: func(c *emvconfig.Config) {
				c.AIDs[0].AID, c.AIDs[0].Partial = mustHex("A0000003330101"), true
				c.AIDs = c.AIDs[:1]
			},
			script: seq([]fake.Exchange{x(selPSE, sw("6A82")),
				x("00A4040007A000000333010100", appFCI(upAID, "UnionPay Debit", upPDOL)),
				x("00A4040207A000000333010100", cat(T(0x6F, T(0x84, upCredit), T(0xA5, T(0x50, []byte("X")))), "6283")),
				x("00A4040207A000000333010100", sw("6A82"))}, rest),
			wantAID: upAID,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			ch := tc.ch
			if ch == nil {
				ch = &cardholder{}
			}
			card := &fake.PlaybackCard{Script: tc.script}
			res, _, err := testKernel(t, cfg).Start(context.Background(), card, sale(10000), ch)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			if tc.wantAID != "" && hexs(res.Card.AID) != tc.wantAID {
				t.Errorf("AID %X, want %s", res.Card.AID, tc.wantAID)
			}
			var asked []string
			if len(ch.asked) > 0 {
				for _, c := range ch.asked[0] {
					asked = append(asked, hexs(c.AID))
				}
			}
			if len(asked) != len(tc.asked) {
				t.Fatalf("offered %v, want %v", asked, tc.asked)
			}
			for i := range asked {
				if asked[i] != tc.asked[i] {
					t.Errorf("offered %v, want %v", asked, tc.asked)
				}
			}
			if tc.notice != 0 && !ch.noticed(tc.notice) {
				t.Errorf("notice %d not shown: %v", tc.notice, ch.notices)
			}
		})
	}
}

func TestFallback(t *testing.T) {
	tests := []struct {
		name   string
		script []fake.Exchange
	}{
		{"SELECT not supported", []fake.Exchange{x(selPSE, sw("6D00"))}},
		{"chip does not answer", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			card := &fake.PlaybackCard{Script: tc.script}
			res, on, err := testKernel(t, testConfig(t)).Start(context.Background(), card, sale(100), &cardholder{})
			if !errors.Is(err, ErrFallback) || res.Decision != TryOtherMeans || on != nil {
				t.Fatalf("err %v decision %v", err, res.Decision)
			}
		})
	}
	// A removed card is not a reason for fallback.
	card := &fake.PlaybackCard{}
	k := testKernel(t, testConfig(t))
	_, _, err := k.Start(context.Background(), removedCard{card}, sale(100), &cardholder{})
	if !errors.Is(err, ErrCardRemoved) || errors.Is(err, ErrFallback) {
		t.Fatalf("removed: %v", err)
	}
}

type removedCard struct{ *fake.PlaybackCard }

func (removedCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	return nil, hal.ErrCardRemoved
}

func TestStartRejectsBadAmounts(t *testing.T) {
	k := testKernel(t, testConfig(t))
	for _, txn := range []Transaction{{Amount: -1}, {Amount: 1, OtherAmount: -5}, {Amount: 1 << 40}} {
		card := &fake.PlaybackCard{}
		if _, _, err := k.Start(context.Background(), card, txn, &cardholder{}); err == nil {
			t.Errorf("amount %d/%d accepted", txn.Amount, txn.OtherAmount)
		}
		if err := card.Err(); err != nil {
			t.Error(err)
		}
	}
}
