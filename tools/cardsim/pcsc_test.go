//go:build cgo && linux

package cardsim_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"kpos/drivers/pcsc"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
	"kpos/tools/cardsim"
	"kpos/tools/cardsim/pcsclab"
)

// The PC/SC tests run the real driver against a private pcscd with the vpcd
// driver and cardsim cards plugged into its virtual readers. Without pcscd
// and vsmartcard-vpcd they skip and say why; with KPOS_REQUIRE_PCSCD=1 (CI)
// they fail instead.

var lab struct {
	once   sync.Once
	d      *pcsclab.Daemon
	err    error
	absent error // what the driver said before pcscd ran
	dir    string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if lab.d != nil {
		if err := lab.d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	if lab.dir != "" {
		os.RemoveAll(lab.dir)
	}
	os.Exit(code)
}

// daemon starts the private pcscd once per test binary.
func daemon(t testing.TB) *pcsclab.Daemon {
	t.Helper()
	lab.once.Do(func() {
		lab.dir, lab.err = os.MkdirTemp("", "kpos-pcsclab-")
		if lab.err != nil {
			return
		}
		// libpcsclite reads the socket path once, at the first call.
		os.Setenv("PCSCLITE_CSOCK_NAME", lab.dir+"/run/pcscd/pcscd.comm")
		if _, _, _, err := pcsclab.Requirements(); err == nil {
			r, err := pcsc.Open(pcsc.Config{})
			if err == nil {
				_, lab.absent = r.Present(context.Background())
				r.Close()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if lab.d, lab.err = pcsclab.Start(ctx, lab.dir); lab.err == nil {
			lab.err = serviceUp(ctx)
		}
	})
	if lab.err != nil {
		if errors.Is(lab.err, pcsclab.ErrUnavailable) && os.Getenv("KPOS_REQUIRE_PCSCD") != "1" {
			t.Skipf("skipping the PC/SC integration test: %v", lab.err)
		}
		t.Fatal(lab.err)
	}
	return lab.d
}

// serviceUp waits until libpcsclite reaches the new pcscd: its "daemon
// ready" line can come a moment before the first client gets through, and
// nothing else announces it, so this polls (every 20 ms, within ctx).
func serviceUp(ctx context.Context) error {
	r, err := pcsc.Open(pcsc.Config{})
	if err != nil {
		return err
	}
	defer r.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := r.Present(ctx)
		if !errors.Is(err, hal.ErrNoReader) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pcscd does not answer: %w (%w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// openReader opens the terminal's reader on the two vpcd slots: slot 0 is
// the contact slot, slot 1 the contactless field.
func openReader(t testing.TB, d *pcsclab.Daemon) *pcsc.Reader {
	t.Helper()
	r, err := pcsc.Open(pcsc.Config{Slots: []pcsc.Slot{
		{Pattern: "^" + d.ReaderName(0) + "$", Interface: hal.Contact},
		{Pattern: "^" + d.ReaderName(1) + "$", Interface: hal.Contactless},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// vpcdAddr is where a card on iface plugs in.
func vpcdAddr(d *pcsclab.Daemon, iface hal.CardInterface) string {
	if iface == hal.Contactless {
		return d.VPCDAddr(1)
	}
	return d.VPCDAddr(0)
}

// insert plugs card into the reader and returns the driver's card.
func insert(t testing.TB, d *pcsclab.Daemon, r *pcsc.Reader, addr string, card *cardsim.Card) (hal.Card, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- card.ServeVPCD(ctx, addr) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer wcancel()
	ev, err := r.WaitEvent(wctx)
	if err != nil {
		cancel()
		t.Fatalf("waiting for the card: %v\npcscd:\n%s", err, d.Logs())
	}
	want := hal.CardInserted
	if card.Interface() == hal.Contactless {
		want = hal.CardTapped
	}
	if ev.Kind != want || ev.Card == nil {
		cancel()
		t.Fatalf("event %v, want %v", ev.Kind, want)
	}
	remove := func() {
		t.Helper()
		cancel()
		if err := <-served; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("card: %v", err)
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer wcancel()
		ev, err := r.WaitEvent(wctx)
		if err != nil || ev.Kind != hal.CardRemoved {
			t.Errorf("after removal: event %v, %v", ev.Kind, err)
		}
	}
	return ev.Card, remove
}

func TestPCSCAbsentService(t *testing.T) {
	daemon(t)
	if !errors.Is(lab.absent, hal.ErrNoReader) {
		t.Fatalf("before pcscd ran the driver said %v, want hal.ErrNoReader", lab.absent)
	}
}

func xfer(t testing.TB, c hal.Card, cmd string, sw string) []byte {
	t.Helper()
	resp, err := c.Transmit(context.Background(), hexb(cmd))
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if got := fmt.Sprintf("%X", resp[len(resp)-2:]); got != sw {
		t.Fatalf("%s: SW %s, want %s", cmd, got, sw)
	}
	return resp[:len(resp)-2]
}

func hexb(s string) []byte {
	var b []byte
	if _, err := fmt.Sscanf(s, "%X", &b); err != nil {
		panic(err)
	}
	return b
}

// APDU exchanges through pcscd on a T=0 contact card (61xx and 6Cxx handled
// by the driver) and a T=1 one, with a reset in between.
func TestPCSCExchanges(t *testing.T) {
	d := daemon(t)
	for _, name := range []string{"unionpay-debit", "mastercard-debit"} {
		t.Run(name, func(t *testing.T) {
			p, err := cardsim.LoadProfile(cardDir + name + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			sim, err := cardsim.New(p, hal.Contact)
			if err != nil {
				t.Fatal(err)
			}
			r := openReader(t, d)
			card, remove := insert(t, d, r, vpcdAddr(d, hal.Contact), sim)
			defer remove()
			if !bytes.Equal(card.ATR(), p.ATR) {
				t.Fatalf("ATR %X, want %X", card.ATR(), p.ATR)
			}
			wantProto := "T=0"
			if name == "mastercard-debit" {
				wantProto = "T=1"
			}
			if got := card.(*pcsc.Card).Protocol(); got != wantProto {
				t.Fatalf("protocol %s, want %s", got, wantProto)
			}
			if ok, err := r.Present(context.Background()); err != nil || !ok {
				t.Fatalf("Present = %t, %v", ok, err)
			}
			aid := fmt.Sprintf("%X", p.Apps[0].AID)
			fci := xfer(t, card, "00A404000E315041592E5359532E444446303100", "9000")
			if !bytes.HasPrefix(fci, []byte{0x6F}) {
				t.Fatalf("PSE FCI %X", fci)
			}
			xfer(t, card, "00B2010C00", "9000")
			xfer(t, card, fmt.Sprintf("00A40400%02X%s00", len(aid)/2, aid), "9000")
			pdol := p.Apps[0].Contact.PDOL
			gpo := xfer(t, card, fmt.Sprintf("80A80000%02X83%02X%s00", pdol.Len()+2, pdol.Len(), bytes.Repeat([]byte("00"), pdol.Len())), "9000")
			objs, err := tlv.Parse(gpo)
			if err != nil {
				t.Fatal(err)
			}
			afl, ok := tlv.Find(objs, 0x94)
			if !ok {
				t.Fatalf("GPO %X", gpo)
			}
			for i := 0; i+4 <= len(afl.Value); i += 4 {
				for rec := afl.Value[i+1]; rec <= afl.Value[i+2]; rec++ {
					xfer(t, card, fmt.Sprintf("00B2%02X%02X00", rec, afl.Value[i]|4), "9000")
				}
			}
			n := p.Apps[0].CDOL1.Len()
			ac := xfer(t, card, fmt.Sprintf("80AE8000%02X%s00", n, bytes.Repeat([]byte("00"), n)), "9000")
			if ac[0] != 0x77 && ac[0] != 0x80 {
				t.Fatalf("GENERATE AC %X", ac)
			}
			xfer(t, card, "80CA9F3600", "9000")
			xfer(t, card, "0084000000", "9000")
			// A reset clears the card's selection; the ATC stays.
			atc := sim.ATC()
			if err := card.(*pcsc.Card).Reset(context.Background()); err != nil {
				t.Fatal(err)
			}
			xfer(t, card, "00B2010C00", "6985")
			if sim.ATC() != atc {
				t.Fatal("reset lost the ATC")
			}
		})
	}
}

// Whole transactions through the kernel, the real PC/SC driver, pcscd and
// vpcd, for every profile and interface.
func TestPCSCKernelTransactions(t *testing.T) {
	d := daemon(t)
	k := loadKernel(t)
	r := openReader(t, d)
	for _, tc := range txnCases {
		t.Run(tc.profile+"/"+tc.iface.String(), func(t *testing.T) {
			p, err := cardsim.LoadProfile(cardDir + tc.profile + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			sim, err := cardsim.New(p, tc.iface)
			if err != nil {
				t.Fatal(err)
			}
			card, remove := insert(t, d, r, vpcdAddr(d, tc.iface), sim)
			defer remove()
			runTxn(t, k, card, p, tc)
		})
	}
}

// BenchmarkPCSCRoundTrip reports the time of one APDU through the driver,
// pcscd, vpcd and cardsim.
func BenchmarkPCSCRoundTrip(b *testing.B) {
	d := daemon(b)
	p, err := cardsim.LoadProfile(cardDir + "mastercard-debit.toml")
	if err != nil {
		b.Fatal(err)
	}
	sim, err := cardsim.New(p, hal.Contact)
	if err != nil {
		b.Fatal(err)
	}
	r := openReader(b, d)
	card, remove := insert(b, d, r, vpcdAddr(d, hal.Contact), sim)
	defer remove()
	cmd := hexb("80CA9F3600")
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := card.Transmit(ctx, cmd); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/APDU")
}

// SCardCancel ends a wait at once when the context ends, however long the
// poll period.
func TestPCSCWaitCancelled(t *testing.T) {
	d := daemon(t)
	r, err := pcsc.Open(pcsc.Config{Slots: []pcsc.Slot{{Pattern: "^" + d.ReaderName(0) + "$"}}, Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.WaitEvent(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitEvent: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("WaitEvent returned %v after its deadline", d)
	}
}
