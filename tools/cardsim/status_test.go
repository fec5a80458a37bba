package cardsim

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// Status words for commands the card must refuse.
func TestStatusWords(t *testing.T) {
	aid := "A000000333010101"
	sel := apdu("00A40400", mustHex(aid), true)
	gpo := apdu("80A80000", tlv.Encode(0x83, make([]byte, 9)), true)
	tests := []struct {
		name   string
		before []string
		cmd    string
		sw     string
	}{
		{"unknown instruction", nil, "00FE000000", "6D00"},
		{"unknown class", nil, "A0A4040000", "6E00"},
		{"GPO with class 00", []string{sel}, "00A8000002830000", "6E00"},
		{"too short", nil, "00A4", "6700"},
		{"Lc does not match", nil, "00A4040005A000", "6700"},
		{"extended length", nil, "00A404000000", "6700"},
		{"select by path", nil, "00A4000002 3F00", "6A86"},
		{"unknown AID", nil, "00A4040007A0000000999999 00", "6A82"},
		{"PPSE on the contact interface", nil, apdu("00A40400", ppseName, true), "6A82"},
		{"partial AID selects", nil, "00A4040005A000000333 00", "9000"},
		{"next occurrence runs out", []string{"00A4040005A00000033300"}, "00A4040205A00000033300", "6A82"},
		{"GPO before SELECT", nil, gpo, "6985"},
		{"GPO with a short PDOL", []string{sel}, apdu("80A80000", tlv.Encode(0x83, make([]byte, 8)), true), "6700"},
		{"GPO without tag 83", []string{sel}, "80A800000B 8109000000000000000000 00", "6A80"},
		{"GPO twice", []string{sel, gpo}, gpo, "6985"},
		{"READ RECORD before SELECT", nil, "00B2010C00", "6985"},
		{"READ RECORD missing", []string{sel}, "00B2090C00", "6A83"},
		{"READ RECORD bad P2", []string{sel}, "00B2010800", "6A86"},
		{"GET DATA unknown", nil, "80CA9F7900", "6A88"},
		{"GET DATA ATC", nil, "80CA9F3600", "9000"},
		{"GENERATE AC before GPO", []string{sel}, "80AE8000020000 00", "6985"},
		{"GENERATE AC RFU type", []string{sel, gpo}, "80AEC000020000 00", "6A86"},
		{"GENERATE AC wrong length", []string{sel, gpo}, "80AE8000020000 00", "6700"},
		{"EXTERNAL AUTHENTICATE before GENERATE AC", []string{sel, gpo}, "008200000A 00000000000000003030", "6985"},
		{"script before GENERATE AC", []string{sel, gpo}, "841E000004 01020304", "6985"},
		{"VERIFY enciphered PIN", []string{sel}, "00200088080000000000000000", "6A86"},
		{"VERIFY bad PIN block", []string{sel}, "0020008008 1612345FFFFFFFFF", "6A80"},
		{"GET CHALLENGE", nil, "0084000000", "9000"},
		{"INTERNAL AUTHENTICATE before SELECT", nil, "0088000004 01020304 00", "6985"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCard(t, "unionpay-debit", hal.Contact)
			for _, b := range tt.before {
				send(t, c, b, "9000")
			}
			send(t, c, tt.cmd, tt.sw)
		})
	}
}

func TestPINTryCounter(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contact)
	send(t, c, apdu("00A40400", c.p.Apps[0].AID, true), "9000")
	for i := c.p.PINTries - 1; i >= 0; i-- {
		send(t, c, apdu("00200080", pinBlock("9999"), false), fmt.Sprintf("63C%X", i))
	}
	send(t, c, apdu("00200080", pinBlock(c.p.PIN), false), "6983")
	if got := send(t, c, "80CA9F1700", "9000"); !bytes.Equal(find(t, got, 0x9F17), []byte{0}) {
		t.Fatalf("PIN try counter %X", got)
	}
}

// firstAC runs selection, GPO and the first GENERATE AC and returns the card.
func firstAC(t *testing.T, p *Profile, p1 string) (*Card, []byte) {
	t.Helper()
	c, err := New(p, hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	a := p.Apps[0]
	send(t, c, apdu("00A40400", a.AID, true), "9000")
	send(t, c, apdu("80A80000", tlv.Encode(0x83, build(t, a.Contact.PDOL, nil)), true), "9000")
	r := send(t, c, apdu("80AE"+p1+"00", build(t, a.CDOL1, nil), true), "9000")
	return c, r
}

func TestDecisions(t *testing.T) {
	tests := []struct {
		name      string
		set       func(*Behaviour)
		p1        string
		want      byte
		second    string // P1 of the second GENERATE AC, "" for none
		arpcOK    bool
		wantFinal byte
	}{
		{"card approves offline when asked for TC", nil, "40", 0x40, "", false, 0},
		{"online switch turns TC into ARQC", func(b *Behaviour) { b.Online = true }, "40", 0x80, "40", true, 0x40},
		{"decline switch", func(b *Behaviour) { b.Decline = true }, "80", 0x00, "", false, 0},
		{"terminal asks AAC", nil, "00", 0x00, "", false, 0},
		{"declined after online approval", func(b *Behaviour) { b.DeclineAfterOnline = true }, "80", 0x80, "40", true, 0x00},
		{"issuer authentication required and failed", func(b *Behaviour) { b.IssuerAuthRequired = true }, "80", 0x80, "40", false, 0x00},
		{"issuer authentication failed but not required", nil, "80", 0x80, "40", false, 0x40},
		{"terminal asks AAC at the second", nil, "80", 0x80, "00", true, 0x00},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, "visa-credit")
			p.Behaviour = Behaviour{}
			if tt.set != nil {
				tt.set(&p.Behaviour)
			}
			c, r := firstAC(t, p, tt.p1)
			cid, _, ac, _ := parseGenAC(t, r)
			if cid != tt.want {
				t.Fatalf("first CID %02X, want %02X", cid, tt.want)
			}
			if tt.second == "" {
				return
			}
			ia := append(make([]byte, 8), "00"...)
			if tt.arpcOK {
				ia = arpc1(t, c, ac)
			}
			a := p.Apps[0]
			d2 := build(t, a.CDOL2, map[tlv.Tag][]byte{0x91: ia})
			r2 := send(t, c, apdu("80AE"+tt.second+"00", d2, true), "9000")
			if cid2, _, _, iad := parseGenAC(t, r2); cid2 != tt.wantFinal {
				t.Fatalf("second CID %02X, want %02X (IAD %X)", cid2, tt.wantFinal, iad)
			} else if !tt.arpcOK && iad[5]&0x80 == 0 {
				t.Fatalf("CVR %X does not record the failed issuer authentication", iad[3:7])
			}
		})
	}
}

