package binding

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"kpos/firmware/qr"
	"kpos/hal"
)

func TestBindTyped(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if s := r.b.State(); s != StateBlank {
		t.Fatalf("new terminal is %s", s)
	}
	if err := r.b.CanSell(); !errors.Is(err, ErrNotBound) {
		t.Fatalf("blank terminal CanSell = %v", err)
	}
	ch, err := r.b.EnterTyped(ctx, strings.ToLower(r.code.Grouped()))
	if err != nil {
		t.Fatal(err)
	}
	if ch.PhoneMasked != "138****5678" || r.b.State() != StateAwaitingOTP {
		t.Fatalf("challenge %+v, state %s", ch, r.b.State())
	}
	if err := r.b.SubmitOTP(ctx, r.host.otp); err != nil {
		t.Fatal(err)
	}
	if r.b.State() != StateBound || r.b.CanSell() != nil {
		t.Fatalf("state %s, CanSell %v", r.b.State(), r.b.CanSell())
	}
	if !bytes.Equal(r.keys.tmk, testTMK) {
		t.Error("the key store did not get the TMK under the K code's transport key")
	}
	if r.signOn.calls != 1 {
		t.Errorf("sign-on calls = %d", r.signOn.calls)
	}
	rec := r.b.Record()
	if rec.TID != "12345678" || rec.MID != "898320154110001" || rec.Params == nil || rec.Params.TxnLimit != 5000000 {
		t.Errorf("record %+v", rec)
	}
	if rec.Status != StatusValid || rec.StatusChecked.IsZero() {
		t.Errorf("no status check at sign-on: %+v", rec)
	}
	// The file holds the binding but neither the K code nor a key.
	disk, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{r.code.Text(), r.code.Text()[7:], r.code.Grouped()} {
		if strings.Contains(string(disk), secret) {
			t.Errorf("binding record holds the K code in the clear")
		}
	}
	if !strings.Contains(string(disk), r.code.Masked()) {
		t.Error("binding record lacks the masked K code")
	}
	// After a reboot the terminal is still bound.
	if b := r.open(t); b.State() != StateBound || b.CanSell() != nil {
		t.Errorf("after reboot: %s", b.State())
	}
	// A bound terminal refuses another K code.
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); !errors.Is(err, ErrWrongState) {
		t.Errorf("second binding: %v", err)
	}
}

