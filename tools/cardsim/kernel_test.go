package cardsim_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"kpos/firmware/emv"
	"kpos/firmware/emv/emvconfig"
	"kpos/hal"
	"kpos/tools/cardsim"
	"kpos/tools/hostsim"
)

const cardDir = "../../testdata/cards/"

// The issuer master keys of docs/test-cards.md (TEST KEYS ONLY), by RID.
var issuerKeys = map[string]string{
	"A000000333": "0123456789ABCDEFFEDCBA9876543210",
	"A000000003": "89ABCDEF0123456776543210FEDCBA98",
	"A000000004": "FEDCBA98765432100123456789ABCDEF",
}

// cardholder answers the kernel: first application, a PIN block, no notices.
type cardholder struct {
	pins    int
	choices int
	removed bool
}

func (c *cardholder) ChooseApplication(ctx context.Context, apps []emv.Candidate) (int, error) {
	c.choices++
	return 0, nil
}

func (c *cardholder) OnlinePIN(ctx context.Context, pan hal.PAN) (hal.PINBlock, error) {
	c.pins++
	return hal.PINBlock{Block: []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}}, nil
}

func (c *cardholder) Notify(ctx context.Context, n emv.Notice) {
	if n == emv.NoticeRemoveCard {
		c.removed = true
	}
}

// txnCase is one whole transaction and what must come of it.
type txnCase struct {
	profile string
	iface   hal.CardInterface
	amount  int64
	first   emv.Decision // after Start
	final   emv.Decision // after Complete, when the first went online
}

var txnCases = []txnCase{
	{"unionpay-debit", hal.Contact, 12345, emv.GoOnline, emv.Approved},
	{"unionpay-debit", hal.Contactless, 12345, emv.GoOnline, emv.Approved},
	{"unionpay-credit", hal.Contact, 50000, emv.GoOnline, emv.Approved},
	{"unionpay-credit", hal.Contactless, 2000, emv.GoOnline, emv.Approved},
	{"visa-credit", hal.Contact, 8800, emv.GoOnline, emv.Approved},
	{"visa-credit", hal.Contactless, 8800, emv.GoOnline, emv.Approved},
	{"mastercard-debit", hal.Contact, 4321, emv.GoOnline, emv.Approved},
	{"mastercard-debit", hal.Contactless, 4321, emv.GoOnline, emv.Approved},
	{"multi-app", hal.Contact, 100, emv.GoOnline, emv.Approved},
	{"visa-cvn18", hal.Contact, 8800, emv.GoOnline, emv.Approved},
	{"visa-cvn18", hal.Contactless, 8800, emv.GoOnline, emv.Approved},
	{"visa-cvn22", hal.Contact, 8800, emv.GoOnline, emv.Approved},
	{"visa-cvn22", hal.Contactless, 8800, emv.GoOnline, emv.Approved},
	{"mastercard-cvn17", hal.Contact, 4321, emv.GoOnline, emv.Approved},
	{"mastercard-cvn17", hal.Contactless, 4321, emv.GoOnline, emv.Approved},
	{"expired", hal.Contact, 100, emv.Declined, 0},
}

func loadKernel(t testing.TB) *emv.Kernel {
	t.Helper()
	cfg, err := emvconfig.LoadConfig("../../testdata/emv")
	if err != nil {
		t.Fatal(err)
	}
	k, err := emv.NewKernel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// runTxn runs tc through the kernel on card and answers as the issuer
// would: it verifies the ARQC from the field 55 data with the issuer master
// key, and answers with an ARPC. It returns the number of APDUs.
func runTxn(t *testing.T, k *emv.Kernel, card hal.Card, p *cardsim.Profile, tc txnCase) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ch := &cardholder{}
	txn := emv.Transaction{Type: emv.Purchase, Amount: tc.amount, Currency: 156, Country: 156, Time: time.Now(), Sequence: 1}
	first, online, err := k.Start(ctx, card, txn, ch)
	if err != nil {
		t.Fatalf("Start: %v (TVR %X TSI %X)", err, first.TVR, first.TSI)
	}
	if first.Decision != tc.first {
		t.Fatalf("first decision %v, want %v (TVR %X)", first.Decision, tc.first, first.TVR)
	}
	if !first.Card.PAN.Equal(p.PAN) {
		t.Fatalf("kernel read PAN %v", first.Card.PAN)
	}
	if tc.iface == hal.Contactless && !ch.removed {
		t.Fatal("no card-can-be-removed notice on a contactless transaction")
	}
	if tc.profile == "multi-app" && ch.choices != 1 {
		t.Fatalf("cardholder asked to choose %d times", ch.choices)
	}
	if online == nil {
		if tc.final != 0 {
			t.Fatal("the kernel did not go online")
		}
		return
	}
	// The issuer: verify the ARQC, answer with an ARPC.
	rid := fmt.Sprintf("%X", first.Card.AID[:5])
	psn := first.Card.PANSequence
	if psn == "" {
		psn = "00"
	}
	imk, _ := hex.DecodeString(issuerKeys[rid])
	cg, err := hostsim.VerifyARQC(imk, p.PAN.Digits(), psn, tc.amount, first.ICCData)
	if err != nil {
		t.Fatalf("issuer: %v", err)
	}
	ia, err := cg.IssuerAuthData("00")
	if err != nil {
		t.Fatal(err)
	}
	final, err := online.Complete(ctx, emv.HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: ia})
	if err != nil {
		t.Fatalf("Complete: %v (TVR %X TSI %X)", err, final.TVR, final.TSI)
	}
	if final.Decision != tc.final || final.Reverse {
		t.Fatalf("final decision %v reverse %t, want %v (TVR %X)", final.Decision, final.Reverse, tc.final, final.TVR)
	}
	if final.TVR[4]&0x40 != 0 {
		t.Fatalf("TVR %X: issuer authentication failed", final.TVR)
	}
}

