package hostsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"kpos/firmware/acquirer"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/hal/fake"
)

// smRig is an SM-mode terminal (terminals.toml algorithm SM4) signed on to
// the host over loopback.
type smRig struct {
	host   *Server
	client *acquirer.Client
	ks     *keys.Store
	tmk    []byte
	tid    string
}

func newSMRig(t *testing.T) *smRig {
	t.Helper()
	data, err := LoadData("../../testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	term := data.Terminals[0]
	term.Serial, term.TID, term.MID, term.Algorithm = "SM4-0002", "12345691", "898320154110090", "SM4"
	term.TMK = "0123456789ABCDEFFEDCBA9876543210" // TEST KEY (the GB/T 32907 example key)
	data.Terminals = append(data.Terminals, term)
	host, err := New(Config{Data: data, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	addr := startHost(t, host, nil)
	ks, err := keys.OpenConfig(filepath.Join(t.TempDir(), "k"), make([]byte, 16), keys.Config{Algorithm: keys.AlgSM4})
	if err != nil {
		t.Fatal(err)
	}
	tmk := mustHex(t, term.TMK)
	kcv, _ := keys.CheckValue(keys.AlgSM4, tmk)
	if err := ks.InstallTMK(tmk, kcv[:4]); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	c := acquirer.NewClient(acquirer.Config{Addr: addr, TPDU: tpdu, Header: hdr, TID: term.TID, MID: term.MID,
		Now: func() time.Time { return fixedNow }}, fake.NewLink(nil), ks)
	if err := c.SignOn(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	return &smRig{host: host, client: c, ks: ks, tmk: tmk, tid: term.TID}
}

// sale is a chip sale of the debit test card with an SM4 PIN block built as
// the PIN pad builds it (pinblock.ForCipher picks the 16-byte block).
func (r *smRig) sale(t *testing.T, trace uint32, pin string) (acquirer.Response, error) {
	t.Helper()
	cipher := r.ks.PINCipher()
	clearBlock, err := pinblock.ForCipher([]byte(pin), debitPAN, cipher)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := cipher.EncryptPINBlock(clearBlock)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 16 {
		t.Fatalf("SM4 PIN block of %d bytes", len(enc))
	}
	icc, _, _ := iccData(t, upIMK, debitPAN, "01", 1234, uint16(0x0040+trace), false)
	return r.client.Do(context.Background(), acquirer.Request{Kind: acquirer.KindSale, Trace: trace, Batch: 1, Amount: 1234,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", PANSeq: "01", Entry: acquirer.EntryChip, PIN: &hal.PINBlock{Block: enc},
		ICCData: icc, Time: fixedNow})
}

// install replaces the terminal's working keys: pin and mac clear, encrypted
// under the TMK with their SM4 check values, as a sign-on would deliver them.
func (r *smRig) install(t *testing.T, pin, mac []byte) {
	t.Helper()
	var wk keys.WorkingKeys
	for _, k := range []struct {
		clear    []byte
		enc, kcv *[]byte
	}{{pin, &wk.PIN, &wk.PINKCV}, {mac, &wk.MAC, &wk.MACKCV}} {
		var err error
		if *k.enc, err = keys.EncryptKey(keys.AlgSM4, r.tmk, k.clear); err != nil {
			t.Fatal(err)
		}
		full, _ := keys.CheckValue(keys.AlgSM4, k.clear)
		*k.kcv = full[:4]
	}
	if err := r.ks.InstallWorkingKeys(wk); err != nil {
		t.Fatal(err)
	}
}

func (r *smRig) hostKeys() (pin, mac []byte) {
	r.host.mu.Lock()
	defer r.host.mu.Unlock()
	tk := r.host.terms[r.tid]
	return bytes.Clone(tk.pinKey), bytes.Clone(tk.macKey)
}

func randomKey(t *testing.T) []byte {
	k := make([]byte, 16)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// A sale on an SM link: SM4 keys from sign-on, the 16-byte SM4 PIN block
// verified online, the SM4 MAC both ways.
func TestSMSalePINVerifiedOnline(t *testing.T) {
	r := newSMRig(t)
	resp, err := r.sale(t, 2, debitPIN)
	if err != nil || !resp.Approved() {
		t.Fatalf("SM sale: %+v %v", resp, err)
	}
	resp, err = r.sale(t, 3, "000000")
	if err != nil || resp.Code != "55" {
		t.Fatalf("wrong PIN: %+v %v, want 55", resp, err)
	}
}

// The host refuses an SM4 PIN block built under another PIN key, and a
// message whose SM4 MAC was computed under another MAC key.
func TestSMWrongKeysRefused(t *testing.T) {
	t.Run("PIN key", func(t *testing.T) {
		r := newSMRig(t)
		_, mac := r.hostKeys()
		r.install(t, randomKey(t), mac)
		resp, err := r.sale(t, 2, debitPIN)
		if err != nil || resp.Code != "99" {
			t.Fatalf("PIN block under another key: %+v %v, want 99", resp, err)
		}
	})
	t.Run("MAC key", func(t *testing.T) {
		r := newSMRig(t)
		pin, _ := r.hostKeys()
		r.install(t, pin, randomKey(t))
		_, err := r.sale(t, 2, debitPIN)
		if !errors.Is(err, acquirer.ErrNoAnswer) {
			t.Fatalf("MAC under another key: %v, want no valid answer", err)
		}
		var refused bool
		for _, rec := range r.host.Records() {
			refused = refused || rec.Code == "A0"
		}
		if !refused {
			t.Fatal("the host did not record the MAC refusal (A0)")
		}
	})
}

// A message mixing the modes is refused: 3DES field 53 or an 8-byte PIN
// block from an SM terminal, SM field 53 from a 3DES terminal.
func TestSecurityModeCode(t *testing.T) {
	sm := &termState{alg: keys.AlgSM4}
	tdes := &termState{alg: keys.AlgTDES}
	codec, smCodec := acquirer.NewCodec(), acquirer.NewSMCodec()
	msg := func(c *acquirer.Codec, f53 string, f52 []byte) *iso8583.Message {
		m := c.NewMessage()
		m.MTI("0200")
		if f53 != "" {
			if err := m.Field(53, f53); err != nil {
				t.Fatal(err)
			}
		}
		if f52 != nil {
			if err := m.BinaryField(52, f52); err != nil {
				t.Fatal(err)
			}
		}
		body, err := c.Pack(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		out, err := c.Unpack(body)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range []struct {
		name string
		tk   *termState
		m    *iso8583.Message
		want string
	}{
		{"SM terminal, SM message", sm, msg(smCodec, acquirer.SecurityControlSM4, make([]byte, 16)), ""},
		{"SM terminal, no PIN", sm, msg(smCodec, "", nil), ""},
		{"SM terminal, 3DES field 53", sm, msg(smCodec, acquirer.SecurityControl3DES, make([]byte, 16)), "A7"},
		{"SM terminal, 8-byte PIN block", sm, msg(codec, acquirer.SecurityControlSM4, make([]byte, 8)), "A7"},
		{"SM terminal, PIN block without 53", sm, msg(smCodec, "", make([]byte, 16)), "A7"},
		{"3DES terminal, 3DES message", tdes, msg(codec, acquirer.SecurityControl3DES, make([]byte, 8)), ""},
		{"3DES terminal, SM field 53", tdes, msg(codec, acquirer.SecurityControlSM4, make([]byte, 8)), "A7"},
	} {
		if got := securityModeCode(c.tk, c.m); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The CA key download carries the SM2 test CA with its algorithm indicator
// (DF07 04), the point and no exponent; the RSA keys keep 01.
func TestCAKeyDownloadSM2(t *testing.T) {
	capks, err := LoadCAKeys("../../testdata/emv/capk-test.toml")
	if err != nil {
		t.Fatal(err)
	}
	host, err := New(Config{DataDir: "../../testdata/host", CAKeys: capks, Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := acquirer.NewClient(acquirer.Config{Addr: "host", TID: testTID, MID: testMID, TPDU: acquirer.TPDU{0x60, 0, 3, 0, 0}},
		pipeLink(ctx, host), r.ks)
	got, err := client.DownloadCAKeys(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sm int
	for _, k := range got {
		switch {
		case k.Algorithm == acquirer.CAKeySM2:
			sm++
			if k.Index != 0xE3 || len(k.Modulus) != 64 || len(k.Exponent) != 0 {
				t.Errorf("SM2 key %02X: %d-byte key, exponent %X", k.Index, len(k.Modulus), k.Exponent)
			}
		case k.Algorithm != 0x01 || len(k.Exponent) == 0:
			t.Errorf("RSA key %X/%02X: algorithm %02X", k.RID, k.Index, k.Algorithm)
		}
	}
	if sm != 1 {
		t.Fatalf("%d SM2 keys downloaded, want 1", sm)
	}
}
