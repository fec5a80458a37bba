package hostsim

import (
	"context"
	"testing"
	"time"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/pinblock"
	"kpos/hal"
	"kpos/tools/cardsim"
)

// kernelHolder is the person at the terminal: first application, the
// card's PIN from the host's own account table, encrypted under the
// terminal's PIN key as the PIN pad would.
type kernelHolder struct {
	r   *rig
	pin string
}

func (h *kernelHolder) ChooseApplication(ctx context.Context, apps []emv.Candidate) (int, error) {
	return 0, nil
}

func (h *kernelHolder) OnlinePIN(ctx context.Context, pan hal.PAN) (hal.PINBlock, error) {
	clearBlock, err := pinblock.Format0([]byte(h.pin), pan.Digits())
	if err != nil {
		return hal.PINBlock{}, err
	}
	enc, err := h.r.ks.PINCipher().EncryptPINBlock(clearBlock[:])
	pinblock.Wipe(clearBlock[:])
	return hal.PINBlock{Block: enc}, err
}

func (h *kernelHolder) Notify(ctx context.Context, n emv.Notice) {}

// TestKernelToHost runs whole chip sales: the EMV kernel on a simulated
// card, its field 55 and PIN block to the host simulator through the
// acquirer client, the host's ARPC back into the card. Every online
// transaction must be approved by the host and then by the card.
func TestKernelToHost(t *testing.T) {
	cfg, err := emvconfig.LoadConfig("../../testdata/emv")
	if err != nil {
		t.Fatal(err)
	}
	k, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, err := LoadData("../../testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	pins := map[string]string{}
	for _, c := range data.Cards {
		pins[c.PAN] = c.PIN
	}
	cases := []struct {
		profile string
		iface   hal.CardInterface
	}{
		{"unionpay-debit", hal.Contact}, {"unionpay-debit", hal.Contactless},
		{"unionpay-credit", hal.Contact}, {"unionpay-credit", hal.Contactless},
		{"visa-credit", hal.Contact}, {"visa-credit", hal.Contactless},
		{"mastercard-debit", hal.Contact}, {"mastercard-debit", hal.Contactless},
		{"multi-app", hal.Contact},
		{"visa-cvn18", hal.Contact}, {"visa-cvn18", hal.Contactless},
		{"visa-cvn22", hal.Contact}, {"visa-cvn22", hal.Contactless},
		{"mastercard-cvn17", hal.Contact}, {"mastercard-cvn17", hal.Contactless},
	}
	r := newRig(t, nil)
	r.signOn()
	for _, tc := range cases {
		t.Run(tc.profile+"/"+tc.iface.String(), func(t *testing.T) {
			p, err := cardsim.LoadProfile("../../testdata/cards/" + tc.profile + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardsim.New(p, tc.iface)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			holder := &kernelHolder{r: r, pin: pins[p.PAN.Digits()]}
			const amount = 2345
			first, online, err := k.Start(ctx, card, emv.Transaction{Type: emv.Purchase, Amount: amount, Currency: 156,
				Country: 156, Time: fixedNow, Sequence: r.trace + 1}, holder)
			if err != nil || online == nil {
				t.Fatalf("Start: %v %v", first.Decision, err)
			}
			entry := acquirer.EntryChip
			if tc.iface == hal.Contactless {
				entry = acquirer.EntryContactless
			}
			req := acquirer.Request{Kind: acquirer.KindSale, Trace: r.nextTrace(), Batch: 1, Amount: amount, Currency: 156,
				PAN: first.Card.PAN, Expiry: first.Card.Expiry, PANSeq: first.Card.PANSequence, Track2: first.Card.Track2,
				Entry: entry, PIN: first.PINBlock, ICCData: first.ICCData, Time: fixedNow}
			resp, err := r.client.Do(ctx, req)
			if err != nil || !resp.Approved() {
				t.Fatalf("host: %+v %v (%v)", resp, err, r.host.Records()[len(r.host.Records())-1].Note)
			}
			objs, err := tlv.Parse(resp.ICCData)
			if err != nil {
				t.Fatal(err)
			}
			iad, ok := tlv.Find(objs, 0x91)
			if !ok {
				t.Fatal("no tag 91 from the host")
			}
			final, err := online.Complete(ctx, emv.HostResponse{Answered: true, Approved: true, ResponseCode: resp.Code, IssuerAuthData: iad.Value})
			if err != nil && tc.iface != hal.Contactless {
				t.Fatalf("Complete: %v", err)
			}
			if tc.iface == hal.Contact && (final.Decision != emv.Approved || final.Reverse || final.TVR[4]&0x40 != 0) {
				t.Fatalf("card: %v reverse %t TVR %X", final.Decision, final.Reverse, final.TVR)
			}
		})
	}
}
