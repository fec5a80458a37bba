package binding

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"kpos/firmware/qr"
	"kpos/hal"
)

// State is where the terminal stands in its binding.
type State string

// The binding states. Requesting and SigningOn are transient: a record found
// in them after a power cut falls back to Blank and Activated.
const (
	StateBlank       State = "blank"        // no binding: "bind with K code"
	StateRequesting  State = "requesting"   // K code sent, waiting for the host
	StateAwaitingOTP State = "awaiting-otp" // the host sent an SMS; the merchant types it
	StateLockedOut   State = "locked-out"   // too many wrong one-time codes; wait
	StateActivated   State = "activated"    // keys and parameters stored; sign-on pending
	StateSigningOn   State = "signing-on"   // signing on with the host
	StateBound       State = "bound"        // selling
	StateSuspended   State = "suspended"    // expired or revoked: sales stop until re-bound
)

// next lists, in one place, every transition the binder makes.
func next(from, to State) bool {
	switch from {
	case StateBlank:
		return to == StateRequesting
	case StateRequesting:
		return to == StateAwaitingOTP || to == StateBlank || to == StateLockedOut // the host's own lockout
	case StateAwaitingOTP:
		return to == StateActivated || to == StateLockedOut || to == StateBlank
	case StateLockedOut:
		return to == StateBlank // when the lockout is over
	case StateActivated:
		return to == StateSigningOn
	case StateSigningOn:
		return to == StateBound || to == StateSuspended || to == StateActivated
	case StateBound:
		return to == StateSigningOn || to == StateSuspended
	case StateSuspended:
		return to == StateBound // the host says valid again; re-binding goes through Unbind
	}
	return false
}

// StatusKind is the binding's status as the host reports it.
type StatusKind string

// The statuses.
const (
	StatusValid    StatusKind = "valid"
	StatusExpiring StatusKind = "expiring" // valid, but soon to expire: warn
	StatusExpired  StatusKind = "expired"  // sales stop
	StatusRevoked  StatusKind = "revoked"  // sales stop
)

// Challenge is the host's answer to an activation request: it has sent a
// one-time code by SMS.
type Challenge struct {
	PhoneMasked string    // where the SMS went, masked by the host, e.g. "138****5678"
	Expires     time.Time // when the one-time code stops working; zero if unsaid
}

// Activation is what the host delivers when the one-time code is right.
type Activation struct {
	TID          string
	MID          string
	MerchantName string
	MCC          string // merchant category code, for the merchant-presented QR
	City         string // merchant city, for the merchant-presented QR
	AcquirerIIN  string // 8 digits, for the merchant-presented QR
	EncTMK       []byte // the terminal master key under the transport key
	KCV          []byte // the TMK's check value
	Params       Params
	Expiry       time.Time // the binding is valid until then; zero for no end
}

// Status is the host's answer to a status check.
type Status struct {
	Kind   StatusKind
	Expiry time.Time
	Reason string // the host's words, for revocations
}

// Host is the activation side of the acquirer's host. Implementations map
// the host's answers to the sentinel errors below (ErrWrongOTP, ErrOTPExpired,
// ErrCodeRejected, ErrExpired, ErrRevoked, ErrLockedOut) so the binder can
// act on them; any other error counts as a failed exchange that costs the
// merchant nothing.
type Host interface {
	// Activate sends the device serial and the K code; the host sends the
	// merchant an SMS one-time code.
	Activate(ctx context.Context, serial string, code KCode) (Challenge, error)
	// Confirm sends the one-time code back; the host answers with the binding.
	Confirm(ctx context.Context, serial string, code KCode, otp string) (Activation, error)
	// Status reports the binding's status.
	Status(ctx context.Context, tid string) (Status, error)
	// VerifyAccount checks the merchant's settlement card with its bank.
	VerifyAccount(ctx context.Context, tid string, pan hal.PAN) (AccountRef, error)
}

// KeyStore is the part of the key store the binder needs.
type KeyStore interface {
	// InstallTMKUnderTransport decrypts the TMK under the transport key,
	// checks it against kcv and stores it; a mismatch is an error.
	InstallTMKUnderTransport(encTMK, kcv, transportKey []byte) error
	// Wipe erases every key.
	Wipe() error
}

// SignOner signs the terminal on with the host (working keys under the TMK).
type SignOner interface {
	SignOn(ctx context.Context) error
}

// SignOnFunc adapts a function to SignOner.
type SignOnFunc func(ctx context.Context) error

