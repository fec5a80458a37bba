package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type rig struct {
	u    *Updater
	dir  string
	priv ed25519.PrivateKey
}

func newRig(t *testing.T, current string) *rig {
	t.Helper()
	pub, priv := testKeys(t)
	dir := t.TempDir()
	// The running firmware sits in slot A, as the factory installed it.
	if err := os.WriteFile(filepath.Join(dir, "slot-a"), []byte("factory firmware "+current), 0o755); err != nil {
		t.Fatal(err)
	}
	u, err := New(Config{SlotDir: dir, PublicKey: pub, CurrentVersion: current, Board: "sim", MaxTrialBoots: 2, MaxPayloadSize: 1 << 20,
		Now: func() time.Time { return time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{u: u, dir: dir, priv: priv}
}

// snapshot returns every file in the slot directory with its contents.
func (r *rig) snapshot(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

func (r *rig) install(t *testing.T, img []byte, force bool) (Result, error) {
	t.Helper()
	return r.u.Install(context.Background(), bytes.NewReader(img), Options{Force: force})
}

func TestUpdateGoodImageSwitchesAndStaysHealthy(t *testing.T) {
	r := newRig(t, "1.0.0")
	payload := bytes.Repeat([]byte("new firmware 1.1.0 "), 10000)
	var phases []string
	var lastWritten int64
	res, err := r.u.Install(context.Background(), bytes.NewReader(mustSign(t, r.priv, "1.1.0", "sim", payload)), Options{
		Progress: func(p Progress) {
			if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
				phases = append(phases, p.Phase)
			}
			if p.Written < lastWritten {
				t.Errorf("progress went backwards: %d after %d", p.Written, lastWritten)
			}
			lastWritten = p.Written
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Slot != SlotB || res.Version != "1.1.0" || res.Bytes != int64(len(payload)) {
		t.Fatalf("result %+v", res)
	}
	if got := []string{"write", "switch", "done"}; !equalStrings(phases, got) {
		t.Errorf("phases %v, want %v", phases, got)
	}
	if lastWritten != int64(len(payload)) {
		t.Errorf("progress ended at %d of %d", lastWritten, len(payload))
	}
	b, err := os.ReadFile(filepath.Join(r.dir, "slot-b"))
	if err != nil || !bytes.Equal(b, payload) {
		t.Fatalf("slot B does not hold the payload (%v)", err)
	}
	// Nobody but the firmware's own user reads the slot or the state.
	for name, want := range map[string]os.FileMode{"slot-b": 0o700, "update-state.json": 0o600} {
		if st, err := os.Stat(filepath.Join(r.dir, name)); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", name, st.Mode().Perm(), want, err)
		}
	}
	// First boot of the new image: on trial.
	bi, err := r.u.Boot()
	if err != nil {
		t.Fatal(err)
	}
	if bi.Slot != SlotB || !bi.Trial || bi.Boots != 1 || bi.RolledBack || bi.Version != "1.1.0" {
		t.Fatalf("boot %+v", bi)
	}
	if err := r.u.Confirm(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // confirmed: no boot count can undo it
		if bi, err = r.u.Boot(); err != nil || bi.Slot != SlotB || bi.Trial || bi.RolledBack {
			t.Fatalf("boot %d after healthy: %+v %v", i, bi, err)
		}
	}
	st, _ := r.u.Status()
	if st.Active != SlotB || st.Trial || st.B.Version != "1.1.0" || st.A.Version != "1.0.0" {
		t.Fatalf("state %+v", st)
	}
}

func TestUpdateRefusedLeavesEverythingUnchanged(t *testing.T) {
	r := newRig(t, "1.0.0")
	// Install once so that a state file and both slots exist.
	if _, err := r.install(t, mustSign(t, r.priv, "1.1.0", "sim", []byte("one-one-zero")), false); err != nil {
		t.Fatal(err)
	}
	if err := r.u.MarkHealthy(); err != nil {
		t.Fatal(err)
	}
	r.u.current, _ = ParseVersion("1.1.0")
	good := mustSign(t, r.priv, "1.2.0", "sim", bytes.Repeat([]byte{0xA5}, 4096))
	tampered := bytes.Clone(good)
	tampered[len(tampered)-SignatureSize-100] ^= 0xFF
	tamperedDigest := mustSign(t, r.priv, "1.2.0", "sim", bytes.Repeat([]byte{0xA5}, 4096))
	// Change the payload and its digest in the header: only the signature can catch it.
	hdrLen := len(tamperedDigest) - 4096 - SignatureSize
	tamperedDigest[hdrLen+5] ^= 1
	h, _, _ := ReadHeader(bytes.NewReader(tamperedDigest))
	h.SHA256 = sha256Of(tamperedDigest[hdrLen : hdrLen+4096])
	hb, _ := h.MarshalBinary()
	copy(tamperedDigest, hb)
	// Another board's name in a signed header: before the signature is
	// checked nothing in the header counts, so this is a bad signature,
	// never "another board".
	otherBoard := bytes.Clone(good)
	copy(otherBoard[bytes.Index(otherBoard, []byte("sim")):], "abc")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		img   []byte
		force bool
		ctx   context.Context
		want  error
	}{
		{"tampered payload", tampered, false, context.Background(), ErrSignature},
		{"tampered payload and digest", tamperedDigest, false, context.Background(), ErrSignature},
		{"tampered header: another board", otherBoard, true, context.Background(), ErrSignature},
		{"truncated", good[:len(good)/2], false, context.Background(), ErrSignature},
		{"truncated signature", good[:len(good)-1], false, context.Background(), ErrSignature},
		{"trailing bytes", append(bytes.Clone(good), 0), false, context.Background(), ErrSignature},
		{"other board", mustSign(t, r.priv, "1.2.0", "pi-ref", []byte("x")), true, context.Background(), ErrBoard},
		{"downgrade", mustSign(t, r.priv, "1.0.5", "sim", []byte("x")), false, context.Background(), ErrDowngrade},
		{"same version", mustSign(t, r.priv, "1.1.0", "sim", []byte("x")), false, context.Background(), ErrDowngrade},
		{"cancelled", good, false, ctx, context.Canceled},
		{"not an image", []byte("#!/bin/sh\necho hello\n"), false, context.Background(), ErrSignature},
		{"larger than allowed", mustSign(t, r.priv, "1.2.0", "sim", make([]byte, 2<<20)), false, context.Background(), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := r.snapshot(t)
			_, err := r.u.Install(tt.ctx, bytes.NewReader(tt.img), Options{Force: tt.force})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == ErrSignature && err.Error() != ErrSignature.Error() {
				t.Fatalf("a bad signature says more: %v", err)
			}
			after := r.snapshot(t)
			if len(before) != len(after) {
				t.Fatalf("files changed: %d before, %d after", len(before), len(after))
			}
			for name, content := range before {
				if after[name] != content {
					t.Errorf("%s changed", name)
				}
			}
		})
	}
}

func TestUpdateForcedDowngrade(t *testing.T) {
	r := newRig(t, "2.0.0")
	res, err := r.install(t, mustSign(t, r.priv, "1.9.0", "sim", []byte("older")), true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Forced || res.Slot != SlotB {
		t.Fatalf("%+v", res)
	}
	st, _ := r.u.Status()
	if !st.Trial || st.Active != SlotB {
		t.Fatalf("state %+v", st)
	}
}

func TestUpdateRollsBack(t *testing.T) {
	tests := []struct {
		name   string
		afterB func(t *testing.T, u *Updater) // what the new image does on its boots
		boots  int                            // boots of the new image before the rollback boot
		reason string
	}{
		{"health check fails", func(t *testing.T, u *Updater) {
			err := u.Confirm(context.Background(), func(context.Context) error { return errors.New("journal does not open") })
			if err == nil {
				t.Fatal("Confirm hid the failure")
			}
		}, 1, "health check failed: journal does not open"},
		{"never reports healthy", func(t *testing.T, u *Updater) {}, 2, "no healthy report after 2 boots"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, "1.0.0")
			if _, err := r.install(t, mustSign(t, r.priv, "1.1.0", "sim", []byte("crashes")), false); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.boots; i++ {
				bi, err := r.u.Boot()
				if err != nil || bi.Slot != SlotB || !bi.Trial || bi.RolledBack {
					t.Fatalf("trial boot %d: %+v %v", i+1, bi, err)
				}
				tt.afterB(t, r.u)
			}
			bi, err := r.u.Boot()
			if err != nil {
				t.Fatal(err)
			}
			if !bi.RolledBack || bi.Slot != SlotA || bi.Trial || bi.Reason != tt.reason || bi.Version != "1.0.0" {
				t.Fatalf("rollback boot %+v", bi)
			}
			if bi.Path != filepath.Join(r.dir, "slot-a") {
				t.Errorf("path %s", bi.Path)
			}
			// The rollback is final: later boots stay on A, and a new update is possible.
			if bi, _ := r.u.Boot(); bi.Slot != SlotA || bi.RolledBack {
				t.Fatalf("boot after rollback %+v", bi)
			}
			if _, err := r.install(t, mustSign(t, r.priv, "1.1.1", "sim", []byte("fixed")), false); err != nil {
				t.Fatalf("update after rollback: %v", err)
			}
		})
	}
}

func TestUpdateRefusedWhileTrial(t *testing.T) {
	r := newRig(t, "1.0.0")
	if _, err := r.install(t, mustSign(t, r.priv, "1.1.0", "sim", []byte("a")), false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.install(t, mustSign(t, r.priv, "1.2.0", "sim", []byte("b")), false); !errors.Is(err, ErrTrialPending) {
		t.Fatalf("got %v", err)
	}
}

func TestCorruptStateIsReported(t *testing.T) {
	r := newRig(t, "1.0.0")
	if err := os.WriteFile(filepath.Join(r.dir, "update-state.json"), []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.u.Boot(); !errors.Is(err, ErrState) {
		t.Fatalf("got %v", err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Files an older firmware left readable by others are tightened when the
// updater opens.
func TestOlderFilesAreTightened(t *testing.T) {
	pub, _ := testKeys(t)
	dir := t.TempDir()
	for name, perm := range map[string]os.FileMode{"slot-a": 0o755, "update-state.json": 0o644} {
		content := "firmware"
		if name == "update-state.json" {
			content = `{"active":"A"}`
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		os.Chmod(filepath.Join(dir, name), perm)
	}
	if _, err := New(Config{SlotDir: dir, PublicKey: pub, CurrentVersion: "1.0.0", Board: "sim"}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{"slot-a": 0o700, "update-state.json": 0o600} {
		if st, _ := os.Stat(filepath.Join(dir, name)); st.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v", name, st.Mode().Perm(), want)
		}
	}
}

// The root partitions of a device image as slots: the payload goes into the
// inactive partition in place, the running one is never touched, and the
// state switches only after a whole, verified write. Regular files of a
// fixed size stand in for the block devices.
func TestUpdatePartitionSlotsWriteInPlace(t *testing.T) {
	pub, priv := testKeys(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "vda1"), filepath.Join(dir, "vda2")
	running := bytes.Repeat([]byte{0xA5}, 64<<10)
	if err := os.WriteFile(a, running, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	u, err := New(Config{SlotA: a, SlotB: b, StatePath: filepath.Join(dir, "state", "update-state.json"), Partitions: true,
		PublicKey: pub, CurrentVersion: "1.0.0", Board: "vm"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name    string
		payload []byte
		tamper  bool
		want    error
	}{
		{"larger than the partition", make([]byte, 64<<10+1), false, ErrTooLarge},
		{"bad signature", bytes.Repeat([]byte("root fs "), 1000), true, ErrSignature},
	}
	for _, c := range cases {
		img := mustSign(t, priv, "1.1.0", "vm", c.payload)
		if c.tamper {
			img[len(img)-1] ^= 1
		}
		if _, err := u.Install(ctx, bytes.NewReader(img), Options{}); !errors.Is(err, c.want) {
			t.Fatalf("%s: got %v, want %v", c.name, err, c.want)
		}
		if st, _ := u.Status(); st.Active != SlotA || st.Trial {
			t.Fatalf("%s: state switched: %+v", c.name, st)
		}
	}
	payload := bytes.Repeat([]byte("root fs 1.1.0 "), 2000)
	res, err := u.Install(ctx, bytes.NewReader(mustSign(t, priv, "1.1.0", "vm", payload)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Slot != SlotB || res.Path != b {
		t.Fatalf("result %+v", res)
	}
	got, _ := os.ReadFile(b)
	if len(got) != 64<<10 || !bytes.Equal(got[:len(payload)], payload) {
		t.Fatalf("slot B holds %d bytes, payload not at its start", len(got))
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, running) {
		t.Fatal("the running slot was written")
	}
	st, _ := u.Status()
	if st.Active != SlotB || !st.Trial || st.Previous != SlotA {
		t.Fatalf("state %+v", st)
	}
}
