package cardsim

import (
	"bytes"
	"crypto/sha1"
	"fmt"
	"testing"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// qPBOC and qVSDC answer the cryptogram in the GPO; an amount under the
// card's offline limit with a reader that allows offline gets a TC and an
// fDDA signature.
func TestQuickGPO(t *testing.T) {
	capks := loadCAPKs(t)
	tests := []struct {
		name    string
		amount  string
		ttq     string
		wantCID byte
		fdda    bool
	}{
		{"unionpay-debit", "000000012345", "36004000", 0x80, false},  // over the 100.00 offline limit
		{"unionpay-debit", "000000005000", "36000000", 0x40, true},   // offline allowed
		{"unionpay-debit", "000000005000", "36800000", 0x80, false},  // reader wants online
		{"unionpay-credit", "000000000100", "36000000", 0x80, false}, // online-only card
		{"visa-credit", "000000020000", "36000000", 0x40, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/%s", tt.name, tt.amount, tt.ttq), func(t *testing.T) {
			c := newCard(t, tt.name, hal.Contactless)
			a := c.p.Apps[0]
			send(t, c, apdu("00A40400", pseName, true), "6A82")
			ppse := send(t, c, apdu("00A40400", ppseName, true), "9000")
			if !bytes.Equal(find(t, ppse, 0x4F), a.AID) || len(find(t, ppse, 0x9F2A)) != 1 {
				t.Fatalf("PPSE %X", ppse)
			}
			fci := send(t, c, apdu("00A40400", a.AID, true), "9000")
			pdol, err := tlv.ParseDOL(find(t, fci, 0x9F38))
			if err != nil {
				t.Fatal(err)
			}
			extra := map[tlv.Tag][]byte{0x9F02: mustHex(tt.amount), 0x9F66: mustHex(tt.ttq)}
			pdolData := build(t, pdol, extra)
			send(t, c, apdu("80A80000", tlv.Encode(0x83, pdolData[1:]), true), "6700")
			gpo := send(t, c, apdu("80A80000", tlv.Encode(0x83, pdolData), true), "9000")
			cid := find(t, gpo, 0x9F27)[0]
			if cid != tt.wantCID {
				t.Fatalf("CID %02X, want %02X", cid, tt.wantCID)
			}
			atc, ac, iad := find(t, gpo, 0x9F36), find(t, gpo, 0x9F26), find(t, gpo, 0x9F10)
			rid := fmt.Sprintf("%X", a.AID[:5])
			_, _, want := issuerCryptogram(t, c.p, a, a.CL.AIP[:], atc, iad, dolValues(pdol, pdolData))
			if !bytes.Equal(ac, want[:]) {
				t.Fatal("cryptogram does not verify")
			}
			tm := &terminal{t: t, c: c, data: map[tlv.Tag][]byte{}}
			tm.read(find(t, gpo, 0x94))
			if _, dup := findOpt(gpo, 0x57); dup || !bytes.Equal(tm.data[0x57], c.p.track2()) {
				t.Fatal("track 2 equivalent data must come once, from the records")
			}
			sdad, has := findOpt(gpo, 0x9F4B)
			if has != tt.fdda {
				t.Fatalf("fDDA signature present %t, want %t", has, tt.fdda)
			}
			if has {
				icc := tm.verifyODA(capks, rid)
				m := recoverData(t, icc, sdad, 0x05)
				v := dolValues(pdol, pdolData)
				checkHash(t, m, v[0x9F37], v[0x9F02], v[0x5F2A], tm.data[0x9F69])
			}
			send(t, c, apdu("80AE8000", make([]byte, a.CDOL1.Len()), true), "6985")
		})
	}
}

// The M/Chip-style path runs like contact, with a CDA signature over the
// cryptogram.
func TestCDA(t *testing.T) {
	capks := loadCAPKs(t)
	for _, iface := range []hal.CardInterface{hal.Contact, hal.Contactless} {
		t.Run(iface.String(), func(t *testing.T) {
			c := newCard(t, "mastercard-debit", iface)
			a := c.p.Apps[0]
			send(t, c, apdu("00A40400", a.AID, true), "9000")
			gpo := send(t, c, "80A8000002830000", "9000")
			tm := &terminal{t: t, c: c, data: map[tlv.Tag][]byte{}}
			tm.read(find(t, gpo, 0x94))
			icc := tm.verifyODA(capks, "A000000004")
			d1 := build(t, a.CDOL1, nil)
			r := send(t, c, apdu("80AE9000", d1, true), "9000") // ARQC with CDA
			sdad := find(t, r, 0x9F4B)
			if _, has := findOpt(r, 0x9F26); has {
				t.Fatal("CDA response carries a plain cryptogram")
			}
			m := recoverData(t, icc, sdad, 0x05)
			checkHash(t, m, termValues[0x9F37])
			ldd := int(m[3])
			dyn := m[4 : 4+ldd]
			cid := dyn[9]
			if cid != find(t, r, 0x9F27)[0] {
				t.Fatal("CID in the signature differs")
			}
			// Transaction data hash: PDOL data, CDOL1 data, response minus 9F4B.
			body := tlv.Encode(0x9F27, find(t, r, 0x9F27))
			body = tlv.Append(body, 0x9F36, find(t, r, 0x9F36))
			body = tlv.Append(body, 0x9F10, find(t, r, 0x9F10))
			h := sha1sum(d1, body)
			if !bytes.Equal(dyn[18:38], h) {
				t.Fatal("transaction data hash code does not verify")
			}
		})
	}
}

func sha1sum(parts ...[]byte) []byte {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	s := sha1.Sum(all)
	return s[:]
}

func TestSeePhoneAndCDCVM(t *testing.T) {
	p := load(t, "visa-credit")
	p.Behaviour.SeePhone = true
	c, err := New(p, hal.Contactless)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Apps[0]
	pdolData := build(t, a.CL.PDOL, nil)
	send(t, c, apdu("00A40400", a.AID, true), "9000")
	send(t, c, apdu("80A80000", tlv.Encode(0x83, pdolData), true), "6986")
	if err := c.Present(hal.Contactless); err != nil {
		t.Fatal(err)
	}
	send(t, c, apdu("00A40400", a.AID, true), "9000")
	gpo := send(t, c, apdu("80A80000", tlv.Encode(0x83, pdolData), true), "9000")
	if ctq := find(t, gpo, 0x9F6C); ctq[1]&0x80 == 0 {
		t.Fatalf("CTQ %X does not say CDCVM performed", ctq)
	}
}
