package update

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"kpos/firmware/durable"
)

// Errors the Updater returns; callers branch on them.
var (
	ErrBoard        = errors.New("update: image is for another board")
	ErrDowngrade    = errors.New("update: image is not newer than the running firmware")
	ErrTrialPending = errors.New("update: the running image has not yet reported healthy")
	ErrTooLarge     = errors.New("update: image payload larger than allowed")
	ErrState        = errors.New("update: slot state file is corrupt")
)

// Slot names one of the two firmware slots.
type Slot string

// The slots.
const (
	SlotA Slot = "A"
	SlotB Slot = "B"
)

// Other returns the other slot.
func (s Slot) Other() Slot {
	if s == SlotB {
		return SlotA
	}
	return SlotB
}

// Config says where the slots and the state live and what the running
// firmware is.
type Config struct {
	// SlotDir holds "slot-a", "slot-b" and "update-state.json" unless
	// SlotA, SlotB or StatePath name other files.
	SlotDir   string
	SlotA     string
	SlotB     string
	StatePath string
	// Partitions: SlotA and SlotB are block devices, the root partitions of
	// a device image (docs/image.md), written in place; the boot step
	// mounts the active one. The running slot is never opened for writing.
	Partitions bool

	PublicKey      ed25519.PublicKey // verifies every image
	CurrentVersion string            // version of the running firmware
	Board          string            // images for other boards are refused

	MaxTrialBoots  int   // boots a trial slot gets to call MarkHealthy; default 3
	MaxPayloadSize int64 // default 256 MiB
	Now            func() time.Time
}

// SlotInfo is what the state records about one slot.
type SlotInfo struct {
	Version   string    `json:"version,omitempty"`
	SHA256    string    `json:"sha256,omitempty"` // hex of the payload digest
	Installed time.Time `json:"installed,omitzero"`
}

// State is the persisted A/B switch.
type State struct {
	Active   Slot     `json:"active"`
	Trial    bool     `json:"trial"`              // Active is on trial until MarkHealthy
	Boots    int      `json:"boots"`              // boots of the trial slot so far
	Failed   string   `json:"failed,omitempty"`   // health check failure of the trial slot
	Previous Slot     `json:"previous,omitempty"` // the slot to fall back to
	A        SlotInfo `json:"a"`
	B        SlotInfo `json:"b"`
	Last     string   `json:"last,omitempty"` // the last event, for the console
}

// Info returns the record of slot s.
func (st State) Info(s Slot) SlotInfo {
	if s == SlotB {
		return st.B
	}
	return st.A
}

func (st *State) setInfo(s Slot, i SlotInfo) {
	if s == SlotB {
		st.B = i
	} else {
		st.A = i
	}
}

// Progress reports how far an install has come.
type Progress struct {
	Phase   string // "verify-header", "write", "switch", "done"
	Written int64
	Total   int64
}

// Options modify one Install.
type Options struct {
	// Force allows a downgrade or a reinstall of the same version. Only a
	// privileged caller may set it.
	Force bool
	// Progress, when set, is called as the payload is written (about every
	// 1 %) and at each phase.
	Progress func(Progress)
}

// Result says what an Install did.
type Result struct {
	Slot    Slot
	Path    string
	Version string
	Board   string
	Bytes   int64
	Forced  bool
}

// BootInfo says which slot to run after Boot.
type BootInfo struct {
	Slot       Slot
	Path       string
	Version    string
	Trial      bool
	Boots      int
	RolledBack bool
	Reason     string // why the trial slot was abandoned
}

// Updater installs images and keeps the A/B state. Its methods are safe for
// concurrent use.
type Updater struct {
	cfg     Config
	current Version
	mu      sync.Mutex
}

