package hostsim

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/hal/fake"
)

// Test terminal and cards of docs/test-cards.md (TEST KEYS ONLY).
const (
	testTID    = "12345678"
	testMID    = "898320154110001"
	testTMK    = "11111111111111112222222222222222"
	testSerial = "KPOS-SIM-0001"
	debitPAN   = "6222021234567890128"
	debitPIN   = "123456"
	upIMK      = "0123456789ABCDEFFEDCBA9876543210"
)

// fixedNow is the simulated clock of the tests.
var fixedNow = time.Date(2026, 11, 22, 14, 30, 0, 0, time.Local)

type rig struct {
	t      testing.TB
	host   *Server
	client *acquirer.Client
	ks     *keys.Store
	link   *fake.Link
	addr   string
	trace  uint32
	cancel context.CancelFunc
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newRig starts a host simulator on loopback TCP and a client that reaches
// it through a fake.Link, with the test TMK installed.
func newRig(t *testing.T, mutate func(*acquirer.Config)) *rig { return newRigMutate(t, mutate) }

// newRigTB is newRig for fuzz targets and benchmarks.
func newRigTB(t testing.TB) *rig { return newRigMutate(t, nil) }

func newRigMutate(t testing.TB, mutate func(*acquirer.Config)) *rig {
	t.Helper()
	host, err := New(Config{DataDir: "../../testdata/host", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	ks, err := keys.Open(filepath.Join(t.TempDir(), "keys.bin"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	tmk := mustHex(t, testTMK)
	kcv, _ := keys.CheckValue(keys.AlgTDES, tmk)
	if err := ks.InstallTMK(tmk, kcv[:3]); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	cfg := acquirer.Config{Addr: ln.Addr().String(), TPDU: tpdu, Header: hdr, TID: testTID, MID: testMID,
		ReadTimeout: 2 * time.Second, DialTimeout: time.Second, Now: func() time.Time { return fixedNow }}
	if mutate != nil {
		mutate(&cfg)
	}
	link := fake.NewLink(nil)
	r := &rig{t: t, host: host, client: acquirer.NewClient(cfg, link, ks), ks: ks, link: link, addr: cfg.Addr, cancel: cancel}
	return r
}

func (r *rig) nextTrace() uint32 {
	r.trace++
	return r.trace
}

func (r *rig) signOn() {
	r.t.Helper()
	if err := r.client.SignOn(context.Background(), r.nextTrace(), 1); err != nil {
		r.t.Fatalf("sign-on: %v", err)
	}
}

// pinBlock encrypts pin for pan as the PIN pad would, under the store's key.
func (r *rig) pinBlock(pin, pan string) *hal.PINBlock {
	r.t.Helper()
	clearBlock, err := pinblock.Format0([]byte(pin), pan)
	if err != nil {
		r.t.Fatal(err)
	}
	enc, err := r.ks.PINCipher().EncryptPINBlock(clearBlock[:])
	if err != nil {
		r.t.Fatal(err)
	}
	return &hal.PINBlock{Block: enc}
}

// iccData builds field 55 the way a card and the kernel would: the
// recommended ARQC data, and an ARQC computed under the card's session key.
func iccData(t testing.TB, imk, pan, psn string, amount int64, atc uint16, corrupt bool) ([]byte, []byte, [8]byte) {
	t.Helper()
	vals := []struct {
		tag tlv.Tag
		v   []byte
	}{
		{0x9F02, mustHex(t, fmt.Sprintf("%012d", amount))},
		{0x9F03, make([]byte, 6)},
		{0x9F1A, []byte{0x01, 0x56}},
		{0x95, make([]byte, 5)},
		{0x5F2A, []byte{0x01, 0x56}},
		{0x9A, []byte{0x26, 0x11, 0x22}},
		{0x9C, []byte{0x00}},
		{0x9F37, []byte{0x12, 0x34, 0x56, 0x78}},
		{0x82, []byte{0x7C, 0x00}},
		{0x9F36, []byte{byte(atc >> 8), byte(atc)}},
	}
	iad := mustHex(t, "07010103A00000010A01000000000000") // UnionPay CVN 01: CVR in bytes 4-7
	var data []byte
	for _, x := range vals {
		data = append(data, x.v...)
	}
	data = append(data, iad[3:7]...)
	mk, err := emvcrypto.DeriveICCMasterKeyA(mustHex(t, imk), pan, psn)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := emvcrypto.SessionKeyCommon(mk, []byte{byte(atc >> 8), byte(atc)})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := emvcrypto.ARQC(sk, data)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt {
		ac[0] ^= 0xFF
	}
	out := tlv.Append(nil, 0x9F26, ac[:])
	out = tlv.Append(out, 0x9F27, []byte{0x80})
	out = tlv.Append(out, 0x9F10, iad)
	for _, x := range vals {
		out = tlv.Append(out, x.tag, x.v)
	}
	out = tlv.Append(out, 0x9F33, []byte{0xE0, 0xE1, 0xC8})
	out = tlv.Append(out, 0x84, mustHex(t, "A000000333010101"))
	return out, sk, ac
}

// chipSale is a chip sale request for the debit test card with PIN.
func (r *rig) chipSale(amount int64) acquirer.Request {
	icc, _, _ := iccData(r.t, upIMK, debitPAN, "01", amount, 0x0042, false)
	return acquirer.Request{Kind: acquirer.KindSale, Trace: r.nextTrace(), Batch: 1, Amount: amount, Currency: 156,
		PAN: hal.MustPAN(debitPAN), Expiry: "3012", PANSeq: "01", Entry: acquirer.EntryChip,
		PIN: r.pinBlock(debitPIN, debitPAN), ICCData: icc, Time: fixedNow}
}

// records returns the host records of one type.
func (r *rig) records(typ string) []Record {
	var out []Record
	for _, rec := range r.host.Records() {
		if rec.Type == typ {
			out = append(out, rec)
		}
	}
	return out
}

// pipeLink is a link whose every dial is an in-process pipe served by s.
func pipeLink(ctx context.Context, s *Server) *fake.Link {
	return fake.NewLink(func(_ context.Context, network, addr string) (net.Conn, error) {
		c, sc := net.Pipe()
		go s.ServeConn(ctx, sc)
		return c, nil
	})
}
