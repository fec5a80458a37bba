package emv

import (
	"context"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/hal"
	"kpos/hal/fake"
)

// benchProfile is one scripted transaction to measure: the script, the
// interface and the host answer when it goes online.
type benchProfile struct {
	name   string
	iface  hal.CardInterface
	amount int64
	edit   func(*emvconfig.Config)
	script func(tb testing.TB) []fake.Exchange
	host   *HostResponse
}

func benchProfiles() []benchProfile {
	return []benchProfile{
		{
			name: "contact-online-pin", iface: hal.Contact, amount: 10000, host: &hostApproved,
			script: func(tb testing.TB) []fake.Exchange {
				return append(upOnlineStart("1C00"),
					x("0082000008 AABBCCDDEEFF3030", sw("9000")),
					x("80AE4000 1F 3030 000000010000 000000000000 0156 8000048000 0156 261122 00 12345678 00", ok(T(0x80, "40 0001 8877665544332211 07010103600000"))))
			},
		},
		{
			name: "contact-cda-online", iface: hal.Contact, amount: 10000, host: &hostApproved,
			script: func(tb testing.TB) []fake.Exchange {
				r1, r2 := odaRecords(tb, "7D00", "cda", cvmOnline, "7E")
				cdol2Data := "3030 000000010000 000000000000 0156 0000048000 0156 261122 00 12345678"
				s := odaStart(r1, r2, "7D00")
				s = append([]fake.Exchange{x(selPSE, pseFCI()), x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "01"))), x(rr2sfi1, sw("6A83"))}, s[len(s)-4:]...)
				return append(s,
					x("80AE9000 1D "+cdol1Online+" 00", cdaResponse(tb, "80", "1122334455667788", false, cdol1Online)),
					x("0082000008 AABBCCDDEEFF3030", sw("9000")),
					x("80AE5000 1F "+cdol2Data+" 00", cdaResponse(tb, "40", "8877665544332211", false, cdol1Online, cdol2Data)))
			},
		},
		{
			name: "contact-sda-offline", iface: hal.Contact, amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].FloorLimit = 50000 },
			script: func(tb testing.TB) []fake.Exchange {
				zeros := []string{"0000000000", "0000000000", "0000000000"}
				r1, r2 := odaRecords(tb, "5C00", "sda", cvmSignatureOnly, "7E", zeros...)
				s := odaStart(r1, r2, "5C00")
				s = append([]fake.Exchange{x(selPSE, pseFCI()), x(rr1sfi1, pseRecord(dirEntry(upAID, "UnionPay Debit", "01"))), x(rr2sfi1, sw("6A83"))}, s[len(s)-4:]...)
				return append(s, x("80AE4000 1D 000000010000 000000000000 0156 0200000000 0156 261122 00 12345678 00", ok(T(0x80, "40 0001 1122334455667788 07010103600000"))))
			},
		},
		{
			name: "qpboc-online", iface: hal.Contactless, amount: 10000, host: &hostApproved,
			script: func(tb testing.TB) []fake.Exchange {
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(upAID, "UnionPay Debit", "01"))),
					x("00A4040008A00000033301010100", appFCI(upAID, "UnionPay Debit", clPDOL)),
					x(gpoCL("36804000", "000000010000"), ok(T(0x77, T(0x82, "0000"), T(0x94, "08010100"), T(0x57, upTrack2), T(0x5F34, "01"),
						T(0x9F10, "07010103A00000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007")))),
					x(rr1sfi1, qpbocRecord()),
				}
			},
		},
		{
			name: "qpboc-fdda-offline", iface: hal.Contactless, amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].Contactless.FloorLimit = 50000 },
			script: func(tb testing.TB) []fake.Exchange {
				sdad := thePKI(tb).sdad(mustHex(idn), mustHex("12345678"), mustHex("000000010000"), mustHex("0156"), mustHex("0100000000"))
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(upAID, "UnionPay Debit", "01"))),
					x("00A4040008A00000033301010100", appFCI(upAID, "UnionPay Debit", clPDOL)),
					x(gpoCL("36004000", "000000010000"), ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x5F34, "01"),
						T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F69, "0100000000"), T(0x9F4B, sdad)))),
					x(rr1sfi1, qpbocRecord()), x(rr2sfi1, qpbocKeys(tb)),
				}
			},
		},
		{
			name: "mastercard-contactless", iface: hal.Contactless, amount: 10000, host: &hostApproved,
			script: func(tb testing.TB) []fake.Exchange {
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(mcAID, "Mastercard", "01"))),
					x("00A4040007A000000004101000", appFCI(mcAID, "Mastercard", "")),
					x("80A80000028300 00", ok(T(0x77, T(0x82, "1800"), T(0x94, "08010100")))),
					x(rr1sfi1, ok(T(0x70, T(0x5A, "5413330089010434"), T(0x5F24, "291231"), T(0x5F34, "00"), T(0x8C, cdol1), T(0x8D, cdol2),
						T(0x8E, "00000000 00000000 4203 1F03"), T(0x9F42, "0156")))),
					x("80AE8000 1D 000000010000 000000000000 0156 8000008000 0156 261122 00 12345678 00", ok(T(0x80, "80 0007 1122334455667788 0110A00000"))),
				}
			},
		},
	}
}

// runProfile runs one transaction of a profile over card and fails on
// any surprise.
func runProfile(tb testing.TB, k *Kernel, p benchProfile, card hal.Card, ch Cardholder) {
	res, on, err := k.Start(context.Background(), card, sale(p.amount), ch)
	if err != nil {
		tb.Fatalf("%s: %v", p.name, err)
	}
	if on != nil {
		if p.host == nil {
			tb.Fatalf("%s: went online (%v)", p.name, res.Decision)
		}
		if _, err := on.Complete(context.Background(), *p.host); err != nil {
			tb.Fatalf("%s: %v", p.name, err)
		}
	}
}

// BenchmarkTransaction runs each scripted profile through the kernel and
// reports the kernel's time per transaction (the scripted card answers at
// once, so this is kernel time including ODA; goal under 2 ms). The APDUs
// of a transaction and the kernel's CPU time with the card's taken out are
// counted on the simulated cards of testdata/cards (tools/cardsim,
// BenchmarkKernel), not on these scripts.
func BenchmarkTransaction(b *testing.B) {
	for _, p := range benchProfiles() {
		b.Run(p.name, func(b *testing.B) {
			cfg := testConfig(b)
			if p.edit != nil {
				p.edit(&cfg)
			}
			k := testKernel(b, cfg)
			script := p.script(b)
			ch := &cardholder{}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				card := &fake.PlaybackCard{Script: script, Iface: p.iface}
				runProfile(b, k, p, card, ch)
				if err := card.Err(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "kernel-ms/txn")
		})
	}
}
