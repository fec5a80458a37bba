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
		if err := durable.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
	}
	// An older firmware wrote the state 0644 and the slots 0755: nobody but
	// the firmware's user has to read them.
	for p, perm := range map[string]os.FileMode{cfg.StatePath: 0o600, cfg.SlotA: 0o700, cfg.SlotB: 0o700} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&^perm != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&perm); err != nil {
				return nil, fmt.Errorf("update: %w", err)
			}
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
	return durable.WriteFile(u.cfg.StatePath, append(b, '\n'), 0o600)
}

// InstallFile opens path and installs it; see Install. Progress has a
// total, from the file's size.
func (u *Updater) InstallFile(ctx context.Context, path string, opt Options) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("update: opening image: %w", err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return u.install(ctx, f, size, opt)
}

// Install verifies the image read from r while writing its payload beside
// the inactive slot; only once its signature holds does it read the header,
// refuse another board, a downgrade (unless forced) or a payload that does
// not match, then switch to the new slot on trial. Any failure (bad
// signature, foreign board, downgrade, a payload over MaxPayloadSize, a
// cancelled ctx) leaves both slots and the state as they were. The caller
// reboots when it chooses to. Progress has no total: the image's size is
// not known before its end.
func (u *Updater) Install(ctx context.Context, r io.Reader, opt Options) (Result, error) {
	return u.install(ctx, r, 0, opt)
}

func (u *Updater) install(ctx context.Context, r io.Reader, size int64, opt Options) (Result, error) {
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
	target := st.Active.Other()
	path := u.SlotPath(target)
	if u.cfg.Partitions {
		h, err := u.writePartition(ctx, r, path, size, progress)
		if err != nil {
			return Result{}, err
		}
		if err := u.acceptable(h, opt); err != nil {
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
	var last int64 = -1
	progress(Progress{Phase: "write"})
	h, err := verify(ctxReader{ctx, r}, u.cfg.PublicKey, f, u.cfg.MaxPayloadSize, func(n, header int64) {
		// The total is what the file's size leaves for a payload; for
		// progress only, it decides nothing.
		total := max(size-header-SignatureSize, 0)
		if n == total || n-last >= max(total/100, 1) {
			last = n
			progress(Progress{Phase: "write", Written: n, Total: total})
		}
	})
	if err != nil {
		return Result{}, err
	}
	if err := u.acceptable(h, opt); err != nil {
		return Result{}, err
	}
	total := int64(h.PayloadLen)
	progress(Progress{Phase: "switch", Written: total, Total: total})
	// The slot is a program the boot loader or the supervisor executes
	// as the firmware's own user: owner read, write and execute only.
	if err := durable.Commit(f, path, 0o700); err != nil {
		committed = true // Commit removed it
		return Result{}, fmt.Errorf("update: %w", err)
	}
	committed = true
	return u.switchTo(st, target, path, h, opt, progress)
}

// acceptable refuses a verified image made for another board, or older than
// the running firmware unless forced. The header is the signer's here:
// nothing in it was trusted before the signature held.
func (u *Updater) acceptable(h Header, opt Options) error {
	if h.Board != u.cfg.Board {
		return fmt.Errorf("%w: image for %q, this is %q", ErrBoard, h.Board, u.cfg.Board)
	}
	newV, _ := ParseVersion(h.Version) // validated by the header parser
	if newV.Compare(u.current) <= 0 && !opt.Force {
		return fmt.Errorf("%w: image %s, running %s (force to override)", ErrDowngrade, newV, u.current)
	}
	return nil
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

// writePartition streams the image's payload into the block device of the
// inactive slot while its signature is checked, and syncs it; the header is
// the signer's only once verify returns. The state still names the running
// slot until the caller switches, so a bad signature, a failure or a power
// cut here leaves a slot that is never booted; the next install writes it
// again. A payload larger than the partition is refused as it streams.
func (u *Updater) writePartition(ctx context.Context, r io.Reader, path string, size int64, progress func(Progress)) (Header, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return Header{}, fmt.Errorf("update: slot partition: %w", err)
	}
	defer f.Close()
	room, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return Header{}, fmt.Errorf("update: slot partition: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return Header{}, fmt.Errorf("update: slot partition: %w", err)
	}
	var last int64 = -1
	progress(Progress{Phase: "write"})
	h, err := verify(ctxReader{ctx, r}, u.cfg.PublicKey, f, min(u.cfg.MaxPayloadSize, room), func(n, header int64) {
		total := max(size-header-SignatureSize, 0)
		if n == total || n-last >= max(total/100, 1) {
			last = n
			progress(Progress{Phase: "write", Written: n, Total: total})
		}
	})
	if err != nil {
		return Header{}, err
	}
	if err := f.Sync(); err != nil {
		return Header{}, fmt.Errorf("update: slot partition: %w", err)
	}
	if err := f.Close(); err != nil {
		return Header{}, fmt.Errorf("update: slot partition: %w", err)
	}
	return h, nil
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
