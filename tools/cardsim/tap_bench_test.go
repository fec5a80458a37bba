package cardsim_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kpos/firmware/emv"
	"kpos/firmware/emvcrypto"
	"kpos/hal"
	"kpos/tools/cardsim"
)

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// cpuCard adds up the CPU time the simulated card spends answering, so
// that it can be taken out of the kernel's.
type cpuCard struct {
	*cardsim.Card
	cpu time.Duration
}

func (c *cpuCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	t0 := threadCPU()
	defer func() { c.cpu += threadCPU() - t0 }()
	return c.Card.Transmit(ctx, apdu)
}

// BenchmarkKernel runs whole transactions through the EMV kernel on the
// simulated cards of testdata/cards, one sub-benchmark per profile and
// interface (a tap for contactless), the issuer answering with an ARPC.
// It reports the kernel's CPU time per transaction with the card's
// excluded (thread CPU time of Start and Complete, less the card's
// answers; the issuer's cryptography is not counted) and the command APDUs
// the card answered, counted on the card.
func BenchmarkKernel(b *testing.B) {
	k := loadKernel(b)
	for _, tc := range txnCases {
		if tc.final == 0 {
			continue // declined offline: not a sale that completes
		}
		b.Run(tc.profile+"/"+tc.iface.String(), func(b *testing.B) {
			p, err := cardsim.LoadProfile(cardDir + tc.profile + ".toml")
			if err != nil {
				b.Fatal(err)
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var kernel time.Duration
			apdus := 0
			b.ResetTimer()
			for range b.N {
				sim, err := cardsim.New(p, tc.iface)
				if err != nil {
					b.Fatal(err)
				}
				card := &cpuCard{Card: sim}
				kernel += kernelTxn(b, k, card, p, tc)
				apdus += sim.Commands()
			}
			b.ReportMetric(float64(kernel.Microseconds())/1000/float64(b.N), "kernel-cpu-ms/txn")
			b.ReportMetric(float64(apdus)/float64(b.N), "apdus/txn")
		})
	}
}

// kernelTxn runs one transaction and returns the kernel's CPU time, the
// card's and the issuer's excluded.
func kernelTxn(b *testing.B, k *emv.Kernel, card *cpuCard, p *cardsim.Profile, tc txnCase) time.Duration {
	ctx := context.Background()
	txn := emv.Transaction{Type: emv.Purchase, Amount: tc.amount, Currency: 156, Country: 156, Time: time.Now(), Sequence: 1}
	t0 := threadCPU()
	first, online, err := k.Start(ctx, card, txn, &cardholder{})
	used := threadCPU() - t0
	if err != nil || first.Decision != tc.first || online == nil {
		b.Fatalf("Start: %v %v", first.Decision, err)
	}
	rid := fmt.Sprintf("%X", first.Card.AID[:5])
	psn := first.Card.PANSequence
	if psn == "" {
		psn = "00"
	}
	imk, _ := hex.DecodeString(issuerKeys[rid])
	mk, err := emvcrypto.DeriveICCMasterKeyA(imk, p.PAN.Digits(), psn)
	if err != nil {
		b.Fatal(err)
	}
	sk, err := emvcrypto.SessionKeyCommon(mk, first.ATC)
	if err != nil {
		b.Fatal(err)
	}
	arpc, err := emvcrypto.ARPCMethod1(sk, first.Cryptogram, []byte("00"))
	if err != nil {
		b.Fatal(err)
	}
	t1 := threadCPU()
	final, err := online.Complete(ctx, emv.HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: append(arpc[:], "00"...)})
	used += threadCPU() - t1
	if err != nil || final.Decision != tc.final {
		b.Fatalf("Complete: %v %v", final.Decision, err)
	}
	return used - card.cpu
}

var _ hal.Card = (*cpuCard)(nil)
