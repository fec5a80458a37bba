package emv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
	"kpos/hal/fake"
)

// The UnionPay debit test card (docs/test-cards.md) as scripted fixtures.
const (
	upAID      = "A000000333010101"
	upCredit   = "A000000333010102"
	selPSE     = "00A404000E315041592E5359532E444446303100"
	selUP      = "00A4040008A00000033301010100"
	selUPCred  = "00A4040008A00000033301010200"
	rr1sfi1    = "00B2010C00"
	rr2sfi1    = "00B2020C00"
	rr1sfi2    = "00B2011400"
	rr3sfi1    = "00B2030C00"
	upPAN      = "6222021234567890128F"
	cdol1      = "9F02069F03069F1A0295055F2A029A039C019F3704"
	cdol2      = "8A029F02069F03069F1A0295055F2A029A039C019F3704"
	cvmOnline  = "00000000 00000000 4203 1E03 1F03"
	upPDOL     = "9F33039F1A029F02065F2A02"
	gpoUP10000 = "80A800000F830DE068C80156000000010000015600"
)

func pseFCI() []byte {
	return ok(T(0x6F, T(0x84, []byte("1PAY.SYS.DDF01")), T(0xA5, T(0x88, "01"), T(0x5F2D, []byte("zh")))))
}

func pseRecord(entries ...[]byte) []byte { return ok(T(0x70, toAny(entries)...)) }

func toAny(b [][]byte) []any {
	out := make([]any, len(b))
	for i, v := range b {
		out[i] = v
	}
	return out
}

func dirEntry(aid, label, prio string) []byte {
	return T(0x61, T(0x4F, aid), T(0x50, []byte(label)), T(0x87, prio))
}

func appFCI(aid, label, pdol string) []byte {
	a5 := cat(T(0x50, []byte(label)), T(0x87, "01"))
	if pdol != "" {
		a5 = cat(a5, T(0x9F38, pdol))
	}
	return ok(T(0x6F, T(0x84, aid), T(0xA5, a5)))
}

// upRecords are the two records of the debit card, with a CVM list and
// IACs as parameters.
func upRecords(cvm string, iacs ...string) (r1, r2 []byte) {
	return upRecordsCDOL2(cdol2, cvm, iacs...)
}

func upRecordsCDOL2(cdol2 string, cvm string, iacs ...string) (r1, r2 []byte) {
	r1 = ok(T(0x70, T(0x57, "6222021234567890128D30122011234500000F"), T(0x5F20, []byte("ZHANG/SAN"))))
	body := cat(T(0x5A, upPAN), T(0x5F24, "301231"), T(0x5F25, "200101"), T(0x5F28, "0156"), T(0x5F34, "01"),
		T(0x9F07, "FF00"), T(0x9F08, "0030"), T(0x8C, cdol1), T(0x8D, cdol2), T(0x9F42, "0156"))
	if cvm != "" {
		body = cat(body, T(0x8E, cvm))
	}
	if len(iacs) == 3 {
		body = cat(body, T(0x9F0D, iacs[0]), T(0x9F0E, iacs[1]), T(0x9F0F, iacs[2]))
	}
	return r1, ok(T(0x70, body))
}

// upOnlineStart is the conversation up to and including the first
// GENERATE AC (ARQC) of an online PIN sale of 100.00 by PSE.
func upOnlineStart(aip string) []fake.Exchange { return upOnlineStartCDOL2(aip, cdol2) }

func upOnlineStartCDOL2(aip, cdol2 string) []fake.Exchange {
	r1, r2 := upRecordsCDOL2(cdol2, cvmOnline)
	return []fake.Exchange{
		x(selPSE, pseFCI()),
		x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "01"))),
		x(rr2sfi1, sw("6A83")),
		x(selUP, appFCI(upAID, "UnionPay Debit", upPDOL)),
		x(gpoUP10000, ok(T(0x80, aip, "08010200"))),
		x(rr1sfi1, r1),
		x(rr2sfi1, r2),
		// CDOL1: amount, other, country, TVR 8000048000, currency, date, type, UN.
		x("80AE8000 1D 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00",
			ok(T(0x80, "80 0001 1122334455667788 07010103A00000"))),
	}
}