func TestBindScanned(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	text := EncodeKCodeQR(r.code, r.clock.Now().AddDate(0, 1, 0))
	code, err := qr.Classify(text)
	if err != nil || code.Kind != qr.KindKCode {
		t.Fatalf("Classify: %v %v", code, err)
	}
	if _, err := r.b.EnterScanned(ctx, code.Text()); err != nil {
		t.Fatal(err)
	}
	if err := r.b.SubmitOTP(ctx, " "+r.host.otp+" "); err != nil {
		t.Fatal(err)
	}
	if r.b.State() != StateBound {
		t.Fatalf("state %s", r.b.State())
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	foreign, _ := NewKCode("105", 1, 1)
	typo := []byte(r.code.Text())
	typo[10] = Alphabet[(strings.IndexByte(Alphabet, typo[10])+1)%32]
	tests := []struct {
		name  string
		enter func() error
		want  error
	}{
		{"typo", func() error { _, err := r.b.EnterTyped(ctx, string(typo)); return err }, ErrKCodeCheck},
		{"short", func() error { _, err := r.b.EnterTyped(ctx, r.code.Text()[:12]); return err }, ErrKCodeLength},
		{"expired QR", func() error {
			_, err := r.b.EnterScanned(ctx, EncodeKCodeQR(r.code, r.clock.Now().AddDate(0, 0, -1)))
			return err
		}, ErrExpired},
		{"foreign bank typed", func() error { _, err := r.b.EnterTyped(ctx, foreign.Text()); return err }, ErrForeignBank},
		{"foreign bank scanned", func() error {
			_, err := r.b.EnterScanned(ctx, EncodeKCodeQR(foreign, r.clock.Now().AddDate(0, 1, 0)))
			return err
		}, ErrForeignBank},
		{"damaged QR", func() error { _, err := r.b.EnterScanned(ctx, "KPOS1:999:XXXX:20991231:0000"); return err }, ErrKCodeQR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.enter(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if r.host.activates != 0 {
				t.Fatalf("the host was asked %d times", r.host.activates)
			}
			if r.b.State() != StateBlank {
				t.Fatalf("state %s", r.b.State())
			}
			if Explain(tt.enter()).EN == Explain(errors.New("x")).EN {
				t.Errorf("no specific message for %v", tt.want)
			}
		})
	}
}

func TestHostRejectsCode(t *testing.T) {
	r := newRig(t)
	unknown, _ := NewKCode(TestBank, 9, 9)
	_, err := r.b.EnterTyped(context.Background(), unknown.Text())
	if !errors.Is(err, ErrCodeRejected) || r.b.State() != StateBlank {
		t.Fatalf("err %v, state %s", err, r.b.State())
	}
}

func TestHostLockedActivation(t *testing.T) {
	r := newRig(t)
	r.host.actErr = ErrLockedOut
	_, err := r.b.EnterTyped(context.Background(), r.code.Text())
	if !errors.Is(err, ErrLockedOut) || r.b.State() != StateLockedOut {
		t.Fatalf("err %v, state %s", err, r.b.State())
	}
	r.host.actErr = nil
	r.clock.Add(16 * time.Minute)
	r.bind(t)
}

func TestCanceledContext(t *testing.T) {
	r := newRig(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); !errors.Is(err, context.Canceled) || r.b.State() != StateBlank {
		t.Fatalf("err %v, state %s", err, r.b.State())
	}
}

func TestWrongOTPLockout(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); err != nil {
		t.Fatal(err)
	}
	// A malformed code is not sent and costs no try.
	for _, bad := range []string{"12345", "abcdef", "1234567"} {
		if err := r.b.SubmitOTP(ctx, bad); !errors.Is(err, ErrOTPFormat) {
			t.Fatalf("SubmitOTP(%q) = %v", bad, err)
		}
	}
	if r.host.confirms != 0 {
		t.Fatalf("malformed one-time codes were sent")
	}
	for try := 1; try <= 2; try++ {
		err := r.b.SubmitOTP(ctx, "000000")
		if !errors.Is(err, ErrWrongOTP) || !strings.Contains(err.Error(), "tries left") {
			t.Fatalf("try %d: %v", try, err)
		}
		if r.b.State() != StateAwaitingOTP {
			t.Fatalf("try %d: state %s", try, r.b.State())
		}
	}
	// The try count survives a reboot... but the K code does not: a reboot
	// while awaiting the one-time code means starting again.
	if b := r.open(t); b.State() != StateBlank || b.Record().FailedOTP != 2 {
		t.Fatalf("after reboot: %s, %d failed", b.State(), b.Record().FailedOTP)
	}
	err := r.b.SubmitOTP(ctx, "000000")
	if !errors.Is(err, ErrLockedOut) || r.b.State() != StateLockedOut {
		t.Fatalf("third wrong code: %v, state %s", err, r.b.State())
	}
	// Locked: the right code is refused, and so is a new start.
	if err := r.b.SubmitOTP(ctx, r.host.otp); !errors.Is(err, ErrLockedOut) {
		t.Fatalf("during lockout SubmitOTP = %v", err)
	}
	r.clock.Add(10 * time.Minute)
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); !errors.Is(err, ErrLockedOut) || !strings.Contains(err.Error(), "5m0s") {
		t.Fatalf("during lockout EnterTyped = %v", err)
	}
	// The lockout survives a reboot.
	if b := r.open(t); b.State() != StateLockedOut {
		t.Fatalf("after reboot: %s", b.State())
	}
	r.clock.Add(5 * time.Minute)
	if err := r.b.SubmitOTP(ctx, r.host.otp); !errors.Is(err, ErrWrongState) || !strings.Contains(err.Error(), "enter the K code again") {
		t.Fatalf("after the lockout SubmitOTP = %v", err)
	}
	if r.b.State() != StateBlank {
		t.Fatalf("after the lockout: %s", r.b.State())
	}
	if r.host.confirms != 3 {
		t.Fatalf("host got %d confirmations, want 3", r.host.confirms)
	}
	r.bind(t)
}

