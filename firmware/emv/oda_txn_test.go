package emv

import (
	"context"
	"crypto/sha1"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/hal/fake"
)

const (
	cvmSignatureOnly = "00000000 00000000 1E03 1F03"
	upPDOLData       = "E068C8 0156 000000010000 0156"
	cdol1Online      = "000000010000 000000000000 0156 0000048000 0156 261122 00 12345678"
	idn              = "04A1B2C3D4"
)

// odaRecords builds the two records of a debit card carrying ODA data for
// mode "sda", "dda" or "cda"; record 1 is signed (with the AIP, by 9F4A).
func odaRecords(t testing.TB, aip, mode, cvm, capkIndex string, iacs ...string) (r1, r2 []byte) {
	p := thePKI(t)
	v1 := cat(T(0x57, "6222021234567890128D30122011234500000F"), T(0x5A, upPAN), T(0x5F24, "301231"), T(0x5F25, "200101"),
		T(0x5F28, "0156"), T(0x5F34, "01"), T(0x9F07, "FF00"), T(0x9F08, "0030"), T(0x8C, cdol1), T(0x8D, cdol2),
		T(0x8E, cvm), T(0x9F42, "0156"))
	if len(iacs) == 3 {
		v1 = cat(v1, T(0x9F0D, iacs[0]), T(0x9F0E, iacs[1]), T(0x9F0F, iacs[2]))
	}
	static := cat(v1, aip)
	cert, rem, exp := p.issuerCert("A000000333", "622202FF", "1249")
	v2 := cat(T(0x8F, capkIndex), T(0x90, cert), T(0x92, rem), T(0x9F32, exp), T(0x9F4A, "82"))
	switch mode {
	case "sda":
		v2 = cat(v2, T(0x93, p.ssad("DAC1", static)))
	case "dda", "cda":
		ic, irem, iexp := p.iccCert(upPAN, "1249", static)
		v2 = cat(v2, T(0x9F46, ic), T(0x9F48, irem), T(0x9F47, iexp), T(0x9F49, "9F3704"))
	}
	return ok(T(0x70, v1)), ok(T(0x70, v2))
}

// odaStart is a contact card selected by the list of AIDs, then GPO and two
// records; its last four steps (the final SELECT, GPO and the records) are
// what follows a selection made another way (the PSE).
func odaStart(r1, r2 []byte, aip string) []fake.Exchange {
	return []fake.Exchange{
		x(selPSE, sw("6A82")),
		x(selUP, appFCI(upAID, "UnionPay Debit", upPDOL)),
		x(selUPCred, sw("6A82")), x(selUP0103, sw("6A82")), x(selVisa, sw("6A82")), x(selMC, sw("6A82")), x(selMaestro, sw("6A82")),
		x(selUP, appFCI(upAID, "UnionPay Debit", upPDOL)),
		x(gpoUP10000, ok(T(0x80, aip, "08010201"))),
		x(rr1sfi1, r1),
		x(rr2sfi1, r2),
	}
}

// cdaResponse builds a GENERATE AC format 2 answer with a CDA signature
// over the given CID and AC; cdolData is what the terminal sent (CDOL1,
// then CDOL2 for the second GENERATE AC).
func cdaResponse(t testing.TB, cid, ac string, corrupt bool, cdolData ...string) []byte {
	return cdaResponsePDOL(t, upPDOLData, cid, ac, corrupt, cdolData...)
}

// cdaResponsePDOL is cdaResponse for a card whose PDOL data was pdolData.
func cdaResponsePDOL(t testing.TB, pdolData, cid, ac string, corrupt bool, cdolData ...string) []byte {
	p := thePKI(t)
	body := cat(T(0x9F27, cid), T(0x9F36, "0001"), T(0x9F10, "07010103A00000"))
	h := sha1.New()
	h.Write(mustHex(pdolData))
	for _, d := range cdolData {
		h.Write(mustHex(d))
	}
	h.Write(body)
	hc := h.Sum(nil)
	if corrupt {
		hc[0] ^= 0xFF
	}
	dd := cat(idn, cid, ac, hc)
	return ok(T(0x77, body, T(0x9F4B, p.sdad(dd, mustHex("12345678")))))
}