// SignOn calls f.
func (f SignOnFunc) SignOn(ctx context.Context) error { return f(ctx) }

// Errors the host's answers map to, and the binder's own refusals.
var (
	ErrWrongOTP     = errors.New("binding: wrong one-time code")
	ErrOTPExpired   = errors.New("binding: one-time code expired")
	ErrOTPFormat    = errors.New("binding: a one-time code is 6 digits")
	ErrCodeRejected = errors.New("binding: the host does not accept this K code")
	ErrRevoked      = errors.New("binding: revoked")
	ErrLockedOut    = errors.New("binding: locked out after too many wrong one-time codes")
	ErrNotBound     = errors.New("binding: terminal not bound")
	ErrSuspended    = errors.New("binding: sales stopped")
	ErrWrongState   = errors.New("binding: not possible now")
	ErrKeyInstall   = errors.New("binding: the terminal master key could not be installed")
	ErrActivation   = errors.New("binding: the host's activation answer is incomplete")
)

// Config is the binder's fixed configuration.
type Config struct {
	Serial         string        // the device serial number
	Banks          []string      // bank codes whose K codes this terminal accepts
	MaxOTPTries    int           // wrong one-time codes before the lockout; 3 if zero
	Lockout        time.Duration // 15 minutes if zero
	ExpiringWithin time.Duration // warn this long before the binding expires; 7 days if zero
	StatusEvery    time.Duration // status check interval; 24 hours if zero
}

// Deps are the binder's collaborators.
type Deps struct {
	Host   Host
	Keys   KeyStore
	Derive func(kcode, serial string) []byte // the K-code transport key derivation
	SignOn SignOner
	Store  Store
	Now    func() time.Time // time.Now if nil
	Log    *slog.Logger     // discarded if nil
}

// Binder runs the activation, status and unbinding. Its methods are safe
// for concurrent use; each holds the binder for its whole exchange with the
// host, which the caller bounds with ctx.
type Binder struct {
	cfg Config
	d   Deps

	mu   sync.Mutex
	rec  Record
	code KCode // the K code between EnterCode and the one-time code; memory only
}

// New returns a binder with the record from d.Store.
func New(cfg Config, d Deps) (*Binder, error) {
	if cfg.Serial == "" {
		return nil, errors.New("binding: no device serial")
	}
	if len(cfg.Banks) == 0 {
		return nil, errors.New("binding: no accepted bank")
	}
	if d.Host == nil || d.Keys == nil || d.Derive == nil || d.SignOn == nil || d.Store == nil {
		return nil, errors.New("binding: missing a dependency (host, keys, derive, sign-on, store)")
	}
	if cfg.MaxOTPTries <= 0 {
		cfg.MaxOTPTries = 3
	}
	if cfg.Lockout <= 0 {
		cfg.Lockout = 15 * time.Minute
	}
	if cfg.ExpiringWithin <= 0 {
		cfg.ExpiringWithin = 7 * 24 * time.Hour
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = 24 * time.Hour
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	rec, err := d.Store.Load()
	if err != nil {
		return nil, err
	}
	switch rec.State {
	case "":
		rec.State = StateBlank
	case StateRequesting, StateAwaitingOTP: // the K code was in memory only
		rec.State = StateBlank
	case StateSigningOn:
		rec.State = StateActivated
	}
	return &Binder{cfg: cfg, d: d, rec: rec}, nil
}

// State returns the current state. A lockout that is over ends here: the
// terminal is blank again.
func (b *Binder) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State == StateLockedOut && !b.d.Now().Before(b.rec.LockedUntil) {
		b.rec.FailedOTP, b.rec.LockedUntil = 0, time.Time{}
		if err := b.move(StateBlank); err != nil {
			b.d.Log.Error("binding: ending the lockout", "err", err)
		}
	}
	return b.rec.State
}

// Record returns a copy of the stored binding, for settings screens, the
// console and settlement reports.
func (b *Binder) Record() Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.rec
	if r.Params != nil {
		p := *r.Params
		r.Params = &p
	}
	if r.Account != nil {
		a := *r.Account
		r.Account = &a
	}
	return r
}

// move changes state and saves the record. A transition the table does not
// list is a programming error and is refused.
func (b *Binder) move(to State) error {
	from := b.rec.State
	if !next(from, to) {
		return fmt.Errorf("%w: %s → %s", ErrWrongState, from, to)
	}
	b.rec.State = to
	if err := b.d.Store.Save(b.rec); err != nil {
		b.rec.State = from
		return err
	}
	b.d.Log.Info("binding state", "from", from, "to", to, "code", b.code.Masked())
	return nil
}