func TestWrongThenRightOTP(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); err != nil {
		t.Fatal(err)
	}
	if err := r.b.SubmitOTP(ctx, "111111"); !errors.Is(err, ErrWrongOTP) {
		t.Fatal(err)
	}
	if err := r.b.SubmitOTP(ctx, r.host.otp); err != nil {
		t.Fatal(err)
	}
	if r.b.State() != StateBound || r.b.Record().FailedOTP != 0 {
		t.Fatalf("state %s, failed %d", r.b.State(), r.b.Record().FailedOTP)
	}
}

func TestActivationFailures(t *testing.T) {
	tests := []struct {
		name  string
		setup func(r *rig)
		want  error
		state State
	}{
		{"OTP expired at the host", func(r *rig) { r.host.otpErr = ErrOTPExpired }, ErrOTPExpired, StateBlank},
		{"locked by the host", func(r *rig) { r.host.otpErr = ErrLockedOut }, ErrLockedOut, StateLockedOut},
		{"revoked while binding", func(r *rig) { r.host.otpErr = ErrRevoked }, ErrRevoked, StateBlank},
		{"network down", func(r *rig) { r.host.otpErr = context.DeadlineExceeded }, context.DeadlineExceeded, StateAwaitingOTP},
		{"check value mismatch", func(r *rig) { r.host.badKCV = true }, ErrKeyInstall, StateBlank},
		{"sign-on fails", func(r *rig) { r.signOn.err = errors.New("acquirer: no answer") }, nil, StateActivated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			if _, err := r.b.EnterTyped(ctx, r.code.Text()); err != nil {
				t.Fatal(err)
			}
			r.host.set(func(*fakeHost) { tt.setup(r) })
			err := r.b.SubmitOTP(ctx, r.host.otp)
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == nil && err == nil {
				t.Fatal("no error")
			}
			if s := r.b.State(); s != tt.state {
				t.Fatalf("state %s, want %s", s, tt.state)
			}
			if tt.state != StateActivated && r.keys.tmk != nil {
				t.Error("a key was installed")
			}
			if err := r.b.CanSell(); err == nil {
				t.Error("CanSell after a failed activation")
			}
		})
	}
}

func TestSignOnRetryAfterReboot(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.signOn.err = errors.New("acquirer: no answer")
	if _, err := r.b.EnterTyped(ctx, r.code.Text()); err != nil {
		t.Fatal(err)
	}
	if err := r.b.SubmitOTP(ctx, r.host.otp); err == nil {
		t.Fatal("sign-on error not reported")
	}
	b := r.open(t)
	if b.State() != StateActivated {
		t.Fatalf("after reboot: %s", b.State())
	}
	r.signOn.err = nil
	if err := b.SignOn(ctx); err != nil {
		t.Fatal(err)
	}
	if b.State() != StateBound || b.CanSell() != nil {
		t.Fatalf("state %s", b.State())
	}
}

