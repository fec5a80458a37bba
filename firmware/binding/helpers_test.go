package binding

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"kpos/firmware/qr"
	"kpos/hal"
)

func crcHex(s string) string { return qr.CRC16Hex(s) }

// TEST ONLY key material and a fake key store. The "encryption" is XOR and the
// check value a hash prefix: enough to prove that the binder hands the key
// store the transport key derived from the right K code and serial, and the
// host's check value.
var testTMK = []byte{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22}

func testDerive(kcode, serial string) []byte {
	h := sha256.Sum256([]byte("TEST ONLY|" + kcode + "|" + serial))
	return h[:16]
}

func testKCV(key []byte) []byte { h := sha256.Sum256(key); return h[:3] }

func xorBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i%len(b)]
	}
	return out
}

type fakeKeys struct {
	mu    sync.Mutex
	tmk   []byte
	wiped int
}

func (k *fakeKeys) InstallTMKUnderTransport(enc, kcv, tk []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	tmk := xorBytes(enc, tk)
	if !bytes.Equal(testKCV(tmk), kcv) {
		return errors.New("keys: TMK check value mismatch")
	}
	k.tmk = tmk
	return nil
}

func (k *fakeKeys) Wipe() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.tmk = nil
	k.wiped++
	return nil
}

// fakeHost plays the acquirer's activation service.
type fakeHost struct {
	mu        sync.Mutex
	serial    string
	codes     map[string]bool // K code text → still usable
	otp       string
	otpErr    error // when set, Confirm answers this instead of checking
	actErr    error // when set, Activate answers this
	badKCV    bool
	status    Status
	statusErr error
	ref       AccountRef
	activates int
	confirms  int
	verified  []string // masked PANs the host was asked to verify
}

func newFakeHost(serial string, codes ...KCode) *fakeHost {
	h := &fakeHost{serial: serial, codes: map[string]bool{}, otp: "246810",
		status: Status{Kind: StatusValid}, ref: AccountRef{HolderMasked: "*小明", Reference: "ACCT-REF-0001"}}
	for _, c := range codes {
		h.codes[c.Text()] = true
	}
	return h
}

func (h *fakeHost) Activate(ctx context.Context, serial string, code KCode) (Challenge, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.activates++
	if err := ctx.Err(); err != nil {
		return Challenge{}, err
	}
	if h.actErr != nil {
		return Challenge{}, h.actErr
	}
	if serial != h.serial || !h.codes[code.Text()] {
		return Challenge{}, ErrCodeRejected
	}
	return Challenge{PhoneMasked: "138****5678"}, nil
}

func (h *fakeHost) Confirm(ctx context.Context, serial string, code KCode, otp string) (Activation, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.confirms++
	if h.otpErr != nil {
		return Activation{}, h.otpErr
	}
	if !h.codes[code.Text()] {
		return Activation{}, ErrCodeRejected
	}
	if otp != h.otp {
		return Activation{}, ErrWrongOTP
	}
	h.codes[code.Text()] = false // a K code binds once
	kcv := testKCV(testTMK)
	if h.badKCV {
		kcv = []byte{0, 0, 0}
	}
	return Activation{
		TID: "12345678", MID: "898320154110001", MerchantName: "测试商户 KPOS Test Shop",
		MCC: "5812", City: "上海 Shanghai", AcquirerIIN: "48020000",
		EncTMK: xorBytes(testTMK, testDerive(code.Text(), serial)), KCV: kcv,
		Params: testParams(), Expiry: time.Date(2027, 11, 22, 0, 0, 0, 0, time.UTC),
	}, nil
}

func (h *fakeHost) Status(ctx context.Context, tid string) (Status, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.statusErr != nil {
		return Status{}, h.statusErr
	}
	return h.status, nil
}

func (h *fakeHost) VerifyAccount(ctx context.Context, tid string, pan hal.PAN) (AccountRef, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verified = append(h.verified, pan.Masked())
	return h.ref, nil
}

func (h *fakeHost) set(f func(h *fakeHost)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(h)
}

func testParams() Params {
	return Params{
		TxnLimit: 5000000, DailyLimit: 20000000,
		FeeBP:          map[Method]int{MethodCard: 60, MethodQR: 38, MethodMerchantQR: 38},
		SettlementTime: "23:00", HostAddr: "127.0.0.1:9000", APN: "cmnet",
		Methods: []Method{MethodCard, MethodQR, MethodMerchantQR, MethodCash},
	}
}

type fakeSignOn struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (s *fakeSignOn) SignOn(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.err
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const testSerial = "KP2026000123"

type rig struct {
	b      *Binder
	host   *fakeHost
	keys   *fakeKeys
	signOn *fakeSignOn
	clock  *clock
	path   string
	code   KCode
}

func newRig(t *testing.T) *rig {
	t.Helper()
	code, err := NewKCode(TestBank, 1001, 0x5A5A5A5A5A)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{
		host: newFakeHost(testSerial, code), keys: &fakeKeys{}, signOn: &fakeSignOn{},
		clock: &clock{now: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)},
		path:  filepath.Join(t.TempDir(), "binding.json"), code: code,
	}
	r.b = r.open(t)
	return r
}

// open makes a binder on the rig's file, as a reboot does.
func (r *rig) open(t *testing.T) *Binder {
	t.Helper()
	b, err := New(Config{Serial: testSerial, Banks: []string{TestBank}}, Deps{
		Host: r.host, Keys: r.keys, Derive: testDerive, SignOn: r.signOn,
		Store: NewFileStore(r.path), Now: r.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bind runs a whole successful binding by typed code.
func (r *rig) bind(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if _, err := r.b.EnterTyped(ctx, r.code.Grouped()); err != nil {
		t.Fatalf("EnterTyped: %v", err)
	}
	if err := r.b.SubmitOTP(ctx, r.host.otp); err != nil {
		t.Fatalf("SubmitOTP: %v", err)
	}
	if s := r.b.State(); s != StateBound {
		t.Fatalf("state %s after binding", s)
	}
}