// EnterTyped parses a typed K code and starts the activation with it.
func (b *Binder) EnterTyped(ctx context.Context, typed string) (Challenge, error) {
	k, err := ParseKCode(typed)
	if err != nil {
		return Challenge{}, err
	}
	return b.EnterCode(ctx, k)
}

// EnterScanned parses a scanned K-code QR (expiry against the binder's clock)
// and starts the activation with it.
func (b *Binder) EnterScanned(ctx context.Context, text string) (Challenge, error) {
	k, err := ParseKCodeQR(text, b.d.Now())
	if err != nil {
		return Challenge{}, err
	}
	return b.EnterCode(ctx, k)
}

// EnterCode starts the activation: it checks the bank, sends the serial and
// the code to the host and, when the host has sent the SMS, waits for the
// one-time code (SubmitOTP).
func (b *Binder) EnterCode(ctx context.Context, k KCode) (Challenge, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.d.Now()
	if b.rec.State == StateLockedOut {
		if now.Before(b.rec.LockedUntil) {
			return Challenge{}, b.lockedErr(now)
		}
		b.rec.FailedOTP = 0
		b.rec.LockedUntil = time.Time{}
		if err := b.move(StateBlank); err != nil {
			return Challenge{}, err
		}
	}
	if b.rec.State == StateAwaitingOTP { // a new code replaces the pending one
		b.code = KCode{}
		if err := b.move(StateBlank); err != nil {
			return Challenge{}, err
		}
	}
	if b.rec.State != StateBlank {
		return Challenge{}, fmt.Errorf("%w: the terminal is %s; unbind it first", ErrWrongState, b.rec.State)
	}
	if k.IsZero() {
		return Challenge{}, fmt.Errorf("%w: no K code", ErrKCode)
	}
	if !k.Expiry.IsZero() && !now.Before(k.Expiry.AddDate(0, 0, 1)) {
		return Challenge{}, fmt.Errorf("%w: this K code could be used until %s", ErrExpired, k.Expiry.Format("2006-01-02"))
	}
	if !b.acceptsBank(k.Bank) {
		return Challenge{}, fmt.Errorf("%w: this terminal binds with K codes of %s, this one is from %s",
			ErrForeignBank, b.banksText(), bankName(k.Bank))
	}
	b.code = k
	if err := b.move(StateRequesting); err != nil {
		return Challenge{}, err
	}
	ch, err := b.d.Host.Activate(ctx, b.cfg.Serial, k)
	if err != nil {
		b.code = KCode{}
		to := StateBlank
		if errors.Is(err, ErrLockedOut) { // the host locked this terminal's activation
			to, b.rec.LockedUntil = StateLockedOut, now.Add(b.cfg.Lockout)
		}
		if merr := b.move(to); merr != nil {
			return Challenge{}, errors.Join(err, merr)
		}
		return Challenge{}, fmt.Errorf("binding: activation request: %w", err)
	}
	b.rec.Bank = k.Bank
	b.rec.CodeMasked = k.Masked()
	if err := b.move(StateAwaitingOTP); err != nil {
		return Challenge{}, err
	}
	return ch, nil
}

func (b *Binder) acceptsBank(code string) bool {
	for _, c := range b.cfg.Banks {
		if c == code {
			return true
		}
	}
	return false
}

func (b *Binder) banksText() string {
	names := make([]string, len(b.cfg.Banks))
	for i, c := range b.cfg.Banks {
		names[i] = bankName(c)
	}
	return strings.Join(names, ", ")
}

func (b *Binder) lockedErr(now time.Time) error {
	left := b.rec.LockedUntil.Sub(now).Round(time.Second)
	return fmt.Errorf("%w: try again in %s", ErrLockedOut, left)
}

// Cancel abandons a pending activation: the terminal is blank again.
func (b *Binder) Cancel() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State != StateAwaitingOTP {
		return nil
	}
	b.code = KCode{}
	return b.move(StateBlank)
}