func TestContactOnlinePINSaleApproved(t *testing.T) {
	card := &fake.PlaybackCard{Script: append(upOnlineStart("1C00"),
		x("0082000008 AABBCCDDEEFF3030", sw("9000")),
		x("80AE4000 1F 3030 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00",
			ok(T(0x80, "40 0001 8877665544332211 07010103600000"))),
	)}
	ch := &cardholder{}
	k := testKernel(t, testConfig(t))
	res, on, err := k.Start(context.Background(), card, sale(10000), ch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Decision != GoOnline || on == nil {
		t.Fatalf("decision %v", res.Decision)
	}
	if res.CVM != CVMOnlinePIN || res.PINBlock == nil || ch.pins != 1 || res.Signature {
		t.Errorf("CVM %v pin %v asked %d", res.CVM, res.PINBlock, ch.pins)
	}
	assertTVR(t, res.TVR, "8000048000")
	assertTSI(t, res.TSI, "6800")
	if got := tagValue(t, res.ICCData, 0x9F34); got != "420300" {
		t.Errorf("9F34 = %s", got)
	}
	if got := tagValue(t, res.ICCData, 0x9F26); got != "1122334455667788" {
		t.Errorf("9F26 = %s", got)
	}
	if res.Card.PAN.Digits() != "6222021234567890128" || res.Card.PANSequence != "01" || res.Card.Expiry != "3012" || res.Card.Label != "UnionPay Debit" {
		t.Errorf("card data %+v", res.Card)
	}
	if res.CID != 0x80 || hexs(res.ATC) != "0001" {
		t.Errorf("CID %02X ATC %X", res.CID, res.ATC)
	}
	// Field 55 has exactly the authorization tag set, in order.
	wantTags := "9F26 9F27 9F10 9F37 9F36 95 9A 9C 9F02 5F2A 82 9F1A 9F03 9F33 9F34 9F35 9F1E 84 9F09 9F41"
	if got := tagList(t, res.ICCData); got != wantTags {
		t.Errorf("field 55 tags\n got %s\nwant %s", got, wantTags)
	}
	fin, err := on.Complete(context.Background(), HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: mustHex("AABBCCDDEEFF3030")})
	if err != nil {
		t.Fatal(err)
	}
	if fin.Decision != Approved || fin.Reverse || hexs(fin.Cryptogram) != "8877665544332211" || fin.CID != 0x40 {
		t.Errorf("final %+v", fin)
	}
	assertTSI(t, fin.TSI, "7800")
	assertTVR(t, fin.TVR, "8000048000")
	if err := card.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := on.Complete(context.Background(), HostResponse{}); !errors.Is(err, ErrCompleted) {
		t.Errorf("second Complete: %v", err)
	}
}

func tagList(t *testing.T, b []byte) string {
	t.Helper()
	objs, err := tlv.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Tag.String())
	}
	return strings.Join(names, " ")
}

// hostApproved is the host answer of an approval with an ARPC.
var hostApproved = HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: mustHex("AABBCCDDEEFF3030")}

