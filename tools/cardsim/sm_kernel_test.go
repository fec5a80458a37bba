package cardsim_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"kpos/firmware/emv"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/status"
	"kpos/hal"
	"kpos/tools/cardsim"
)

// The PBOC 3.0 SM cards through the real kernel: SM2 certificates under the
// SM2 test CA (A000000333/E2), SM2 DDA on contact and SM2 fDDA on a qPBOC
// offline approval; the tampered ICC certificate sets DDA failed, as RSA does.
func TestKernelSMCards(t *testing.T) {
	online := loadKernel(t)
	// A reader that allows offline approval (TTQ byte 2 bit 8 clear, floor
	// limit above the amount), for the fDDA cases.
	cfg, err := emvconfig.LoadConfig("../../testdata/emv")
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.AIDs {
		cfg.AIDs[i].Contactless.TTQ = [4]byte{0x36, 0x00, 0x00, 0x00}
		cfg.AIDs[i].Contactless.FloorLimit = 10000
	}
	offline, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		profile   string
		iface     hal.CardInterface
		amount    int64
		first     emv.Decision
		ddaFailed bool
	}{
		{"sm-debit", hal.Contact, 12345, emv.GoOnline, false},
		{"sm-debit", hal.Contactless, 12345, emv.GoOnline, false},
		{"sm-debit", hal.Contactless, 100, emv.Approved, false}, // offline: fDDA SM2 signature verified
		{"sm-tampered", hal.Contact, 12345, emv.GoOnline, true},
		{"sm-tampered", hal.Contactless, 100, emv.Declined, true}, // fDDA fails: the offline approval is not kept (as RSA)
	} {
		t.Run(fmt.Sprintf("%s/%s/%d", c.profile, c.iface, c.amount), func(t *testing.T) {
			k := online
			if c.amount < 1000 {
				k = offline
			}
			p, err := cardsim.LoadProfile(cardDir + c.profile + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardsim.New(p, c.iface)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			txn := emv.Transaction{Type: emv.Purchase, Amount: c.amount, Currency: 156, Country: 156, Time: time.Now(), Sequence: 1}
			first, _, err := k.Start(ctx, card, txn, &cardholder{})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			tvr, tsi := status.TVR(first.TVR), status.TSI(first.TSI)
			if first.Decision != c.first {
				t.Fatalf("decision %v, want %v (TVR %v)", first.Decision, c.first, tvr.Names())
			}
			if tvr.Has(status.TVRDDAFailed) != c.ddaFailed {
				t.Fatalf("TVR %X %v: DDA failed %t, want %t", first.TVR, tvr.Names(), !c.ddaFailed, c.ddaFailed)
			}
			if tvr.Has(status.TVRICCDataMissing) {
				t.Fatalf("TVR %v", tvr.Names())
			}
			// An online qPBOC authorization carries no fDDA signature.
			odaDone := c.iface == hal.Contact || c.amount < 1000
			if odaDone == tvr.Has(status.TVROfflineDataAuthenticationNotPerformed) {
				t.Fatalf("TVR %v: ODA performed %t", tvr.Names(), !odaDone)
			}
			if c.iface == hal.Contact && !tsi.Has(status.TSIOfflineDataAuthenticationPerformed) {
				t.Fatalf("TSI %v: ODA not performed", tsi.Names())
			}
		})
	}
}

// The algorithm switch: a terminal set to one family treats the other's CA
// keys as absent (ICC data missing, DDA failed); both takes each card's own.
func TestKernelODAAlgorithms(t *testing.T) {
	for _, c := range []struct {
		algs    emvconfig.ODAAlgorithms
		profile string
		fails   bool
	}{
		{emvconfig.ODAAlgorithmsRSA, "sm-debit", true},
		{emvconfig.ODAAlgorithmsRSA, "unionpay-debit", false},
		{emvconfig.ODAAlgorithmsSM, "sm-debit", false},
		{emvconfig.ODAAlgorithmsSM, "unionpay-debit", true},
		{emvconfig.ODAAlgorithmsBoth, "sm-debit", false},
		{emvconfig.ODAAlgorithmsBoth, "unionpay-debit", false},
	} {
		t.Run(string(c.algs)+"/"+c.profile, func(t *testing.T) {
			cfg, err := emvconfig.LoadConfig("../../testdata/emv")
			if err != nil {
				t.Fatal(err)
			}
			cfg.Terminal.ODAAlgorithms = c.algs
			k, err := emv.NewKernel(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, err := cardsim.LoadProfile(cardDir + c.profile + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardsim.New(p, hal.Contact)
			if err != nil {
				t.Fatal(err)
			}
			txn := emv.Transaction{Type: emv.Purchase, Amount: 12345, Currency: 156, Country: 156, Time: time.Now(), Sequence: 1}
			first, _, err := k.Start(context.Background(), card, txn, &cardholder{})
			if err != nil {
				t.Fatal(err)
			}
			tvr := status.TVR(first.TVR)
			if tvr.Has(status.TVRDDAFailed) != c.fails || tvr.Has(status.TVRICCDataMissing) != c.fails {
				t.Fatalf("TVR %v, want DDA failed and ICC data missing: %t", tvr.Names(), c.fails)
			}
		})
	}
}