// Whole transactions through the kernel on the in-process simulated cards.
func TestKernelTransactions(t *testing.T) {
	k := loadKernel(t)
	for _, tc := range txnCases {
		t.Run(tc.profile+"/"+tc.iface.String(), func(t *testing.T) {
			p, err := cardsim.LoadProfile(cardDir + tc.profile + ".toml")
			if err != nil {
				t.Fatal(err)
			}
			card, err := cardsim.New(p, tc.iface)
			if err != nil {
				t.Fatal(err)
			}
			runTxn(t, k, card, p, tc)
		})
	}
}

func TestKernelDeclinedAfterOnline(t *testing.T) {
	k := loadKernel(t)
	p, err := cardsim.LoadProfile(cardDir + "unionpay-debit.toml")
	if err != nil {
		t.Fatal(err)
	}
	p.Behaviour.DeclineAfterOnline = true
	card, err := cardsim.New(p, hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, online, err := k.Start(ctx, card, emv.Transaction{Type: emv.Purchase, Amount: 100, Currency: 156, Country: 156, Time: time.Now()}, &cardholder{})
	if err != nil || online == nil {
		t.Fatalf("Start: %v %v", first.Decision, err)
	}
	final, err := online.Complete(ctx, emv.HostResponse{Answered: true, Approved: true, ResponseCode: "00"})
	if err != nil && !errors.Is(err, emv.ErrCardResponse) {
		t.Fatal(err)
	}
	if final.Decision != emv.Declined || !final.Reverse {
		t.Fatalf("decision %v reverse %t, want a decline to reverse", final.Decision, final.Reverse)
	}
}

// Issuer scripts from the host reach the card through the kernel: a 72
// script writes a data object, a 71 script blocks the application.
func TestKernelIssuerScripts(t *testing.T) {
	k := loadKernel(t)
	p, err := cardsim.LoadProfile(cardDir + "unionpay-debit.toml")
	if err != nil {
		t.Fatal(err)
	}
	card, err := cardsim.New(p, hal.Contact)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	txn := emv.Transaction{Type: emv.Purchase, Amount: 100, Currency: 156, Country: 156, Time: time.Now()}
	_, online, err := k.Start(ctx, card, txn, &cardholder{})
	if err != nil || online == nil {
		t.Fatalf("Start: %v", err)
	}
	script := func(tag byte, id string, cmd string) []byte {
		c, _ := hex.DecodeString(cmd)
		body := append([]byte{0x9F, 0x18, 0x04}, mustHexT(t, id)...)
		body = append(body, 0x86, byte(len(c)))
		body = append(body, c...)
		return append([]byte{tag, byte(len(body))}, body...)
	}
	scripts := append(script(0x71, "00000001", "841E00000401020304"), script(0x72, "00000002", "04DA9F58050501020304")...)
	final, err := online.Complete(ctx, emv.HostResponse{Answered: true, Approved: true, ResponseCode: "00", Scripts: scripts})
	if err != nil {
		t.Fatal(err)
	}
	if len(final.ScriptResults) != 10 || final.ScriptResults[0]>>4 != 2 || final.ScriptResults[5]>>4 != 2 {
		t.Fatalf("script results %X, want two successes", final.ScriptResults)
	}
	// The application is blocked now: the kernel finds nothing to select.
	card.Reset()
	if _, _, err := k.Start(ctx, card, txn, &cardholder{}); !errors.Is(err, emv.ErrNoApplication) {
		t.Fatalf("after APPLICATION BLOCK: %v, want ErrNoApplication", err)
	}
	resp, err := card.Transmit(ctx, []byte{0x80, 0xCA, 0x9F, 0x58, 0x00})
	if err != nil || fmt.Sprintf("%X", resp) != "9F5801059000" {
		t.Fatalf("GET DATA 9F58: %X %v", resp, err)
	}
}

func mustHexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
