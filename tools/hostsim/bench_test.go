package hostsim

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/keys"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/hal/fake"
)

// BenchmarkAuthorizations100Terminals measures the host simulator's
// authorizations per second on loopback TCP: 100 terminals, each signed on
// with its own working keys, send chip sales with PIN and ARQC
// concurrently, MAC both ways. The terminals are in the same process, so
// their packing, MACs and dialling share the CPU with the host's.
// Sub-benchmarks: "short", one connection per exchange (the CUP default),
// and "kept", terminals that keep their connection (KeepConnection).
func BenchmarkAuthorizations100Terminals(b *testing.B) {
	b.Run("short", func(b *testing.B) { benchAuthorizations(b, false) })
	b.Run("kept", func(b *testing.B) { benchAuthorizations(b, true) })
}

func benchAuthorizations(b *testing.B, keep bool) {
	const terminals = 100
	data, err := LoadData("../../testdata/host")
	if err != nil {
		b.Fatal(err)
	}
	base := data.Terminals[0]
	for i := 0; i < terminals; i++ {
		t := base
		t.Serial, t.TID, t.MID = fmt.Sprintf("BENCH-%03d", i), fmt.Sprintf("2%07d", i), fmt.Sprintf("8983201541%05d", i)
		t.Params.DailyLimit, t.Params.PerTxnLimit = 0, 0
		data.Terminals = append(data.Terminals, t)
	}
	host, err := New(Config{Data: data})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- host.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	tmk := mustHex(b, testTMK)
	kcv, _ := keys.CheckValue(keys.AlgTDES, tmk)
	now := time.Now()
	icc, _, _ := iccData(b, upIMK, debitPAN, "01", 1, 0x0042, false)
	type term struct {
		client *acquirer.Client
		pin    *hal.PINBlock
	}
	terms := make([]term, terminals)
	dir := b.TempDir()
	for i := range terms {
		ks, err := keys.Open(filepath.Join(dir, fmt.Sprint(i)), make([]byte, 16))
		if err != nil {
			b.Fatal(err)
		}
		if err := ks.InstallTMK(tmk, kcv[:3]); err != nil {
			b.Fatal(err)
		}
		cfg := acquirer.Config{Addr: ln.Addr().String(), TPDU: tpdu, Header: hdr, TID: fmt.Sprintf("2%07d", i), MID: fmt.Sprintf("8983201541%05d", i),
			KeepConnection: keep}
		c := acquirer.NewClient(cfg, fake.NewLink(nil), ks)
		defer c.Close()
		if err := c.SignOn(ctx, 1, 1); err != nil {
			b.Fatal(err)
		}
		clearBlock, _ := pinblock.Format0([]byte(debitPIN), debitPAN)
		enc, err := ks.PINCipher().EncryptPINBlock(clearBlock[:])
		if err != nil {
			b.Fatal(err)
		}
		terms[i] = term{client: c, pin: &hal.PINBlock{Block: enc}}
	}
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range terms {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			trace := uint32(1)
			for next.Add(1) <= int64(b.N) {
				trace++
				req := acquirer.Request{Kind: acquirer.KindSale, Trace: trace%999999 + 1, Batch: 1, Amount: 1,
					PAN: hal.MustPAN(debitPAN), Expiry: "3012", PANSeq: "01", Entry: acquirer.EntryChip,
					PIN: terms[i].pin, ICCData: icc, Time: now}
				resp, err := terms[i].client.Do(ctx, req)
				if err != nil || !resp.Approved() {
					if failed.Add(1) == 1 {
						b.Logf("first failure: %v %+v", err, resp)
					}
				}
			}
		}(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d authorizations failed", f, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "auths/s")
	// CPU per authorization, host and terminals together, every thread:
	// unlike the rate, it does not depend on what else the machine runs.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/auth")
}

// processCPU is the user and system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