func TestContactCompletionBranches(t *testing.T) {
	const (
		extAuth  = "0082000008 AABBCCDDEEFF3030"
		gen2TC   = "80AE4000 1F 3030 000000010000 000000000000 0156 %s 0156 261122 00 12345678 00"
		tcResp   = "40 0001 8877665544332211 07010103600000"
		aacResp  = "00 0001 0102030405060708 07010103900000"
		tvrStart = "8000048000"
	)
	tests := []struct {
		name      string
		host      HostResponse
		tail      []fake.Exchange
		decision  Decision
		reverse   bool
		tvr, tsi  string
		scripts   string
		wantNotIA bool
	}{
		{
			name:     "approved, issuer authenticated",
			host:     hostApproved,
			tail:     []fake.Exchange{x(extAuth, sw("9000")), x(fmtHex(gen2TC, tvrStart), ok(T(0x80, tcResp)))},
			decision: Approved, tvr: tvrStart, tsi: "7800",
		},
		{
			name:     "issuer authentication fails, card declines: reverse",
			host:     hostApproved,
			tail:     []fake.Exchange{x(extAuth, sw("6300")), x(fmtHex(gen2TC, "8000048040"), ok(T(0x80, aacResp)))},
			decision: Declined, reverse: true, tvr: "8000048040", tsi: "7800",
		},
		{
			name:     "card declines after online approval: reverse",
			host:     hostApproved,
			tail:     []fake.Exchange{x(extAuth, sw("9000")), x(fmtHex(gen2TC, tvrStart), ok(T(0x80, aacResp)))},
			decision: Declined, reverse: true, tvr: tvrStart, tsi: "7800",
		},
		{
			name:     "host declines",
			host:     HostResponse{Answered: true, Approved: false, ResponseCode: "51"},
			tail:     []fake.Exchange{x("80AE0000 1F 3531 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00", ok(T(0x80, aacResp)))},
			decision: Declined, tvr: tvrStart, tsi: "6800",
		},
		{
			name:     "unable to go online: Z3 and the default action declines",
			host:     HostResponse{Answered: false},
			tail:     []fake.Exchange{x("80AE0000 1F 5A33 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00", ok(T(0x80, aacResp)))},
			decision: Declined, tvr: tvrStart, tsi: "6800",
		},
		{
			name: "issuer scripts before and after, one command fails",
			host: HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: mustHex("AABBCCDDEEFF3030"),
				Scripts: cat(
					T(0x71, T(0x9F18, "11223344"), T(0x86, "8418000004 01020304"), T(0x86, "8424000000")),
					T(0x72, T(0x86, "04DA9F580501")))},
			tail: []fake.Exchange{
				x(extAuth, sw("9000")),
				x("8418000004 01020304", sw("9000")),
				x("8424000000", sw("6A82")),
				x(fmtHex(gen2TC, "8000048020"), ok(T(0x80, tcResp))),
				x("04DA9F580501", sw("9000")),
			},
			decision: Approved, tvr: "8000048020", tsi: "7C00", scripts: "1211223344" + "2000000000",
		},
		{
			name:     "ARPC carried in CDOL2 when the card has no EXTERNAL AUTHENTICATE",
			host:     hostApproved,
			tail:     []fake.Exchange{x("80AE4000 29 3030 AABBCCDDEEFF30300000 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00", ok(T(0x80, tcResp)))},
			decision: Approved, tvr: tvrStart, tsi: "6800", wantNotIA: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := upOnlineStart("1C00")
			if tc.wantNotIA {
				start = upOnlineStartCDOL2("1800", "8A02910A9F02069F03069F1A0295055F2A029A039C019F3704")
			}
			card := &fake.PlaybackCard{Script: append(start, tc.tail...)}
			k := testKernel(t, testConfig(t))
			res, on, err := k.Start(context.Background(), card, sale(10000), &cardholder{})
			if err != nil || on == nil {
				t.Fatalf("start: %v %v", res.Decision, err)
			}
			fin, err := on.Complete(context.Background(), tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
			if fin.Decision != tc.decision || fin.Reverse != tc.reverse {
				t.Errorf("decision %v reverse %v, want %v %v", fin.Decision, fin.Reverse, tc.decision, tc.reverse)
			}
			assertTVR(t, fin.TVR, tc.tvr)
			assertTSI(t, fin.TSI, tc.tsi)
			if hexs(fin.ScriptResults) != tc.scripts {
				t.Errorf("script results %X, want %s", fin.ScriptResults, tc.scripts)
			}
			if got := tagValue(t, fin.ICCData, 0x95); got != tc.tvr {
				t.Errorf("95 in final ICC data = %s", got)
			}
		})
	}
}

func fmtHex(f string, args ...any) string { return fmt.Sprintf(f, args...) }