// SubmitOTP sends the one-time code. A wrong code costs a try; after
// MaxOTPTries wrong codes the terminal is locked out for Lockout and the
// merchant starts again with the K code. A right code brings the binding:
// the TMK is installed under the K code's transport key (check value
// verified), the parameters are stored, and the terminal signs on.
func (b *Binder) SubmitOTP(ctx context.Context, otp string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.d.Now()
	switch b.rec.State {
	case StateAwaitingOTP:
	case StateLockedOut:
		if now.Before(b.rec.LockedUntil) {
			return b.lockedErr(now)
		}
		return fmt.Errorf("%w: the lockout is over; enter the K code again", ErrWrongState)
	default:
		return fmt.Errorf("%w: no one-time code is expected (state %s)", ErrWrongState, b.rec.State)
	}
	otp = strings.TrimSpace(otp)
	if len(otp) != 6 || strings.Trim(otp, "0123456789") != "" {
		return ErrOTPFormat // not sent, costs no try
	}
	act, err := b.d.Host.Confirm(ctx, b.cfg.Serial, b.code, otp)
	switch {
	case errors.Is(err, ErrWrongOTP):
		b.rec.FailedOTP++
		if b.rec.FailedOTP >= b.cfg.MaxOTPTries {
			b.code = KCode{}
			b.rec.LockedUntil = now.Add(b.cfg.Lockout)
			if merr := b.move(StateLockedOut); merr != nil {
				return errors.Join(err, merr)
			}
			return fmt.Errorf("%w (%d wrong one-time codes): try again in %s", ErrLockedOut, b.rec.FailedOTP, b.cfg.Lockout)
		}
		if serr := b.d.Store.Save(b.rec); serr != nil {
			return errors.Join(err, serr)
		}
		return fmt.Errorf("%w: %d of %d tries left", ErrWrongOTP, b.cfg.MaxOTPTries-b.rec.FailedOTP, b.cfg.MaxOTPTries)
	case errors.Is(err, ErrLockedOut): // the host counted the tries too and locked first
		b.code = KCode{}
		b.rec.LockedUntil = now.Add(b.cfg.Lockout)
		if merr := b.move(StateLockedOut); merr != nil {
			return errors.Join(err, merr)
		}
		return fmt.Errorf("binding: activation: %w", err)
	case errors.Is(err, ErrOTPExpired), errors.Is(err, ErrCodeRejected), errors.Is(err, ErrExpired), errors.Is(err, ErrRevoked):
		b.code = KCode{}
		if merr := b.move(StateBlank); merr != nil {
			return errors.Join(err, merr)
		}
		return fmt.Errorf("binding: activation: %w", err)
	case err != nil: // the network or the host failed: the merchant may retry the same code
		return fmt.Errorf("binding: sending the one-time code: %w", err)
	}
	if err := checkActivation(act); err != nil {
		b.code = KCode{}
		return errors.Join(err, b.move(StateBlank))
	}
	tk := b.d.Derive(b.code.Text(), b.cfg.Serial)
	err = b.d.Keys.InstallTMKUnderTransport(act.EncTMK, act.KCV, tk)
	clear(tk)
	b.code = KCode{}
	if err != nil {
		return errors.Join(fmt.Errorf("%w: %w", ErrKeyInstall, err), b.move(StateBlank))
	}
	params := act.Params
	b.rec.FailedOTP = 0
	b.rec.TID, b.rec.MID, b.rec.MerchantName = act.TID, act.MID, act.MerchantName
	b.rec.MCC, b.rec.City, b.rec.AcquirerIIN = act.MCC, act.City, act.AcquirerIIN
	b.rec.Params = &params
	b.rec.Expiry = act.Expiry
	b.rec.BoundAt = now
	b.rec.Status, b.rec.StatusReason = StatusValid, ""
	if err := b.move(StateActivated); err != nil {
		return err
	}
	return b.signOn(ctx)
}

func checkActivation(a Activation) error {
	switch {
	case len(a.TID) != 8:
		return fmt.Errorf("%w: terminal ID is not 8 characters", ErrActivation)
	case len(a.MID) != 15:
		return fmt.Errorf("%w: merchant ID is not 15 characters", ErrActivation)
	case a.MerchantName == "":
		return fmt.Errorf("%w: no merchant name", ErrActivation)
	case len(a.EncTMK) == 0 || len(a.KCV) == 0:
		return fmt.Errorf("%w: no terminal master key or check value", ErrActivation)
	}
	if err := a.Params.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrActivation, err)
	}
	return nil
}

// SignOn signs on (after activation, at start-up, or when the host asks) and
// checks the binding's status, as every sign-on does.
func (b *Binder) SignOn(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.signOn(ctx)
}