// New checks cfg and returns an Updater.
func New(cfg Config) (*Updater, error) {
	if cfg.SlotA == "" || cfg.SlotB == "" || cfg.StatePath == "" {
		if cfg.SlotDir == "" {
			return nil, errors.New("update: config needs SlotDir or SlotA, SlotB and StatePath")
		}
		if cfg.SlotA == "" {
			cfg.SlotA = filepath.Join(cfg.SlotDir, "slot-a")
		}
		if cfg.SlotB == "" {
			cfg.SlotB = filepath.Join(cfg.SlotDir, "slot-b")
		}
		if cfg.StatePath == "" {
			cfg.StatePath = filepath.Join(cfg.SlotDir, "update-state.json")
		}
	}
	if len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, errors.New("update: config needs an Ed25519 public key")
	}
	cur, err := ParseVersion(cfg.CurrentVersion)
	if err != nil {
		return nil, fmt.Errorf("update: current version: %w", err)
	}
	if err := validBoard(cfg.Board); err != nil {
		return nil, err
	}
	for _, p := range []string{cfg.SlotA, cfg.SlotB, cfg.StatePath} {
		if cfg.Partitions && p != cfg.StatePath {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
	}
	if cfg.MaxTrialBoots <= 0 {
		cfg.MaxTrialBoots = 3
	}
	if cfg.MaxPayloadSize <= 0 {
		cfg.MaxPayloadSize = 256 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Updater{cfg: cfg, current: cur}, nil
}

// SlotPath returns the file of slot s.
func (u *Updater) SlotPath(s Slot) string {
	if s == SlotB {
		return u.cfg.SlotB
	}
	return u.cfg.SlotA
}

// Status returns the persisted state. A terminal that has never been updated
// runs slot A with the current version.
func (u *Updater) Status() (State, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.load()
}

func (u *Updater) load() (State, error) {
	b, err := os.ReadFile(u.cfg.StatePath)
	if errors.Is(err, fs.ErrNotExist) {
		return State{Active: SlotA, A: SlotInfo{Version: u.current.String()}}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("update: reading state: %w", err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, fmt.Errorf("%w: %v", ErrState, err)
	}
	if st.Active != SlotA && st.Active != SlotB {
		return State{}, fmt.Errorf("%w: active slot %q", ErrState, st.Active)
	}
	return st, nil
}

func (u *Updater) save(st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("update: encoding state: %w", err)
	}
	return durable.WriteFile(u.cfg.StatePath, append(b, '\n'), 0o644)
}

// InstallFile opens path and installs it; see Install.
func (u *Updater) InstallFile(ctx context.Context, path string, opt Options) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("update: opening image: %w", err)
	}
	defer f.Close()
	return u.Install(ctx, f, opt)
}

// Install verifies the image read from r and writes its payload to the
// inactive slot, then switches to it on trial. Any failure (bad signature,
// digest, truncation, trailing data, foreign board, downgrade without Force,
// a cancelled ctx) leaves both slots and the state as they were. The caller
// reboots when it chooses to.
func (u *Updater) Install(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	progress := func(p Progress) {
		if opt.Progress != nil {
			opt.Progress(p)
		}
	}
	st, err := u.load()
	if err != nil {
		return Result{}, err
	}
	if st.Trial {
		return Result{}, fmt.Errorf("%w (slot %s, version %s)", ErrTrialPending, st.Active, st.Info(st.Active).Version)
	}
	progress(Progress{Phase: "verify-header"})
	v, err := NewVerifier(ctxReader{ctx, r}, u.cfg.PublicKey)
	if err != nil {
		return Result{}, err
	}
	h := v.Header()
	if h.Board != u.cfg.Board {
		return Result{}, fmt.Errorf("%w: image for %q, this is %q", ErrBoard, h.Board, u.cfg.Board)
	}
	newV, _ := ParseVersion(h.Version) // validated by the header parser
	if newV.Compare(u.current) <= 0 && !opt.Force {
		return Result{}, fmt.Errorf("%w: image %s, running %s (force to override)", ErrDowngrade, newV, u.current)
	}
	if h.PayloadLen > uint64(u.cfg.MaxPayloadSize) {
		return Result{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, h.PayloadLen, u.cfg.MaxPayloadSize)
	}
	target := st.Active.Other()
	path := u.SlotPath(target)
	if u.cfg.Partitions {
		if err := u.writePartition(ctx, v, r, path, int64(h.PayloadLen), progress); err != nil {
			return Result{}, err
		}
		progress(Progress{Phase: "switch", Written: int64(h.PayloadLen), Total: int64(h.PayloadLen)})
		return u.switchTo(st, target, path, h, opt, progress)
	}
	f, err := durable.Temp(path)
	if err != nil {
		return Result{}, fmt.Errorf("update: temporary slot file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	total := int64(h.PayloadLen)
	step := total / 100
	var last int64 = -1
	progress(Progress{Phase: "write", Total: total})
	err = v.Payload(ctxReader{ctx, r}, f, func(n int64) {
		if n == total || n-last >= step {
			last = n
			progress(Progress{Phase: "write", Written: n, Total: total})
		}
	})
	if err != nil {
		return Result{}, err
	}
	progress(Progress{Phase: "switch", Written: total, Total: total})
	if err := durable.Commit(f, path, 0o755); err != nil {
		committed = true // Commit removed it
		return Result{}, fmt.Errorf("update: %w", err)
	}
	committed = true
	return u.switchTo(st, target, path, h, opt, progress)
}

// switchTo records target, now holding the verified image h, as the active
// slot on trial.
func (u *Updater) switchTo(st State, target Slot, path string, h Header, opt Options, progress func(Progress)) (Result, error) {
	total := int64(h.PayloadLen)
	next := st
	next.setInfo(target, SlotInfo{Version: h.Version, SHA256: hex.EncodeToString(h.SHA256[:]), Installed: u.cfg.Now().UTC()})
	next.Previous = st.Active
	next.Active = target
	next.Trial = true
	next.Boots = 0
	next.Failed = ""
	next.Last = fmt.Sprintf("installed %s to slot %s (trial)", h.Version, target)
	if opt.Force {
		next.Last += ", forced"
	}
	if err := u.save(next); err != nil {
		return Result{}, err
	}
	progress(Progress{Phase: "done", Written: total, Total: total})
	return Result{Slot: target, Path: path, Version: h.Version, Board: h.Board, Bytes: total, Forced: opt.Force}, nil
}

// writePartition streams the verified payload into the block device of the
// inactive slot and syncs it. The state still names the running slot until
// the caller switches, so a failure or a power cut here leaves a slot that is
// not booted; it is written again by the next install.
func (u *Updater) writePartition(ctx context.Context, v *Verifier, r io.Reader, path string, total int64, progress func(Progress)) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("update: slot partition: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("update: slot partition: %w", err)
	}
	if size < total {
		return fmt.Errorf("%w: %d bytes, slot partition %s holds %d", ErrTooLarge, total, path, size)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("update: slot partition: %w", err)
	}
	step := total / 100
	var last int64 = -1
	progress(Progress{Phase: "write", Total: total})
	err = v.Payload(ctxReader{ctx, r}, f, func(n int64) {
		if n == total || n-last >= step {
			last = n
			progress(Progress{Phase: "write", Written: n, Total: total})
		}
	})
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("update: slot partition: %w", err)
	}
	return f.Close()
}

