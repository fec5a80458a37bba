package modem_test

import (
	"context"
	"encoding/hex"
	"net"
	"path/filepath"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/tools/hostsim"
	"kpos/tools/modememu"
)

// A sign-on and a sale's authorization travel from the acquirer client
// through the modem driver, the AT dialogue on a pty and the emulator's
// loopback bridge to the host simulator, and the approval comes back.
func TestSaleAuthorizationThroughModemToHostSimulator(t *testing.T) {
	// Test terminal, TMK and card of docs/test-cards.md and testdata/host
	// (TEST KEYS ONLY).
	const (
		tid, mid = "12345678", "898320154110001"
		testTMK  = "11111111111111112222222222222222"
		pan, pin = "6225880000111122224", "222222"
	)
	now := time.Date(2026, 11, 22, 14, 30, 0, 0, time.Local)
	host, err := hostsim.New(hostsim.Config{DataDir: "../../testdata/host", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	served := make(chan error, 1)
	serveCtx, stopServe := context.WithCancel(ctx)
	go func() { served <- host.Serve(serveCtx, ln) }()
	defer func() {
		stopServe()
		if err := <-served; err != nil {
			t.Errorf("host: %v", err)
		}
	}()

	r := newRig(t, modememu.Config{}, nil)
	if err := r.m.Start(ctx); err != nil {
		t.Fatal(err)
	}

	ks, err := keys.Open(filepath.Join(t.TempDir(), "keys.bin"), make([]byte, 16))
	if err != nil {
		t.Fatal(err)
	}
	tmk, _ := hex.DecodeString(testTMK)
	kcv, err := keys.CheckValue(keys.AlgTDES, tmk)
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.InstallTMK(tmk, kcv[:3]); err != nil {
		t.Fatal(err)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	client := acquirer.NewClient(acquirer.Config{Addr: ln.Addr().String(), TPDU: tpdu, Header: hdr, TID: tid, MID: mid,
		ReadTimeout: 5 * time.Second, DialTimeout: 5 * time.Second, Now: func() time.Time { return now }}, r.m, ks)

	if err := client.SignOn(ctx, 1, 1); err != nil {
		t.Fatalf("sign-on through the modem: %v", err)
	}
	clearBlock, err := pinblock.Format0([]byte(pin), pan)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := ks.PINCipher().EncryptPINBlock(clearBlock[:])
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(ctx, acquirer.Request{Kind: acquirer.KindSale, Trace: 2, Batch: 1, Amount: 2500,
		Entry: acquirer.EntryStripe, Track2: []byte(pan + "=28121011234"), PIN: &hal.PINBlock{Block: enc}, Time: now})
	if err != nil {
		t.Fatalf("sale through the modem: %v", err)
	}
	if !resp.Approved() || len(resp.AuthCode) != 6 {
		t.Fatalf("sale response %+v", resp)
	}
	if s := r.emu.Stats(); s.SocketsOpen < 2 {
		t.Errorf("emulator opened %d sockets; the messages did not go through it", s.SocketsOpen)
	}
}
