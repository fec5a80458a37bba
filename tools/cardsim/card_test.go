package cardsim

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/hal"
)

const cards = "../../testdata/cards/"

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func load(t testing.TB, name string) *Profile {
	t.Helper()
	p, err := LoadProfile(cards + name + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newCard(t testing.TB, name string, iface hal.CardInterface) *Card {
	t.Helper()
	c, err := New(load(t, name), iface)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send transmits a hex command and checks the status word.
func send(t testing.TB, c *Card, cmd, wantSW string) []byte {
	t.Helper()
	resp, err := c.Transmit(context.Background(), mustHex(cmd))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%X", resp[len(resp)-2:]); got != wantSW {
		t.Fatalf("%s: SW %s, want %s (response %X)", cmd, got, wantSW, resp)
	}
	return resp[:len(resp)-2]
}

func find(t testing.TB, data []byte, tag tlv.Tag) []byte {
	t.Helper()
	objs, err := tlv.Parse(data)
	if err != nil {
		t.Fatalf("response %X: %v", data, err)
	}
	o, ok := tlv.Find(objs, tag)
	if !ok {
		t.Fatalf("tag %v missing in %X", tag, data)
	}
	return o.Value
}

func apdu(head string, data []byte, le bool) string {
	s := head + fmt.Sprintf("%02X%X", len(data), data)
	if le {
		s += "00"
	}
	return s
}

// The published values of docs/test-cards.md.
func TestProfilesMatchTestCardTable(t *testing.T) {
	tests := []struct {
		name, pan, psn, expiry, pin string
		aids                        []string
		contactless                 bool
	}{
		{"unionpay-debit", "6222021234567890128", "01", "3012", "123456", []string{"A000000333010101"}, true},
		{"unionpay-credit", "6250998765432109871", "01", "2912", "654321", []string{"A000000333010102"}, true},
		{"visa-credit", "4761739001010119", "01", "2912", "1234", []string{"A0000000031010"}, true},
		{"mastercard-debit", "5413330089010434", "00", "2912", "4321", []string{"A0000000041010"}, true},
		{"multi-app", "6228480011223344554", "01", "3012", "111111", []string{"A000000333010101", "A000000333010102"}, false},
		{"magstripe-only", "6225880000111122224", "", "2812", "222222", nil, false},
		{"expired", "6214835555666677773", "01", "2001", "123456", []string{"A000000333010101"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.name)
			if p.PAN.Digits() != tt.pan || p.PSN != tt.psn || p.Expiry[:4] != tt.expiry || p.PIN != tt.pin {
				t.Fatalf("PAN %v PSN %q expiry %s PIN ok=%t", p.PAN, p.PSN, p.Expiry, p.PIN == tt.pin)
			}
			var aids []string
			for _, a := range p.Apps {
				aids = append(aids, fmt.Sprintf("%X", a.AID))
			}
			if fmt.Sprint(aids) != fmt.Sprint(tt.aids) {
				t.Fatalf("AIDs %v, want %v", aids, tt.aids)
			}
			if p.Supports(hal.Contactless) != tt.contactless {
				t.Fatalf("contactless %t", !tt.contactless)
			}
			if !bytes.Contains(p.Track().Track2, []byte(tt.pan+"="+tt.expiry)) {
				t.Fatal("track 2 does not carry PAN and expiry")
			}
		})
	}
	if p := load(t, "magstripe-only"); p.HasChip() || !bytes.HasSuffix(p.Track().Track2[:len(tests[5].pan)+8], []byte("101")) {
		t.Fatalf("magstripe-only: chip %t track %s", p.HasChip(), p.Track())
	}
	if _, err := New(load(t, "magstripe-only"), hal.Contact); err != ErrNoChip {
		t.Fatalf("New on a stripe card: %v", err)
	}
	if _, err := New(load(t, "multi-app"), hal.Contactless); err == nil {
		t.Fatal("contact-only card tapped")
	}
}

func TestProfileErrors(t *testing.T) {
	good, err := os.ReadFile(cards + "expired.toml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, from, to string }{
		{"bad pan", `pan = "6214835555666677773"`, `pan = "62148355"`},
		{"bad expiry", `expiry = "200131"`, `expiry = "2001"`},
		{"bad aip", `aip = "3C00"`, `aip = "3C"`},
		{"afl names a missing record", `afl = "08010202 10010200"`, `afl = "08010302 10010200"`},
		{"unknown field", `atc = 200`, "atc = 200\ncolour = 1"},
		{"bad tag value", `"9F07:FF00"`, `"9F07:FG00"`},
		{"unknown computed value", `"5A:@pan"`, `"5A:@nope"`},
		{"missing key file", `keys/issuer-unionpay.pem`, `keys/none.pem`},
		{"bad pdol", `pdol = "9F7A01 9F0206 5F2A02"`, `pdol = "9F7A"`},
	}
	dir := t.TempDir()
	if err := os.Symlink(mustAbs(t, cards+"keys"), filepath.Join(dir, "keys")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := string(good)
			if !strings.Contains(s, tt.from) {
				t.Fatalf("fixture lacks %q", tt.from)
			}
			path := filepath.Join(dir, "p.toml")
			if err := os.WriteFile(path, []byte(strings.Replace(s, tt.from, tt.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadProfile(path)
			if err == nil {
				t.Fatal("profile accepted")
			}
			if strings.Contains(err.Error(), "6214835555666677773") {
				t.Fatalf("error leaks the PAN: %v", err)
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// capkFile is the shape of testdata/emv/capk-test.toml.
type capkFile struct {
	CAPK []struct {
		RID, Index, Modulus, Exponent, SHA1, Kind, Expiry string
	} `toml:"capk"`
}

func loadCAPKs(t *testing.T) map[string]*rsa.PublicKey {
	t.Helper()
	var f capkFile
	if _, err := toml.DecodeFile("../../testdata/emv/capk-test.toml", &f); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, e := range f.CAPK {
		c := CAPublicKey{RID: mustHex(e.RID), Index: mustHex(e.Index)[0], Modulus: mustHex(e.Modulus), Exponent: mustHex(e.Exponent)}
		if !bytes.Equal(c.Checksum(), mustHex(e.SHA1)) || e.Kind != "test" {
			t.Fatalf("capk %s/%s: checksum or kind wrong", e.RID, e.Index)
		}
		keys[e.RID+e.Index] = &rsa.PublicKey{N: new(big.Int).SetBytes(c.Modulus), E: int(new(big.Int).SetBytes(c.Exponent).Int64())}
	}
	return keys
}

// The CAPK file must hold exactly the public halves of the committed CA keys.
func TestCAPKFileMatchesCAKeys(t *testing.T) {
	keys := loadCAPKs(t)
	for _, rid := range []string{"A000000333", "A000000003", "A000000004"} {
		k, err := LoadTestKey(cards + "keys/ca-" + rid + "-E1.pem")
		if err != nil {
			t.Fatal(err)
		}
		pub, ok := keys[rid+"E1"]
		if !ok || pub.N.Cmp(k.N) != 0 || pub.E != k.E {
			t.Fatalf("capk %s/E1 does not match the CA key", rid)
		}
	}
}

// recover applies a public key (Book 2 A2.1) and checks header and trailer.
func recoverData(t *testing.T, k *rsa.PublicKey, sig []byte, format byte) []byte {
	t.Helper()
	if len(sig) != k.Size() {
		t.Fatalf("signature of %d bytes for a %d-byte key", len(sig), k.Size())
	}
	m := new(big.Int).Exp(new(big.Int).SetBytes(sig), big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, k.Size()))
	if m[0] != 0x6A || m[1] != format || m[len(m)-1] != 0xBC {
		t.Fatalf("recovered %X…%X, want 6A %02X … BC", m[:2], m[len(m)-1], format)
	}
	return m
}

func checkHash(t *testing.T, m []byte, extra ...[]byte) {
	t.Helper()
	h := sha1.New()
	h.Write(m[1 : len(m)-21])
	for _, e := range extra {
		h.Write(e)
	}
	if !bytes.Equal(h.Sum(nil), m[len(m)-21:len(m)-1]) {
		t.Fatal("hash in the recovered data does not verify")
	}
}

// terminal is the test's stand-in for a kernel: it reads the card the way a
// terminal does and keeps what it read.
type terminal struct {
	t       *testing.T
	c       *Card
	data    map[tlv.Tag][]byte
	sdaData []byte
}

func (tm *terminal) read(afl []byte) {
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi := afl[i] >> 3
		for r := afl[i+1]; r <= afl[i+2]; r++ {
			rec := send(tm.t, tm.c, fmt.Sprintf("00B2%02X%02X00", r, sfi<<3|4), "9000")
			objs, err := tlv.Parse(rec)
			if err != nil || len(objs) != 1 || objs[0].Tag != 0x70 {
				tm.t.Fatalf("record %d/%d: %X", sfi, r, rec)
			}
			if int(r-afl[i+1]) < int(afl[i+3]) {
				tm.sdaData = append(tm.sdaData, objs[0].Value...)
			}
			_ = tlv.Walk(objs, func(o tlv.TLV) error { tm.data[o.Tag] = o.Value; return nil })
		}
	}
}

// verifyODA checks the certificate chain from the CAPK file down.
func (tm *terminal) verifyODA(capks map[string]*rsa.PublicKey, rid string) *rsa.PublicKey {
	t := tm.t
	ca := capks[rid+fmt.Sprintf("%02X", tm.data[0x8F][0])]
	if ca == nil {
		t.Fatalf("no CAPK %s/%X", rid, tm.data[0x8F])
	}
	m := recoverData(t, ca, tm.data[0x90], 0x02)
	checkHash(t, m, tm.data[0x92], tm.data[0x9F32])
	if !strings.HasPrefix(tm.c.p.PAN.Digits(), strings.TrimRight(fmt.Sprintf("%X", m[2:6]), "F")) {
		t.Fatal("issuer identifier does not match the PAN")
	}
	nI := int(m[13])
	mod := append(bytes.Clone(m[15:15+min(nI, len(m)-36)]), tm.data[0x92]...)
	issuer := &rsa.PublicKey{N: new(big.Int).SetBytes(mod[:nI]), E: int(new(big.Int).SetBytes(tm.data[0x9F32]).Int64())}
	if ssad, ok := tm.data[0x93]; ok {
		m := recoverData(t, issuer, ssad, 0x03)
		checkHash(t, m, tm.sdaData)
		return nil
	}
	m = recoverData(t, issuer, tm.data[0x9F46], 0x04)
	checkHash(t, m, tm.data[0x9F48], tm.data[0x9F47], tm.sdaData)
	if !strings.HasPrefix(fmt.Sprintf("%X", m[2:12]), tm.c.p.PAN.Digits()) {
		t.Fatal("ICC certificate is for another PAN")
	}
	nIC := int(m[19])
	mod = append(bytes.Clone(m[21:21+min(nIC, len(m)-42)]), tm.data[0x9F48]...)
	return &rsa.PublicKey{N: new(big.Int).SetBytes(mod[:nIC]), E: int(new(big.Int).SetBytes(tm.data[0x9F47]).Int64())}
}

// issuerCryptogram is what an issuer computes from what the card sent: the
// version the IAD names, the ICC master key from the issuer key in
// docs/test-cards.md, the version's AC key and input. vals are the DOL
// values the terminal sent (termValues stand in for the rest).
func issuerCryptogram(t *testing.T, p *Profile, a *App, aip, atc, iad []byte, vals map[tlv.Tag][]byte) (mk, key []byte, ac [8]byte) {
	t.Helper()
	v, err := emvcrypto.VersionOf(emvcrypto.SchemeOf(a.AID), iad)
	if err != nil {
		t.Fatalf("IAD %X: %v", iad, err)
	}
	mk, err = v.MasterKey(mustHex(imks[fmt.Sprintf("%X", a.AID[:5])]), p.PAN.Digits(), p.PSN)
	if err != nil {
		t.Fatal(err)
	}
	get := func(tag tlv.Tag) []byte {
		if x, ok := vals[tag]; ok {
			return x
		}
		return termValues[tag]
	}
	d := emvcrypto.TerminalData{Amount: get(0x9F02), AmountOther: get(0x9F03), Country: get(0x9F1A), TVR: get(0x95),
		Currency: get(0x5F2A), Date: get(0x9A), Type: get(0x9C), UN: get(0x9F37), AIP: aip, ATC: atc}
	if key, err = v.ACKey(mk, atc, d.UN); err != nil {
		t.Fatal(err)
	}
	in, err := v.Input(d, iad)
	if err != nil {
		t.Fatal(err)
	}
	if ac, err = v.Cryptogram(key, in); err != nil {
		t.Fatal(err)
	}
	return mk, key, ac
}

// issuerAuth is the issuer's tag 91 approving arqc (ARC "00", CSU approved).
func issuerAuth(t *testing.T, a *App, mk, key, arqc []byte) []byte {
	t.Helper()
	ia, err := a.Version.IssuerAuthData(mk, key, arqc, []byte("00"), []byte{0, emvcrypto.CSUApproved, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	return ia
}

var imks = map[string]string{
	"A000000333": "0123456789ABCDEFFEDCBA9876543210",
	"A000000003": "89ABCDEF0123456776543210FEDCBA98",
	"A000000004": "FEDCBA98765432100123456789ABCDEF",
}

// The terminal data the test sends: amount 123.45 CNY on 2026-11-22.
var termValues = map[tlv.Tag][]byte{
	0x9F02: mustHex("000000012345"), 0x9F03: mustHex("000000000000"), 0x9F1A: mustHex("0156"),
	0x95: mustHex("0000000000"), 0x5F2A: mustHex("0156"), 0x9A: mustHex("261122"), 0x9C: {0x00},
	0x9F37: mustHex("11223344"), 0x9F35: {0x22}, 0x9F34: mustHex("420300"), 0x9F7A: {0x00},
	0x9F66: mustHex("36004000"), 0x8A: []byte("00"),
}

func build(t *testing.T, dol tlv.DOL, extra map[tlv.Tag][]byte) []byte {
	return dol.Build(func(tag tlv.Tag) ([]byte, bool) {
		if v, ok := extra[tag]; ok {
			return v, true
		}
		v, ok := termValues[tag]
		return v, ok
	})
}

// A whole contact transaction, card side, for every chip profile: selection
// through the PSE, GPO, records, ODA, offline PIN, first GENERATE AC (ARQC,
// checked like an issuer would), issuer authentication and the second
// GENERATE AC.
func TestContactTransaction(t *testing.T) {
	capks := loadCAPKs(t)
	for _, name := range []string{"unionpay-debit", "unionpay-credit", "visa-credit", "visa-cvn18", "visa-cvn22", "mastercard-debit", "mastercard-cvn17", "multi-app", "expired"} {
		t.Run(name, func(t *testing.T) {
			c := newCard(t, name, hal.Contact)
			p := c.p
			a := p.Apps[len(p.Apps)-1]
			rid := fmt.Sprintf("%X", a.AID[:5])
			tm := &terminal{t: t, c: c, data: map[tlv.Tag][]byte{}}
			fci := send(t, c, apdu("00A40400", pseName, true), "9000")
			if sfi := find(t, fci, 0x88); sfi[0] != 1 {
				t.Fatalf("PSE SFI %X", sfi)
			}
			for i := range p.Apps {
				dir := send(t, c, fmt.Sprintf("00B2%02X0C00", i+1), "9000")
				if !bytes.Equal(find(t, dir, 0x4F), p.Apps[i].AID) {
					t.Fatalf("directory record %d", i+1)
				}
			}
			send(t, c, fmt.Sprintf("00B2%02X0C00", len(p.Apps)+1), "6A83")
			fci = send(t, c, apdu("00A40400", a.AID, true), "9000")
			pdol := tlv.DOL(nil)
			if raw, ok := findOpt(fci, 0x9F38); ok {
				pdol, _ = tlv.ParseDOL(raw)
			}
			atcBefore := c.ATC()
			gpo := send(t, c, apdu("80A80000", tlv.Encode(0x83, build(t, pdol, nil)), true), "9000")
			var aip, afl []byte
			if gpo[0] == 0x80 {
				aip, afl = gpo[2:4], gpo[4:]
			} else {
				aip, afl = find(t, gpo, 0x82), find(t, gpo, 0x94)
			}
			if c.ATC() != atcBefore+1 {
				t.Fatal("GPO did not increment the ATC")
			}
			tm.read(afl)
			if !bytes.Equal(tm.data[0x5A][:len(p.PAN.Digits())/2], mustHex(p.PAN.Digits()[:len(p.PAN.Digits())/2*2])) {
				t.Fatal("record PAN differs")
			}
			icc := tm.verifyODA(capks, rid)
			if aip[0]&0x20 != 0 && icc != nil {
				un := mustHex("DEADBEEF")
				sdad := find(t, send(t, c, apdu("00880000", un, true), "9000"), 0x80)
				m := recoverData(t, icc, sdad, 0x05)
				checkHash(t, m, un)
			}
			// Offline plaintext PIN: one wrong try, then the right PIN.
			send(t, c, "0020008000", fmt.Sprintf("63C%X", p.PINTries))
			send(t, c, apdu("00200080", pinBlock("0000"), false), fmt.Sprintf("63C%X", p.PINTries-1))
			send(t, c, apdu("00200080", pinBlock(p.PIN), false), "9000")
			if c.PINTries() != p.PINTries {
				t.Fatal("a good PIN did not reset the try counter")
			}
			cdol1, cdol2 := a.CDOL1, a.CDOL2
			d1 := build(t, cdol1, nil)
			first := send(t, c, apdu("80AE8000", d1, true), "9000")
			cid, atc, ac, iad := parseGenAC(t, first)
			if cid != 0x80 || !bytes.Equal(atc, []byte{byte(c.ATC() >> 8), byte(c.ATC())}) {
				t.Fatalf("CID %02X ATC %X", cid, atc)
			}
			mk, sk, want := issuerCryptogram(t, p, a, aip, atc, iad, termValues)
			if !bytes.Equal(ac, want[:]) {
				t.Fatalf("ARQC %X, the issuer computes %X", ac, want)
			}
			ia := issuerAuth(t, a, mk, sk, ac)
			extra := map[tlv.Tag][]byte{0x91: ia}
			if !cdol2.Has(0x91) {
				send(t, c, apdu("00820000", ia, false), "9000")
			}
			second := send(t, c, apdu("80AE4000", build(t, cdol2, extra), true), "9000")
			cid2, _, tc, iad2 := parseGenAC(t, second)
			if cid2 != 0x40 {
				t.Fatalf("second GENERATE AC CID %02X, want TC", cid2)
			}
			vals := dolValues(cdol2, build(t, cdol2, extra))
			_, _, wantTC := issuerCryptogram(t, p, a, aip, atc, iad2, vals)
			if !bytes.Equal(tc, wantTC[:]) {
				t.Fatal("TC does not verify")
			}
			send(t, c, "80AE40001D"+strings.Repeat("00", 0x1D)+"00", "6985")
			got := send(t, c, "80CA9F1300", "9000")
			if !bytes.Equal(find(t, got, 0x9F13), atc) {
				t.Fatal("LATC not updated after the online transaction")
			}
		})
	}
}

func findOpt(data []byte, tag tlv.Tag) ([]byte, bool) {
	objs, err := tlv.Parse(data)
	if err != nil {
		return nil, false
	}
	o, ok := tlv.Find(objs, tag)
	return o.Value, ok
}

func pinBlock(pin string) []byte {
	s := fmt.Sprintf("2%X%s", len(pin), pin)
	for len(s) < 16 {
		s += "F"
	}
	return mustHex(s)
}

func parseGenAC(t *testing.T, r []byte) (cid byte, atc, ac, iad []byte) {
	t.Helper()
	if r[0] == 0x80 {
		v := find(t, r, 0x80)
		return v[0], v[1:3], v[3:11], v[11:]
	}
	return find(t, r, 0x9F27)[0], find(t, r, 0x9F36), find(t, r, 0x9F26), find(t, r, 0x9F10)
}
