package emv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/hal"
	"kpos/hal/fake"
)

const (
	selPPSE  = "00A404000E325041592E5359532E444446303100"
	clPDOL   = "9F66049F02069F03069F1A0295055F2A029A039C019F3704"
	visaAID  = "A0000000031010"
	mcAID    = "A0000000041010"
	visaPAN  = "4761739001010119"
	mcPAN    = "5413330089010434"
	upTrack2 = "6222021234567890128D30122011234500000F"
)

func ppseFCI(entries ...[]byte) []byte {
	return ok(T(0x6F, T(0x84, []byte("2PAY.SYS.DDF01")), T(0xA5, T(0xBF0C, toAny(entries)...))))
}

// gpoCL is the GPO command of a contactless card with clPDOL for 100.00
// and the given TTQ.
func gpoCL(ttq, amount string) string {
	return "80A8000023 8321 " + ttq + " " + amount + " 000000000000 0156 0000000000 0156 261122 00 12345678 00"
}

func tapCard(script []fake.Exchange) *fake.PlaybackCard {
	return &fake.PlaybackCard{Script: script, Iface: hal.Contactless}
}

// qpbocRecord is the first record of the UnionPay card read after GPO,
// the one signed for ODA.
func qpbocRecord() []byte {
	return ok(T(0x70, qpbocSigned()))
}

func qpbocSigned() []byte {
	return cat(T(0x5A, upPAN), T(0x5F24, "301231"), T(0x5F25, "200101"), T(0x5F28, "0156"), T(0x9F07, "FF00"), T(0x9F08, "0030"))
}

// qpbocKeys is the second record with the certificates.
func qpbocKeys(t testing.TB) []byte {
	p := thePKI(t)
	cert, rem, exp := p.issuerCert("A000000333", "622202FF", "1249")
	ic, irem, iexp := p.iccCert(upPAN, "1249", qpbocSigned())
	return ok(T(0x70, T(0x8F, "7E"), T(0x90, cert), T(0x92, rem), T(0x9F32, exp), T(0x9F46, ic), T(0x9F48, irem), T(0x9F47, iexp)))
}