// Boot is called once at every start, before the firmware commits to
// running. A trial slot that reported a failed health check, or that has
// already had MaxTrialBoots boots without MarkHealthy, is abandoned and the
// previous slot becomes active again; otherwise a trial slot's boot counter
// goes up. The caller runs (or, on a real board, execs) the returned slot.
func (u *Updater) Boot() (BootInfo, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	st, err := u.load()
	if err != nil {
		return BootInfo{}, err
	}
	info := BootInfo{}
	if st.Trial {
		reason := ""
		switch {
		case st.Failed != "":
			reason = "health check failed: " + st.Failed
		case st.Boots >= u.cfg.MaxTrialBoots:
			reason = fmt.Sprintf("no healthy report after %d boots", st.Boots)
		}
		if reason != "" {
			bad := st.Active
			st.Active = st.Previous
			if st.Active == "" {
				st.Active = bad.Other()
			}
			st.Previous = ""
			st.Trial = false
			st.Boots = 0
			st.Failed = ""
			st.Last = fmt.Sprintf("rolled back from slot %s (%s) to slot %s", bad, reason, st.Active)
			info.RolledBack = true
			info.Reason = reason
		} else {
			st.Boots++
		}
		if err := u.save(st); err != nil {
			return BootInfo{}, err
		}
	}
	info.Slot = st.Active
	info.Path = u.SlotPath(st.Active)
	info.Version = st.Info(st.Active).Version
	info.Trial = st.Trial
	info.Boots = st.Boots
	return info, nil
}

// MarkHealthy confirms the running trial slot: it stays active from now on.
// It does nothing when no slot is on trial.
func (u *Updater) MarkHealthy() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	st, err := u.load()
	if err != nil {
		return err
	}
	if !st.Trial {
		return nil
	}
	st.Trial = false
	st.Boots = 0
	st.Failed = ""
	st.Last = fmt.Sprintf("slot %s (%s) reported healthy", st.Active, st.Info(st.Active).Version)
	return u.save(st)
}

// MarkFailed records that the trial slot failed its health check; the next
// Boot rolls back. It does nothing when no slot is on trial.
func (u *Updater) MarkFailed(reason string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	st, err := u.load()
	if err != nil {
		return err
	}
	if !st.Trial {
		return nil
	}
	if reason == "" {
		reason = "unspecified"
	}
	st.Failed = reason
	st.Last = fmt.Sprintf("slot %s failed its health check: %s", st.Active, reason)
	return u.save(st)
}

// Confirm runs the firmware's health check and records its outcome: healthy
// on nil, failed (rolled back at the next Boot) otherwise. It returns the
// check's error.
func (u *Updater) Confirm(ctx context.Context, check func(context.Context) error) error {
	if err := check(ctx); err != nil {
		if merr := u.MarkFailed(err.Error()); merr != nil {
			return errors.Join(err, merr)
		}
		return err
	}
	return u.MarkHealthy()
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, fmt.Errorf("update: %w", err)
	}
	return c.r.Read(p)
}