func (b *Binder) signOn(ctx context.Context) error {
	from := b.rec.State
	if from != StateActivated && from != StateBound {
		return fmt.Errorf("%w: cannot sign on when %s", ErrWrongState, from)
	}
	if err := b.move(StateSigningOn); err != nil {
		return err
	}
	if err := b.d.SignOn.SignOn(ctx); err != nil {
		back := StateActivated
		if from == StateBound {
			back = StateBound
		}
		return errors.Join(fmt.Errorf("binding: sign-on: %w", err), b.move(back))
	}
	if _, err := b.checkStatus(ctx); err != nil {
		// The status could not be fetched: judge by the local expiry.
		if b.rec.State == StateSigningOn {
			if serr := b.move(b.localVerdict()); serr != nil {
				return errors.Join(err, serr)
			}
		}
		b.d.Log.Warn("binding status check failed at sign-on", "err", err)
	}
	return nil
}

// localVerdict is Bound unless the clock says the binding has expired.
func (b *Binder) localVerdict() State {
	if b.expiredLocally(b.d.Now()) {
		return StateSuspended
	}
	return StateBound
}

func (b *Binder) expiredLocally(now time.Time) bool {
	return !b.rec.Expiry.IsZero() && !now.Before(b.rec.Expiry)
}

// CheckStatus asks the host for the binding's status (daily, and at every
// sign-on). Expired or revoked stops sales; valid again (the bank renewed the
// binding) resumes them.
func (b *Binder) CheckStatus(ctx context.Context) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.rec.State {
	case StateBound, StateSuspended:
	default:
		return Status{}, fmt.Errorf("%w: no binding to check (state %s)", ErrWrongState, b.rec.State)
	}
	return b.checkStatus(ctx)
}

func (b *Binder) checkStatus(ctx context.Context) (Status, error) {
	st, err := b.d.Host.Status(ctx, b.rec.TID)
	if err != nil {
		return Status{}, fmt.Errorf("binding: status check: %w", err)
	}
	now := b.d.Now()
	switch st.Kind {
	case StatusValid, StatusExpiring, StatusExpired, StatusRevoked:
	default:
		return Status{}, fmt.Errorf("binding: status check: unknown status %q", st.Kind)
	}
	if !st.Expiry.IsZero() {
		b.rec.Expiry = st.Expiry
	}
	if st.Kind == StatusValid && !b.rec.Expiry.IsZero() && b.rec.Expiry.Sub(now) < b.cfg.ExpiringWithin {
		st.Kind = StatusExpiring
	}
	if (st.Kind == StatusValid || st.Kind == StatusExpiring) && b.expiredLocally(now) {
		st.Kind = StatusExpired
	}
	b.rec.Status, b.rec.StatusReason, b.rec.StatusChecked = st.Kind, st.Reason, now
	to := StateBound
	if st.Kind == StatusExpired || st.Kind == StatusRevoked {
		to = StateSuspended
	}
	if to != b.rec.State {
		if err := b.move(to); err != nil {
			return st, err
		}
	} else if err := b.d.Store.Save(b.rec); err != nil {
		return st, err
	}
	return st, nil
}

// StatusDue reports whether the daily status check is due.
func (b *Binder) StatusDue() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State != StateBound && b.rec.State != StateSuspended {
		return false
	}
	return b.d.Now().Sub(b.rec.StatusChecked) >= b.cfg.StatusEvery
}

// CanSell says whether a sale may start: nil when bound and not expired by
// the clock. Errors wrap ErrNotBound, or ErrSuspended with ErrExpired or
// ErrRevoked, and say what the merchant must do.
func (b *Binder) CanSell() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.d.Now()
	switch b.rec.State {
	case StateBound:
		if b.expiredLocally(now) {
			return fmt.Errorf("%w: %w: the binding ended on %s; bind again with a new K code",
				ErrSuspended, ErrExpired, b.rec.Expiry.Format("2006-01-02"))
		}
		return nil
	case StateSuspended:
		if b.rec.Status == StatusRevoked {
			reason := ""
			if b.rec.StatusReason != "" {
				reason = " (" + b.rec.StatusReason + ")"
			}
			return fmt.Errorf("%w: %w by the bank%s; bind again with a new K code", ErrSuspended, ErrRevoked, reason)
		}
		return fmt.Errorf("%w: %w: bind again with a new K code", ErrSuspended, ErrExpired)
	}
	return fmt.Errorf("%w: bind it with the bank's K code first (state %s)", ErrNotBound, b.rec.State)
}