func TestContactless(t *testing.T) {
	upSel := x("00A4040008A00000033301010100", appFCI(upAID, "UnionPay Debit", clPDOL))
	ppseUP := x(selPPSE, ppseFCI(dirEntry(upAID, "UnionPay Debit", "01")))
	arqcGPO := func(ctq string) []byte {
		return ok(T(0x77, T(0x82, "0000"), T(0x94, "08010100"), T(0x57, upTrack2), T(0x5F34, "01"),
			T(0x9F10, "07010103A00000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F6C, ctq)))
	}
	tests := []struct {
		name     string
		amount   int64
		edit     func(*emvconfig.Config)
		script   func(t *testing.T) []fake.Exchange
		decision Decision
		cvm      CVM
		cvmr     string
		tvr      string
		tsi      string
		pins     int
		wantErr  error
		final    Decision
	}{
		{
			name: "qPBOC online, under the CVM limit", amount: 10000,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36804000", "000000010000"), arqcGPO("0000")), x(rr1sfi1, qpbocRecord())}
			},
			decision: GoOnline, cvm: CVMNone, cvmr: "1F0002", tvr: "8000000000", tsi: "0000", final: Approved,
		},
		{
			name: "qPBOC online PIN over the CVM limit (CTQ)", amount: 200000,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36C04000", "000000200000"), arqcGPO("8000")), x(rr1sfi1, qpbocRecord())}
			},
			decision: GoOnline, cvm: CVMOnlinePIN, cvmr: "020000", tvr: "8000040000", tsi: "0000", pins: 1, final: Approved,
		},
		{
			name: "qPBOC offline approval with fDDA", amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].Contactless.FloorLimit = 50000 },
			script: func(t *testing.T) []fake.Exchange {
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("12345678"), mustHex("000000010000"), mustHex("0156"), mustHex("0100000000"))
				gpo := ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x5F34, "01"),
					T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F69, "0100000000"), T(0x9F4B, sdad)))
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36004000", "000000010000"), gpo), x(rr1sfi1, qpbocRecord()), x(rr2sfi1, qpbocKeys(t))}
			},
			decision: Approved, cvm: CVMNone, cvmr: "1F0002", tvr: "0000000000", tsi: "8000",
		},
		{
			name: "qPBOC fDDA fails, CTQ says go online", amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].Contactless.FloorLimit = 50000 },
			script: func(t *testing.T) []fake.Exchange {
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("12345678"), mustHex("000000099999"), mustHex("0156"), mustHex("0100000000"))
				gpo := ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x5F34, "01"),
					T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F69, "0100000000"), T(0x9F4B, sdad), T(0x9F6C, "2000")))
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36004000", "000000010000"), gpo), x(rr1sfi1, qpbocRecord()), x(rr2sfi1, qpbocKeys(t))}
			},
			decision: GoOnline, cvm: CVMNone, cvmr: "1F0002", tvr: "0800000000", tsi: "8000", final: Approved,
		},
		{
			name: "qPBOC fDDA fails, CTQ says switch interface", amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].Contactless.FloorLimit = 50000 },
			script: func(t *testing.T) []fake.Exchange {
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("12345678"), mustHex("000000099999"), mustHex("0156"), mustHex("0100000000"))
				gpo := ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x5F34, "01"),
					T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F69, "0100000000"), T(0x9F4B, sdad), T(0x9F6C, "1000")))
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36004000", "000000010000"), gpo), x(rr1sfi1, qpbocRecord()), x(rr2sfi1, qpbocKeys(t))}
			},
			wantErr: ErrUseContact, decision: TryOtherMeans,
		},
		{
			name: "qPBOC fDDA fails, no CTQ: declined", amount: 10000,
			edit: func(c *emvconfig.Config) { c.AIDs[0].Contactless.FloorLimit = 50000 },
			script: func(t *testing.T) []fake.Exchange {
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("12345678"), mustHex("000000099999"), mustHex("0156"), mustHex("0100000000"))
				gpo := ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x5F34, "01"),
					T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007"), T(0x9F69, "0100000000"), T(0x9F4B, sdad)))
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36004000", "000000010000"), gpo), x(rr1sfi1, qpbocRecord()), x(rr2sfi1, qpbocKeys(t))}
			},
			decision: Declined, cvm: CVMNone, cvmr: "3F0000", tvr: "0800000000", tsi: "8000",
		},
		{
			name: "qPBOC card declines (AAC)", amount: 10000,
			script: func(t *testing.T) []fake.Exchange {
				gpo := ok(T(0x77, T(0x82, "0000"), T(0x94, "08010100"), T(0x57, upTrack2), T(0x9F10, "07010103000000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007")))
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36804000", "000000010000"), gpo), x(rr1sfi1, qpbocRecord())}
			},
			decision: Declined, cvm: CVMNone, cvmr: "3F0000", tvr: "8000000000", tsi: "0000",
		},
		{
			name: "Visa with consumer device CVM over the CVM limit", amount: 200000,
			script: func(t *testing.T) []fake.Exchange {
				gpo := ok(T(0x77, T(0x82, "0000"), T(0x94, "08010100"), T(0x57, "4761739001010119D2912201123450000F"), T(0x5F34, "01"),
					T(0x9F10, "06010A03A00000"), T(0x9F26, "1122334455667788"), T(0x9F27, "80"), T(0x9F36, "0007"), T(0x9F6C, "0080")))
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(visaAID, "VISA", "01"))),
					x("00A4040007A000000003101000", appFCI(visaAID, "VISA", clPDOL)),
					x(gpoCL("36C04000", "000000200000"), gpo),
					x(rr1sfi1, ok(T(0x70, T(0x5F24, "291231"), T(0x5F28, "0840"), T(0x9F07, "FF00")))),
				}
			},
			decision: GoOnline, cvm: CVMCDCVM, cvmr: "3F0000", tvr: "8000000000", tsi: "0000", final: Declined,
		},
		{
			name: "Mastercard M/Chip path: GENERATE AC, then remove", amount: 10000,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(mcAID, "Mastercard", "01"))),
					x("00A4040007A000000004101000", appFCI(mcAID, "Mastercard", "")),
					x("80A80000028300 00", ok(T(0x77, T(0x82, "1800"), T(0x94, "08010100")))),
					x(rr1sfi1, ok(T(0x70, T(0x5A, "5413330089010434"), T(0x5F24, "291231"), T(0x5F34, "00"), T(0x8C, cdol1), T(0x8D, cdol2),
						T(0x8E, "00000000 00000000 4203 1F03"), T(0x9F42, "0156")))),
					x("80AE8000 1D 000000010000 000000000000 0156 8000008000 0156 261122 00 12345678 00", ok(T(0x80, "80 0007 1122334455667788 0110A00000"))),
				}
			},
			decision: GoOnline, cvm: CVMNone, cvmr: "1F0302", tvr: "8000008000", tsi: "6800", final: Approved,
		},
		{
			name: "Mastercard card with CDA", amount: 10000,
			script: func(t *testing.T) []fake.Exchange {
				p := thePKI(t)
				signed := cat(T(0x5A, "5413330089010434"), T(0x5F24, "291231"), T(0x5F34, "00"), T(0x8C, cdol1), T(0x8D, cdol2),
					T(0x8E, "00000000 00000000 4203 1F03"), T(0x9F42, "0156"))
				cert, rem, exp := p.issuerCert("A000000004", "541333FF", "1249")
				ic, irem, iexp := p.iccCert("5413330089010434FFFF", "1249", signed)
				const cdolData = "000000010000 000000000000 0156 0000008000 0156 261122 00 12345678"
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(mcAID, "Mastercard", "01"))),
					x("00A4040007A000000004101000", appFCI(mcAID, "Mastercard", "")),
					x("80A80000028300 00", ok(T(0x77, T(0x82, "1980"), T(0x94, "08010201")))),
					x(rr1sfi1, ok(T(0x70, signed))),
					x(rr2sfi1, ok(T(0x70, T(0x8F, "7E"), T(0x90, cert), T(0x92, rem), T(0x9F32, exp), T(0x9F46, ic), T(0x9F48, irem), T(0x9F47, iexp)))),
					x("80AE9000 1D "+cdolData+" 00", cdaResponsePDOL(t, "", "80", "1122334455667788", false, cdolData)),
				}
			},
			decision: GoOnline, cvm: CVMNone, cvmr: "1F0302", tvr: "0000008000", tsi: "E800", final: Approved,
		},
		{
			name: "Mastercard phone with on-device CVM over the CVM limit", amount: 200000,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{
					x(selPPSE, ppseFCI(dirEntry(mcAID, "Mastercard", "01"))),
					x("00A4040007A000000004101000", appFCI(mcAID, "Mastercard", "")),
					x("80A80000028300 00", ok(T(0x77, T(0x82, "1A00"), T(0x94, "08010100")))),
					x(rr1sfi1, ok(T(0x70, T(0x5A, "5413330089010434"), T(0x5F24, "291231"), T(0x5F34, "00"), T(0x8C, cdol1), T(0x8D, cdol2),
						T(0x8E, "00000000 00000000 4203 1F03"), T(0x9F42, "0156")))),
					x("80AE8000 1D 000000200000 000000000000 0156 8000008000 0156 261122 00 12345678 00", ok(T(0x80, "80 0007 1122334455667788 0110A00000"))),
				}
			},
			decision: GoOnline, cvm: CVMCDCVM, cvmr: "010002", tvr: "8000008000", tsi: "6800", final: Approved,
		},
		{
			name: "phone asks to see it (6986): tap again", amount: 100,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36804000", "000000000100"), sw("6986"))}
			},
			wantErr: ErrSeePhone, decision: Declined,
		},
		{
			name: "over the contactless transaction limit: insert card", amount: 500000,
			script:  func(t *testing.T) []fake.Exchange { return []fake.Exchange{ppseUP, upSel} },
			wantErr: ErrUseContact, decision: TryOtherMeans,
		},
		{
			name: "no PPSE: insert card", amount: 100,
			script:  func(t *testing.T) []fake.Exchange { return []fake.Exchange{x(selPPSE, sw("6A82"))} },
			wantErr: ErrUseContact, decision: TryOtherMeans,
		},
		{
			name: "GPO without cryptogram: insert card", amount: 100,
			script: func(t *testing.T) []fake.Exchange {
				return []fake.Exchange{ppseUP, upSel, x(gpoCL("36804000", "000000000100"), ok(T(0x77, T(0x82, "0000"), T(0x94, "08010100"))))}
			},
			wantErr: ErrUseContact, decision: TryOtherMeans,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			card := tapCard(tc.script(t))
			ch := &cardholder{}
			txn := sale(tc.amount)
			res, on, err := testKernel(t, cfg).Start(context.Background(), card, txn, ch)
			if cerr := card.Err(); cerr != nil {
				t.Fatalf("%v (start err %v)", cerr, err)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res.Decision != tc.decision {
					t.Fatalf("err = %v decision %v, want %v %v", err, res.Decision, tc.wantErr, tc.decision)
				}
				if errors.Is(tc.wantErr, ErrSeePhone) && !ch.noticed(NoticeSeePhone) {
					t.Error("no see-phone notice")
				}
				if errors.Is(tc.wantErr, ErrUseContact) && !ch.noticed(NoticeInsertCard) {
					t.Error("no insert-card notice")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.decision || (on != nil) != (tc.decision == GoOnline) {
				t.Fatalf("decision %v online %v, want %v", res.Decision, on != nil, tc.decision)
			}
			if !ch.noticed(NoticeRemoveCard) {
				t.Error("no remove-card notice")
			}
			if res.CVM != tc.cvm || ch.pins != tc.pins {
				t.Errorf("CVM %v pins %d, want %v %d", res.CVM, ch.pins, tc.cvm, tc.pins)
			}
			if got := tagValue(t, res.ICCData, 0x9F34); got != tc.cvmr {
				t.Errorf("9F34 = %s, want %s", got, tc.cvmr)
			}
			assertTVR(t, res.TVR, tc.tvr)
			assertTSI(t, res.TSI, tc.tsi)
			// qPBOC and Visa: the cryptogram came with the GPO, over its PDOL
			// data. Field 55 carries the TVR sent there (zeros in gpoCL),
			// which the card signed, not the one the reader built since.
			if quick := strings.HasPrefix(tc.name, "qPBOC") || strings.HasPrefix(tc.name, "Visa"); quick && res.ICCData != nil {
				if got := tagValue(t, res.ICCData, 0x95); got != "0000000000" {
					t.Errorf("field 55 TVR %s, but the card signed the GPO's 0000000000 (TVR now %X)", got, res.TVR)
				}
			}
			if res.Card.PAN.IsZero() || res.Card.Interface != hal.Contactless {
				t.Errorf("card data %+v", res.Card)
			}
			if on != nil {
				host := HostResponse{Answered: true, Approved: tc.final == Approved, ResponseCode: "00", IssuerAuthData: mustHex("AABBCCDDEEFF3030"),
					Scripts: T(0x72, T(0x86, "04DA9F580501"))}
				if tc.final != Approved {
					host.ResponseCode = "05"
				}
				// The card has left: completing must not send anything.
				fin, err := on.Complete(context.Background(), host)
				if err != nil {
					t.Fatal(err)
				}
				if fin.Decision != tc.final || fin.Reverse {
					t.Errorf("final %v reverse %v, want %v", fin.Decision, fin.Reverse, tc.final)
				}
				if err := card.Err(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