func TestODATransactions(t *testing.T) {
	offlineCfg := func(c *emvconfig.Config) { c.AIDs[0].FloorLimit = 50000 }
	zeros := []string{"0000000000", "0000000000", "0000000000"}
	tests := []struct {
		name     string
		edit     func(*emvconfig.Config)
		script   func(t *testing.T) []fake.Exchange
		decision Decision
		tvr, tsi string
		cvmr     string
		host     *HostResponse
		final    Decision
	}{
		{
			name: "SDA, offline approval with signature",
			edit: offlineCfg,
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "5C00", "sda", cvmSignatureOnly, "7E", zeros...)
				return append(odaStart(r1, r2, "5C00"),
					x("80AE4000 1D 000000010000 000000000000 0156 0200000000 0156 261122 00 12345678 00", ok(T(0x80, "40 0001 1122334455667788 07010103600000"))))
			},
			decision: Approved, tvr: "0200000000", tsi: "E800", cvmr: "1E0300",
		},
		{
			name: "SDA with an unknown CA key: ICC data missing, SDA failed, online",
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "5C00", "sda", cvmOnline, "7D")
				return append(odaStart(r1, r2, "5C00"),
					x("80AE8000 1D 000000010000 000000000000 0156 6200048000 0156 261122 00 12345678 00", ok(T(0x80, "80 0001 1122334455667788 07010103A00000"))))
			},
			decision: GoOnline, tvr: "6200048000", tsi: "E800", cvmr: "420300",
		},
		{
			name: "DDA, online",
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "7C00", "dda", cvmOnline, "7E")
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("12345678"))
				return append(odaStart(r1, r2, "7C00"),
					x("0088000004 12345678 00", ok(T(0x80, sdad))),
					x("80AE8000 1D "+cdol1Online+" 00", ok(T(0x80, "80 0001 1122334455667788 07010103A00000"))))
			},
			decision: GoOnline, tvr: "0000048000", tsi: "E800", cvmr: "420300",
		},
		{
			name: "DDA signature wrong: DDA failed",
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "7C00", "dda", cvmOnline, "7E")
				sdad := thePKI(t).sdad(mustHex(idn), mustHex("87654321"))
				return append(odaStart(r1, r2, "7C00"),
					x("0088000004 12345678 00", ok(T(0x80, sdad))),
					x("80AE8000 1D 000000010000 000000000000 0156 0800048000 0156 261122 00 12345678 00", ok(T(0x80, "80 0001 1122334455667788 07010103A00000"))))
			},
			decision: GoOnline, tvr: "0800048000", tsi: "E800", cvmr: "420300",
		},
		{
			name: "CDA, online, approved with CDA on the second GENERATE AC",
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "7D00", "cda", cvmOnline, "7E")
				cdol2Data := "3030 000000010000 000000000000 0156 0000048000 0156 261122 00 12345678"
				return append(odaStart(r1, r2, "7D00"),
					x("80AE9000 1D "+cdol1Online+" 00", cdaResponse(t, "80", "1122334455667788", false, cdol1Online)),
					x("0082000008 AABBCCDDEEFF3030", sw("9000")),
					x("80AE5000 1F "+cdol2Data+" 00", cdaResponse(t, "40", "8877665544332211", false, cdol1Online, cdol2Data)))
			},
			decision: GoOnline, tvr: "0000048000", tsi: "E800", cvmr: "420300", host: &hostApproved, final: Approved,
		},
		{
			name: "CDA hash code wrong: CDA failed, declined",
			script: func(t *testing.T) []fake.Exchange {
				r1, r2 := odaRecords(t, "7D00", "cda", cvmOnline, "7E")
				return append(odaStart(r1, r2, "7D00"),
					x("80AE9000 1D "+cdol1Online+" 00", cdaResponse(t, "80", "1122334455667788", true, cdol1Online)))
			},
			decision: Declined, tvr: "0400048000", tsi: "E800", cvmr: "420300",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			card := &fake.PlaybackCard{Script: tc.script(t)}
			res, on, err := testKernel(t, cfg).Start(context.Background(), card, sale(10000), &cardholder{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Decision != tc.decision || (on != nil) != (tc.decision == GoOnline) {
				t.Fatalf("decision %v online %v, want %v", res.Decision, on != nil, tc.decision)
			}
			assertTVR(t, res.TVR, tc.tvr)
			assertTSI(t, res.TSI, tc.tsi)
			if got := tagValue(t, res.ICCData, 0x9F34); got != tc.cvmr {
				t.Errorf("9F34 = %s, want %s", got, tc.cvmr)
			}
			if tc.host != nil {
				fin, err := on.Complete(context.Background(), *tc.host)
				if err != nil {
					t.Fatal(err)
				}
				if fin.Decision != tc.final {
					t.Errorf("final %v, want %v (TVR %X)", fin.Decision, tc.final, fin.TVR)
				}
				if hexs(fin.Cryptogram) != "8877665544332211" {
					t.Errorf("TC %X", fin.Cryptogram)
				}
			}
			if err := card.Err(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