// Warning returns the expiring-soon warning, when there is one.
func (b *Binder) Warning() (Text, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State != StateBound || b.rec.Expiry.IsZero() {
		return Text{}, false
	}
	left := b.rec.Expiry.Sub(b.d.Now())
	if left >= b.cfg.ExpiringWithin && b.rec.Status != StatusExpiring {
		return Text{}, false
	}
	days := int(math.Ceil(left.Hours() / 24))
	day := b.rec.Expiry.Format("2006-01-02")
	return Text{
		ZH: fmt.Sprintf("绑定将于%s到期（还剩%d天），请联系银行续期", day, days),
		EN: fmt.Sprintf("Binding expires on %s (%d days left): ask the bank to renew it", day, days),
	}, true
}

// Params returns the binding's parameters.
func (b *Binder) Params() (Params, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.Params == nil {
		return Params{}, fmt.Errorf("%w: no parameters yet", ErrNotBound)
	}
	return *b.rec.Params, nil
}

// Unbind wipes the keys and the parameters: the terminal is blank again.
// The caller has checked the technician's or the merchant's password.
func (b *Binder) Unbind(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.d.Keys.Wipe(); err != nil {
		return fmt.Errorf("binding: unbinding: wiping keys: %w", err)
	}
	old := b.rec
	b.code = KCode{}
	b.rec = Record{Version: recordVersion, State: StateBlank}
	if err := b.d.Store.Save(b.rec); err != nil {
		b.rec = old
		return fmt.Errorf("binding: unbinding: %w", err)
	}
	b.d.Log.Info("binding state", "from", old.State, "to", StateBlank, "event", "unbound")
	return nil
}

// BindAccount verifies the merchant's own card (read by the reader or typed
// and checked with ParseAccountNumber) with the host and stores the masked
// number, the masked holder and the host's reference.
func (b *Binder) BindAccount(ctx context.Context, pan hal.PAN) (SettlementAccount, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State != StateBound {
		return SettlementAccount{}, fmt.Errorf("%w: bind the terminal before the settlement account", ErrNotBound)
	}
	if pan.IsZero() {
		return SettlementAccount{}, fmt.Errorf("%w: no card number", ErrAccountNumber)
	}
	ref, err := b.d.Host.VerifyAccount(ctx, b.rec.TID, pan)
	if err != nil {
		return SettlementAccount{}, fmt.Errorf("binding: verifying the settlement account %s: %w", pan.Masked(), err)
	}
	if ref.Reference == "" {
		return SettlementAccount{}, fmt.Errorf("binding: verifying the settlement account %s: the host sent no reference", pan.Masked())
	}
	acct := SettlementAccount{PANMasked: pan.Masked(), HolderMasked: ref.HolderMasked, Reference: ref.Reference, Verified: b.d.Now()}
	old := b.rec.Account
	b.rec.Account = &acct
	if err := b.d.Store.Save(b.rec); err != nil {
		b.rec.Account = old
		return SettlementAccount{}, err
	}
	return acct, nil
}

// MerchantQR returns the terminal's EMVCo merchant-presented payload: static
// when amount is zero, dynamic with the amount (fen) otherwise, and bill
// as the bill number when set.
func (b *Binder) MerchantQR(amount int64, bill string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rec.State != StateBound {
		return "", fmt.Errorf("%w: no merchant code before binding", ErrNotBound)
	}
	r := b.rec
	m := qr.MPM{
		Initiation: qr.Static,
		Accounts:   []qr.MerchantAccount{qr.UnionPayAccount(r.AcquirerIIN, r.MID)},
		MCC:        r.MCC, Currency: qr.CurrencyCNY, Country: "CN",
		Name: asciiName(r.MerchantName, 25), City: asciiName(r.City, 15),
		Additional:  &qr.AdditionalData{Terminal: r.TID, Bill: bill},
		AltLanguage: &qr.AltLanguage{Language: "ZH", Name: truncRunes(r.MerchantName, 25), City: truncRunes(r.City, 15)},
	}
	if amount > 0 {
		m.Initiation = qr.Dynamic
		m.Amount = qr.FormatAmount(amount)
	}
	p, err := m.Encode()
	if err != nil {
		return "", fmt.Errorf("binding: merchant QR: %w", err)
	}
	return p, nil
}

// asciiName keeps the printable ASCII of s (the Latin part of a name like
// "测试商户 KPOS Test Shop"), at most n characters; data objects 59 and 60
// should be readable by any app, the Chinese name goes into template 64.
func asciiName(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x20 && r < 0x7F {
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		out = "KPOS"
	}
	return truncRunes(out, n)
}

func truncRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}
