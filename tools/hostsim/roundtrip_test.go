package hostsim

import (
	"context"
	"errors"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
)

func TestChipSaleApprovedWithARPC(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	req := r.chipSale(12345)
	resp, err := r.client.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Approved() || len(resp.AuthCode) != 6 || len(resp.RRN) != 12 {
		t.Fatalf("response %+v %+v", resp, r.host.Records())
	}
	// Tag 91: ARPC method 1 under the session key, then the ARC.
	objs, err := tlv.Parse(resp.ICCData)
	if err != nil {
		t.Fatal(err)
	}
	iad, ok := tlv.Find(objs, 0x91)
	if !ok || len(iad.Value) != 10 || string(iad.Value[8:]) != "00" {
		t.Fatalf("tag 91 %X", iad.Value)
	}
	_, sk, ac := iccData(t, upIMK, debitPAN, "01", 12345, 0x0042, false)
	want, _ := emvcrypto.ARPCMethod1(sk, ac[:], []byte("00"))
	if string(want[:]) != string(iad.Value[:8]) {
		t.Fatalf("ARPC %X, want %X", iad.Value[:8], want)
	}
	if bal, _ := r.host.Balance(debitPAN); bal != 1000000-12345 {
		t.Fatalf("balance %d", bal)
	}
	auths := r.records("authorization")
	if len(auths) != 1 || auths[0].Code != "00" || !auths[0].Applied || auths[0].PAN != "622202*********0128" {
		t.Fatalf("records %+v", auths)
	}
}

func TestSaleNotSentWhenLinkDown(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	r.link.SetDown(errors.New("no carrier"))
	_, err := r.client.Do(context.Background(), r.chipSale(100))
	if !errors.Is(err, acquirer.ErrNotSent) || errors.Is(err, acquirer.ErrNoAnswer) {
		t.Fatalf("err %v, want ErrNotSent", err)
	}
	if n := len(r.records("authorization")); n != 0 {
		t.Fatalf("%d authorizations at the host", n)
	}
}

func TestNoAnswerThenReversalIsAppliedOnce(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	r.host.InjectFault(Fault{Kind: FaultNoAnswer, MTI: "0200"})
	req := r.chipSale(5000)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := r.client.Do(ctx, req)
	if !errors.Is(err, acquirer.ErrNoAnswer) {
		t.Fatalf("err %v, want ErrNoAnswer", err)
	}
	if bal, _ := r.host.Balance(debitPAN); bal != 1000000-5000 {
		t.Fatalf("the host processed the sale: balance %d", bal)
	}
	for i := 0; i < 2; i++ {
		resp, err := r.client.Reverse(context.Background(), req, acquirer.CauseNoAnswer)
		if err != nil || resp.Code != "00" {
			t.Fatalf("reversal %d: %+v %v", i, resp, err)
		}
	}
	if bal, _ := r.host.Balance(debitPAN); bal != 1000000 {
		t.Fatalf("balance after reversals %d, want it restored once", bal)
	}
	revs := r.records("reversal")
	if len(revs) != 2 || !revs[0].Applied || revs[1].Applied {
		t.Fatalf("reversal records %+v", revs)
	}
	if a := r.records("authorization"); len(a) != 1 || !a[0].Reversed {
		t.Fatalf("authorization %+v", a)
	}
}