func TestStatus(t *testing.T) {
	ctx := context.Background()
	t.Run("revoked later stops sales, valid again resumes", func(t *testing.T) {
		r := newRig(t)
		r.bind(t)
		if r.b.StatusDue() {
			t.Fatal("status due right after sign-on")
		}
		r.clock.Add(25 * time.Hour)
		if !r.b.StatusDue() {
			t.Fatal("status not due after a day")
		}
		r.host.set(func(h *fakeHost) { h.status = Status{Kind: StatusRevoked, Reason: "merchant closed"} })
		if _, err := r.b.CheckStatus(ctx); err != nil {
			t.Fatal(err)
		}
		err := r.b.CanSell()
		if !errors.Is(err, ErrSuspended) || !errors.Is(err, ErrRevoked) || !strings.Contains(err.Error(), "merchant closed") {
			t.Fatalf("CanSell = %v", err)
		}
		if r.b.State() != StateSuspended || Explain(err).ZH == "" {
			t.Fatalf("state %s", r.b.State())
		}
		if b := r.open(t); b.CanSell() == nil {
			t.Fatal("a reboot lifted the suspension")
		}
		if _, err := r.b.EnterTyped(ctx, r.code.Text()); !errors.Is(err, ErrWrongState) {
			t.Fatalf("re-binding without unbinding: %v", err)
		}
		r.host.set(func(h *fakeHost) { h.status = Status{Kind: StatusValid} })
		if _, err := r.b.CheckStatus(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.b.CanSell(); err != nil {
			t.Fatalf("after the host says valid again: %v", err)
		}
	})
	t.Run("revoked found at sign-on", func(t *testing.T) {
		r := newRig(t)
		r.bind(t)
		r.host.set(func(h *fakeHost) { h.status = Status{Kind: StatusRevoked} })
		if err := r.b.SignOn(ctx); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(r.b.CanSell(), ErrRevoked) {
			t.Fatalf("CanSell = %v", r.b.CanSell())
		}
	})
	t.Run("expiring soon warns", func(t *testing.T) {
		r := newRig(t)
		r.bind(t)
		if _, ok := r.b.Warning(); ok {
			t.Fatal("warning a year before expiry")
		}
		exp := r.clock.Now().Add(3 * 24 * time.Hour)
		r.host.set(func(h *fakeHost) { h.status = Status{Kind: StatusValid, Expiry: exp} })
		st, err := r.b.CheckStatus(ctx)
		if err != nil || st.Kind != StatusExpiring {
			t.Fatalf("status %v, %v", st, err)
		}
		w, ok := r.b.Warning()
		if !ok || !strings.Contains(w.EN, "3 days left") || w.ZH == "" {
			t.Fatalf("warning %+v", w)
		}
		if err := r.b.CanSell(); err != nil {
			t.Fatalf("expiring still sells: %v", err)
		}
		// The clock passes the expiry without any status check: sales stop.
		r.clock.Add(4 * 24 * time.Hour)
		if err := r.b.CanSell(); !errors.Is(err, ErrExpired) || !errors.Is(err, ErrSuspended) {
			t.Fatalf("CanSell after expiry = %v", err)
		}
	})
	t.Run("expired at the host", func(t *testing.T) {
		r := newRig(t)
		r.bind(t)
		r.host.set(func(h *fakeHost) { h.status = Status{Kind: StatusExpired} })
		if _, err := r.b.CheckStatus(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.b.CanSell(); !errors.Is(err, ErrExpired) {
			t.Fatalf("CanSell = %v", err)
		}
	})
	t.Run("host unreachable at sign-on keeps selling until the expiry", func(t *testing.T) {
		r := newRig(t)
		r.bind(t)
		r.host.set(func(h *fakeHost) { h.statusErr = errors.New("network down") })
		if err := r.b.SignOn(ctx); err != nil {
			t.Fatal(err)
		}
		if err := r.b.CanSell(); err != nil {
			t.Fatalf("CanSell = %v", err)
		}
	})
	t.Run("not bound", func(t *testing.T) {
		r := newRig(t)
		if _, err := r.b.CheckStatus(ctx); !errors.Is(err, ErrWrongState) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUnbind(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.bind(t)
	if _, err := r.b.BindAccount(ctx, hal.MustPAN("6222021234567890128")); err != nil {
		t.Fatal(err)
	}
	if err := r.b.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	if r.keys.tmk != nil || r.keys.wiped != 1 {
		t.Fatal("keys not wiped")
	}
	rec := r.b.Record()
	if rec.State != StateBlank || rec.Params != nil || rec.TID != "" || rec.Account != nil {
		t.Fatalf("record after unbinding: %+v", rec)
	}
	if _, err := r.b.Params(); !errors.Is(err, ErrNotBound) {
		t.Fatalf("Params after unbinding: %v", err)
	}
	if b := r.open(t); b.State() != StateBlank || b.Record().Params != nil {
		t.Fatal("unbinding not durable")
	}
	if err := r.b.CanSell(); !errors.Is(err, ErrNotBound) {
		t.Fatalf("CanSell = %v", err)
	}
}

func TestSettlementAccount(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	pan := hal.MustPAN("6222021234567890128")
	if _, err := r.b.BindAccount(ctx, pan); !errors.Is(err, ErrNotBound) {
		t.Fatalf("before binding: %v", err)
	}
	r.bind(t)
	acct, err := r.b.BindAccount(ctx, pan)
	if err != nil {
		t.Fatal(err)
	}
	if acct.PANMasked != "622202*********0128" || acct.HolderMasked != "*小明" || acct.Reference != "ACCT-REF-0001" {
		t.Errorf("account %+v", acct)
	}
	if got := r.b.Record().Account; got == nil || *got != acct {
		t.Errorf("record account %+v", got)
	}
	disk, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(disk), pan.Digits()) {
		t.Error("the full card number reached the disk")
	}
	if len(r.host.verified) != 1 || r.host.verified[0] != pan.Masked() {
		t.Errorf("host verifications %v", r.host.verified)
	}
}

func TestMerchantQR(t *testing.T) {
	r := newRig(t)
	if _, err := r.b.MerchantQR(0, ""); !errors.Is(err, ErrNotBound) {
		t.Fatalf("before binding: %v", err)
	}
	r.bind(t)
	for _, amount := range []int64{0, 2372} {
		p, err := r.b.MerchantQR(amount, "000042")
		if err != nil {
			t.Fatal(err)
		}
		m, err := qr.ParseMPM(p)
		if err != nil {
			t.Fatalf("ParseMPM(%s): %v", p, err)
		}
		if m.Accounts[0].Value != "48020000898320154110001" || m.Additional.Terminal != "12345678" || m.Additional.Bill != "000042" {
			t.Errorf("payload %+v", m)
		}
		if m.Name != "KPOS Test Shop" || m.City != "Shanghai" || m.AltLanguage.Name != "测试商户 KPOS Test Shop" {
			t.Errorf("names %q %q %q", m.Name, m.City, m.AltLanguage.Name)
		}
		if amount == 0 && (m.Initiation != qr.Static || m.Amount != "") {
			t.Errorf("static code %+v", m)
		}
		if amount > 0 {
			if fen, _ := m.AmountFen(); m.Initiation != qr.Dynamic || fen != amount {
				t.Errorf("dynamic code %+v", m)
			}
		}
	}
}

func TestStateTexts(t *testing.T) {
	for _, s := range []State{StateBlank, StateRequesting, StateAwaitingOTP, StateLockedOut, StateActivated, StateSigningOn, StateBound, StateSuspended} {
		tx := s.Text()
		if tx.ZH == "" || tx.EN == "" || tx.EN == string(s) {
			t.Errorf("state %s has no text", s)
		}
	}
}

func TestTransitionsTable(t *testing.T) {
	// Every state but Blank is reachable, and Blank is only left by a K code.
	all := []State{StateBlank, StateRequesting, StateAwaitingOTP, StateLockedOut, StateActivated, StateSigningOn, StateBound, StateSuspended}
	for _, to := range all[1:] {
		reachable := false
		for _, from := range all {
			reachable = reachable || next(from, to)
		}
		if !reachable {
			t.Errorf("%s is unreachable", to)
		}
	}
	for _, to := range all {
		if next(StateBlank, to) != (to == StateRequesting) {
			t.Errorf("blank → %s", to)
		}
		if next(StateSuspended, to) && to != StateBound {
			t.Errorf("a suspended terminal moves to %s without unbinding", to)
		}
	}
}

func TestNewRejectsMissingDeps(t *testing.T) {
	if _, err := New(Config{}, Deps{}); err == nil {
		t.Fatal("New without anything")
	}
	if _, err := New(Config{Serial: "x", Banks: []string{TestBank}}, Deps{}); err == nil {
		t.Fatal("New without dependencies")
	}
}