// arpc1 is the issuer's tag 91 approving the card's first cryptogram.
func arpc1(t *testing.T, c *Card, ac []byte) []byte {
	t.Helper()
	a := c.p.Apps[0]
	key, err := a.Version.ACKey(a.iccMK, binary.BigEndian.AppendUint16(nil, c.ATC()), termValues[0x9F37])
	if err != nil {
		t.Fatal(err)
	}
	return issuerAuth(t, a, a.iccMK, key, ac)
}

func TestExternalAuthenticate(t *testing.T) {
	p := load(t, "mastercard-debit")
	c, r := firstAC(t, p, "80")
	_, _, ac, _ := parseGenAC(t, r)
	good := arpc1(t, c, ac)
	bad := bytes.Clone(good)
	bad[0] ^= 1
	send(t, c, apdu("00820000", bad, false), "6300")
	send(t, c, apdu("00820000", good, false), "6985") // only once
}

func TestIssuerScripts(t *testing.T) {
	p := load(t, "unionpay-debit")
	c, _ := firstAC(t, p, "80")
	send(t, c, "04DA9F5805 05 01020304", "9000") // PUT DATA 9F58 = 05 (MAC 01020304)
	if got := send(t, c, "80CA9F5800", "9000"); !bytes.Equal(got, mustHex("9F580105")) {
		t.Fatalf("GET DATA after PUT DATA: %X", got)
	}
	send(t, c, "841E000004 01020304", "9000") // APPLICATION BLOCK
	send(t, c, apdu("00A40400", p.Apps[0].AID, true), "6283")
	send(t, c, apdu("80A80000", tlv.Encode(0x83, make([]byte, 9)), true), "6985")
	// The block outlives a reset, as on a real card.
	c.Reset()
	send(t, c, apdu("00A40400", p.Apps[0].AID, true), "6283")

	p.Behaviour.ScriptStatus = "6A80"
	c, _ = firstAC(t, p, "80")
	send(t, c, "841E000004 01020304", "6A80")

	c, _ = firstAC(t, load(t, "unionpay-debit"), "80")
	send(t, c, "8416000004 01020304", "9000") // CARD BLOCK
	send(t, c, apdu("00A40400", pseName, true), "6A81")
}

func TestBlockedProfile(t *testing.T) {
	p := load(t, "multi-app")
	p.Behaviour.Blocked = true
	c, err := New(p, hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, "00A4040005A00000033300", "6283")
	send(t, c, "00A4040205A00000033300", "6283")
	send(t, c, "00A4040205A00000033300", "6A82")
}

func TestATCPersists(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contact)
	start := c.ATC()
	for range 3 {
		send(t, c, apdu("00A40400", c.p.Apps[0].AID, true), "9000")
		send(t, c, apdu("80A80000", tlv.Encode(0x83, make([]byte, 9)), true), "9000")
		c.Reset()
	}
	if err := c.Present(hal.Contactless); err != nil {
		t.Fatal(err)
	}
	if c.ATC() != start+3 {
		t.Fatalf("ATC %d after three GPOs from %d", c.ATC(), start)
	}
	if got := send(t, c, "80CA9F3600", "9000"); !bytes.Equal(find(t, got, 0x9F36), []byte{byte((start + 3) >> 8), byte(start + 3)}) {
		t.Fatalf("GET DATA ATC %X", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Transmit(ctx, mustHex("80CA9F3600")); err == nil {
		t.Fatal("Transmit ignored a cancelled context")
	}
}

func TestLatency(t *testing.T) {
	c := newCard(t, "unionpay-debit", hal.Contactless)
	c.SetLatency(20 * time.Millisecond)
	start := time.Now()
	send(t, c, "80CA9F3600", "9000")
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("answered in %v with 20 ms latency", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := c.Transmit(ctx, mustHex("80CA9F3600")); err == nil {
		t.Fatal("a slow card ignored the deadline")
	}
	if c.Commands() != 1 {
		t.Fatalf("%d commands answered", c.Commands())
	}
}
