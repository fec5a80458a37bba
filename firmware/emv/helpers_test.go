package emv

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
	"kpos/hal"
	"kpos/hal/fake"
)

// mustHex decodes hex with spaces allowed, for readable fixtures.
func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// T builds a TLV from a tag and its parts (hex strings or byte slices).
func T(tag tlv.Tag, parts ...any) []byte {
	return tlv.Encode(tag, cat(parts...))
}

func cat(parts ...any) []byte {
	var v []byte
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			v = append(v, mustHex(x)...)
		case []byte:
			v = append(v, x...)
		default:
			panic(fmt.Sprintf("cat: %T", p))
		}
	}
	return v
}

// ok appends 9000 to a response.
func ok(parts ...any) []byte { return append(cat(parts...), 0x90, 0x00) }

// sw is a bare status word response.
func sw(s string) []byte { return mustHex(s) }

// x is one scripted exchange: a command in hex and a response.
func x(cmd string, resp []byte) fake.Exchange {
	return fake.Exchange{Command: mustHex(cmd), Response: resp}
}

// fixedRand is a deterministic random source repeating one pattern.
type fixedRand struct{ pattern []byte }

func (r fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.pattern[i%len(r.pattern)]
	}
	return len(p), nil
}

// testTime is the clock of every scripted transaction: 2026-11-22 10:30:00.
var testTime = time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC)

// cardholder is a scripted person at the terminal.
type cardholder struct {
	mu       sync.Mutex
	choice   int
	chooseFn func([]Candidate) (int, error)
	pinErr   error
	asked    [][]Candidate
	pins     int
	notices  []Notice
}

func (c *cardholder) ChooseApplication(ctx context.Context, apps []Candidate) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, apps)
	if c.chooseFn != nil {
		return c.chooseFn(apps)
	}
	return c.choice, nil
}

func (c *cardholder) OnlinePIN(ctx context.Context, pan hal.PAN) (hal.PINBlock, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pins++
	if c.pinErr != nil {
		return hal.PINBlock{}, c.pinErr
	}
	return hal.PINBlock{Block: mustHex("1122334455667788")}, nil
}

func (c *cardholder) Notify(ctx context.Context, n Notice) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.notices = append(c.notices, n)
}

func (c *cardholder) noticed(n Notice) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.notices {
		if m == n {
			return true
		}
	}
	return false
}

// testConfig loads the shipped parameters and adds the kernel's own test
// CA keys (index 7E) to the key store.
func testConfig(t testing.TB) emvconfig.Config {
	t.Helper()
	cfg, err := emvconfig.LoadConfig(testdataDir)
	if err != nil {
		t.Fatal(err)
	}
	for rid, k := range thePKI(t).ca {
		c := capk.Key{Index: kernelCAIndex, Modulus: k.modulus(), Exponent: k.e.Bytes(), Test: true}
		copy(c.RID[:], mustHex(rid))
		c.Checksum = c.ComputeChecksum()
		if err := cfg.CAPKs.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// kernelCAIndex is the CA key index of the kernel's test CA keys.
const kernelCAIndex = 0x7E

// testKernel builds a kernel with the fixed clock and random source
// (unpredictable number 12345678).
func testKernel(t testing.TB, cfg emvconfig.Config) *Kernel {
	t.Helper()
	k, err := NewKernel(cfg, WithClock(func() time.Time { return testTime }), WithRandom(fixedRand{mustHex("12345678")}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sale(amount int64) Transaction {
	return Transaction{Type: Purchase, Amount: amount, Currency: 156, Country: 156, Time: testTime, Sequence: 1}
}

func assertTVR(t *testing.T, got [5]byte, want string) {
	t.Helper()
	if hexs(got[:]) != want {
		t.Errorf("TVR = %X (%v), want %s (%v)", got, status.TVR(got).Names(), want, status.TVR([5]byte(mustHex(want))).Names())
	}
}

func assertTSI(t *testing.T, got [2]byte, want string) {
	t.Helper()
	if hexs(got[:]) != want {
		t.Errorf("TSI = %X (%v), want %s (%v)", got, status.TSI(got).Names(), want, status.TSI([2]byte(mustHex(want))).Names())
	}
}

// tagValue returns a tag's value from ICC data.
func tagValue(t *testing.T, iccData []byte, tag tlv.Tag) string {
	t.Helper()
	objs, err := tlv.Parse(iccData)
	if err != nil {
		t.Fatalf("ICC data: %v", err)
	}
	o, found := tlv.Find(objs, tag)
	if !found {
		return "<absent>"
	}
	return hexs(o.Value)
}