// TestDebugLogMasksCardholderData runs a whole sale with debug logging
// and checks that no PAN, track or name bytes reach the log.
func TestDebugLogMasksCardholderData(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	k, err := NewKernel(testConfig(t), WithClock(func() time.Time { return testTime }), WithRandom(fixedRand{mustHex("12345678")}), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	card := &fake.PlaybackCard{Script: upOnlineStart("1C00")}
	if _, _, err := k.Start(context.Background(), card, sale(10000), &cardholder{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "Application PAN: <10 bytes masked>") {
		t.Fatalf("debug log has no APDU dumps:\n%s", out)
	}
	for _, secret := range []string{"6222021234567890128", "622202123456", "1234567890128", "5A48414E", "ZHANG", "5A48414E472F53414E"} {
		if strings.Contains(strings.ToUpper(out), secret) {
			t.Errorf("debug log shows %s", secret)
		}
	}
}

func TestContactDeclines(t *testing.T) {
	t.Run("card answers the ARQC request with an AAC", func(t *testing.T) {
		script := upOnlineStart("1C00")
		script[len(script)-1].Response = ok(T(0x80, "00 0001 1122334455667788 07010103900000"))
		card := &fake.PlaybackCard{Script: script}
		res, on, err := testKernel(t, testConfig(t)).Start(context.Background(), card, sale(10000), &cardholder{})
		if err != nil || on != nil || res.Decision != Declined {
			t.Fatalf("decision %v online %v err %v", res.Decision, on != nil, err)
		}
		if err := card.Err(); err != nil {
			t.Fatal(err)
		}
		assertTVR(t, res.TVR, "8000048000")
		assertTSI(t, res.TSI, "6800")
		if got := tagValue(t, res.ICCData, 0x9F27); got != "00" {
			t.Errorf("9F27 %s", got)
		}
	})
	t.Run("card answers a TC when an ARQC was asked: terminated", func(t *testing.T) {
		script := upOnlineStart("1C00")
		script[len(script)-1].Response = ok(T(0x80, "40 0001 1122334455667788 07010103900000"))
		card := &fake.PlaybackCard{Script: script}
		_, _, err := testKernel(t, testConfig(t)).Start(context.Background(), card, sale(10000), &cardholder{})
		if !errors.Is(err, ErrCardResponse) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("TAC denial: service not allowed, AAC requested", func(t *testing.T) {
		r1, _ := upRecords(cvmOnline)
		r2 := ok(T(0x70, T(0x5A, upPAN), T(0x5F24, "301231"), T(0x5F28, "0156"), T(0x9F07, "FE00"), T(0x8C, cdol1), T(0x8D, cdol2),
			T(0x8E, cvmOnline), T(0x9F42, "0156")))
		script := upOnlineStart("1C00")[:5]
		script = append(script, x(rr1sfi1, r1), x(rr2sfi1, r2),
			x("80AE0000 1D 000000010000 000000000000 0156 8010048000 0156 261122 00 12345678 00", ok(T(0x80, "00 0001 1122334455667788 07010103900000"))))
		card := &fake.PlaybackCard{Script: script}
		res, on, err := testKernel(t, testConfig(t)).Start(context.Background(), card, sale(10000), &cardholder{})
		if err != nil || on != nil || res.Decision != Declined {
			t.Fatalf("decision %v online %v err %v", res.Decision, on != nil, err)
		}
		if err := card.Err(); err != nil {
			t.Fatal(err)
		}
		assertTVR(t, res.TVR, "8010048000")
	})
	t.Run("card removed during GENERATE AC", func(t *testing.T) {
		script := upOnlineStart("1C00")
		card := &gone{PlaybackCard: &fake.PlaybackCard{Script: script[:len(script)-1]}}
		_, _, err := testKernel(t, testConfig(t)).Start(context.Background(), card, sale(10000), &cardholder{})
		if !errors.Is(err, ErrCardRemoved) {
			t.Fatalf("err %v", err)
		}
	})
}

// gone is a card that leaves when its script is over.
type gone struct{ *fake.PlaybackCard }

func (g *gone) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if g.Err() == nil {
		return nil, hal.ErrCardRemoved
	}
	return g.PlaybackCard.Transmit(ctx, apdu)
}
