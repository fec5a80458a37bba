package cardsim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/firmware/emvcrypto/cvntest"
	"kpos/hal"
)

// vectorCard personalises a card as the vector's issuer would: its PAN,
// PSN and issuer master key, one application of the vector's version with
// the vector's AIP and IAD, and the ATC one short of the vector's (the GPO
// counts it up).
func vectorCard(t *testing.T, v cvntest.Vector) *Card {
	t.Helper()
	atc := binary.BigEndian.Uint16(cvntest.MustHex(v.T9F36))
	iad := v.IAD()
	if v.Version() == emvcrypto.VisaCVN22 {
		// The vector's 9F10 names no version (byte 2 is 4A): personalise a
		// format 2 IAD naming CVN 22 and put the vector's back below.
		iad = append([]byte{0x1F, 0x16}, make([]byte, 30)...)
	}
	f := profileFile{
		Name: "vector", PAN: v.PAN, PSN: v.PSN, Expiry: "301231", Interfaces: []string{"contact"},
		IssuerMasterKey: v.IMKAC, ATC: int(atc) - 1,
		Apps: []appFile{{
			AID: fmt.Sprintf("%X", v.AID()), Label: "VECTOR", CVN: int(v.Version().CVN()),
			IAD: fmt.Sprintf("%X", iad), AIP: v.T82, AFL: "08010100",
			Records: []recordFile{{SFI: 1, Rec: 1, Tags: []string{"5A:@pan", "5F24:@expiry",
				"8C:9F02069F03069F1A0295055F2A029A039C019F3704", "8D:910A8A0295059F3704"}}},
		}},
	}
	p, err := buildProfile(&f, ".")
	if err != nil {
		t.Fatal(err)
	}
	if v.Version() == emvcrypto.VisaCVN22 {
		p.Apps[0].IAD = v.IAD()
	}
	c, err := New(p, hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCardReproducesTheVectors runs every vector of emv-cvn-vectors.json
// through the card: SELECT, GPO and GENERATE AC with the vector's data as
// CDOL1 data must answer the vector's ARQC (the card keeps the vector's
// CVR, and a fresh CVN 17 card's counters are the vectors' counters); the
// second GENERATE AC with the vector's ARPC (tag 91) must find the issuer
// authentic and give a TC. For Visa CVN 22, whose vector IAD the card
// would update, the cryptogram is computed by the card's own routine over
// the vector's IAD.
func TestCardReproducesTheVectors(t *testing.T) {
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.Name(), func(t *testing.T) {
			c := vectorCard(t, v)
			c.p.Behaviour.IssuerAuthRequired = true
			a := c.p.Apps[0]
			d := v.Data()
			cdol1 := concat(d.Amount, d.AmountOther, d.Country, d.TVR, d.Currency, d.Date, d.Type, d.UN)
			send(t, c, apdu("00A40400", a.AID, true), "9000")
			send(t, c, apdu("80A80000", tlv.Encode(0x83, nil), true), "9000")
			r := send(t, c, apdu("80AE8000", cdol1, true), "9000")
			cid, atc, ac, iad := parseGenAC(t, r)
			if cid != cidARQC || !bytes.Equal(atc, d.ATC) {
				t.Fatalf("CID %02X ATC %X", cid, atc)
			}
			if v.Version() == emvcrypto.VisaCVN22 {
				c.tx.iad = v.IAD()
				c.tx.sk = nil
				got, err := c.ac(dolValues(a.CDOL1, cdol1))
				if err != nil {
					t.Fatal(err)
				}
				ac, iad = got[:], c.tx.iad
				c.tx.ac = got
			}
			if !bytes.Equal(iad, v.IAD()) {
				t.Fatalf("IAD %X, the vector's %X", iad, v.IAD())
			}
			if !bytes.Equal(ac, cvntest.MustHex(v.ARQC)) {
				t.Fatalf("ARQC %X, want %s", ac, v.ARQC)
			}
			cdol2 := concat(v.IssuerAuthData(), make([]byte, 10-len(v.IssuerAuthData())), []byte("00"), d.TVR, d.UN)
			r = send(t, c, apdu("80AE4000", cdol2, true), "9000")
			if cid2, _, _, _ := parseGenAC(t, r); cid2 != cidTC || c.tx.issuerAuth != 1 {
				t.Fatalf("second GENERATE AC %02X, issuer authentication %d", cid2, c.tx.issuerAuth)
			}
		})
	}
}

// TestCardRefusesAChangedARPC: one bit changed in the vector's ARPC and a
// card that requires issuer authentication declines.
func TestCardRefusesAChangedARPC(t *testing.T) {
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs[:5] {
		c := vectorCard(t, v)
		c.p.Behaviour.IssuerAuthRequired = true
		d := v.Data()
		send(t, c, apdu("00A40400", c.p.Apps[0].AID, true), "9000")
		send(t, c, apdu("80A80000", tlv.Encode(0x83, nil), true), "9000")
		send(t, c, apdu("80AE8000", concat(d.Amount, d.AmountOther, d.Country, d.TVR, d.Currency, d.Date, d.Type, d.UN), true), "9000")
		ia := v.IssuerAuthData()
		ia[1] ^= 0x01
		r := send(t, c, apdu("80AE4000", concat(ia, make([]byte, 10-len(ia)), []byte("00"), d.TVR, d.UN), true), "9000")
		if cid, _, _, _ := parseGenAC(t, r); cid != cidAAC {
			t.Fatalf("%s: a changed ARPC gave CID %02X", v.Name(), cid)
		}
	}
}

// TestMC17Counters: a CVN 17 card counts its offline approvals into the
// counters its cryptograms cover, and an online approval with a good ARPC
// resets them.
func TestMC17Counters(t *testing.T) {
	var v cvntest.Vector
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range vs {
		if x.Version() == emvcrypto.MastercardCVN17 {
			v = x
			break
		}
	}
	c := vectorCard(t, v)
	d := v.Data()
	cdol1 := concat(d.Amount, d.AmountOther, d.Country, d.TVR, d.Currency, d.Date, d.Type, d.UN)
	for i := 1; i <= 2; i++ {
		send(t, c, apdu("00A40400", c.p.Apps[0].AID, true), "9000")
		send(t, c, apdu("80A80000", tlv.Encode(0x83, nil), true), "9000")
		r := send(t, c, apdu("80AE4000", cdol1, true), "9000") // TC asked, given
		cid, _, _, iad := parseGenAC(t, r)
		want := fmt.Sprintf("%012d%02XFF", bcdAmount(d.Amount)*int64(i), i)
		if cid != cidTC || fmt.Sprintf("%X", emvcrypto.MastercardCVN17.Counters(iad)) != want {
			t.Fatalf("offline approval %d: CID %02X counters %X, want %s", i, cid, emvcrypto.MastercardCVN17.Counters(iad), want)
		}
	}
	send(t, c, apdu("00A40400", c.p.Apps[0].AID, true), "9000")
	send(t, c, apdu("80A80000", tlv.Encode(0x83, nil), true), "9000")
	r := send(t, c, apdu("80AE8000", cdol1, true), "9000")
	_, atc, ac, iad := parseGenAC(t, r)
	a := c.p.Apps[0]
	key, _ := a.Version.ACKey(a.iccMK, atc, d.UN)
	in, _ := a.Version.Input(emvcrypto.TerminalData{Amount: d.Amount, AmountOther: d.AmountOther, Country: d.Country,
		TVR: d.TVR, Currency: d.Currency, Date: d.Date, Type: d.Type, UN: d.UN, AIP: d.AIP, ATC: atc}, iad)
	if want, _ := a.Version.Cryptogram(key, in); !bytes.Equal(ac, want[:]) {
		t.Fatal("the ARQC does not cover the counters the IAD shows")
	}
	ia, _ := a.Version.IssuerAuthData(a.iccMK, key, ac, []byte("00"), nil)
	r = send(t, c, apdu("80AE4000", concat(ia, []byte("00"), d.TVR, d.UN), true), "9000")
	if _, _, _, iad := parseGenAC(t, r); fmt.Sprintf("%X", emvcrypto.MastercardCVN17.Counters(iad)) != cvntest.MC17Counters {
		t.Fatalf("counters %X after an online approval", emvcrypto.MastercardCVN17.Counters(iad))
	}
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
