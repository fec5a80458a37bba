package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"kpos/firmware/update"
)

// The releases the A/B test installs: a good one, and one pinned to an
// acquirer address the mobile network cannot reach, so that it boots,
// cannot sign on, and fails its health check.
const (
	goodVersion = "1.1.0"
	badVersion  = "1.2.0"
	badHost     = "acquirer.invalid:5000"
	rootfsMiB   = 80 // the file system an update carries (its slot partition is larger)
)

// buildReleases cross-builds kpos at both versions as make image builds the
// image's (cgo, ARMv7 hard float), puts each into a copy of the image's root
// tree, makes the ext4 file system of each and signs it with the test key
// for the vm board. It returns the update medium: an ext4 image holding
// kpos-VERSION.img files, attached to the VM as a second disk.
func buildReleases(ctx context.Context, root, dir, image string) (string, error) {
	ab := filepath.Join(dir, "releases")
	media := filepath.Join(ab, "media")
	if err := os.MkdirAll(media, 0o755); err != nil {
		return "", err
	}
	raw, err := os.ReadFile(filepath.Join(root, "testdata", "update", "fwsign-test.key"))
	if err != nil {
		return "", err
	}
	priv, err := update.ParsePrivateKey(raw)
	if err != nil {
		return "", err
	}
	for _, v := range []string{goodVersion, badVersion} {
		bin := filepath.Join(ab, "kpos-"+v)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+v, "-o", bin, "./firmware/cmd/kpos")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH=arm", "GOARM=7", "CC=arm-linux-gnueabihf-gcc",
			"PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("vmtest: building kpos %s: %w: %s", v, err, out)
		}
		tree := filepath.Join(ab, "root-"+v)
		os.RemoveAll(tree)
		if out, err := exec.Command("cp", "-a", filepath.Join(image, "rootfs"), tree).CombinedOutput(); err != nil {
			return "", fmt.Errorf("vmtest: %w: %s", err, out)
		}
		if out, err := exec.Command("cp", bin, filepath.Join(tree, "usr", "bin", "kpos")).CombinedOutput(); err != nil {
			return "", fmt.Errorf("vmtest: %w: %s", err, out)
		}
		if v == badVersion {
			if err := os.WriteFile(filepath.Join(tree, "etc", "kpos", "host"), []byte(badHost+"\n"), 0o644); err != nil {
				return "", err
			}
		}
		fs := filepath.Join(ab, "root-"+v+".ext4")
		os.Remove(fs)
		if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", "kpos-root", "-E", "root_owner=0:0",
			"-d", tree, fs, fmt.Sprintf("%dM", rootfsMiB)).CombinedOutput(); err != nil {
			return "", fmt.Errorf("vmtest: mke2fs: %w: %s", err, out)
		}
		payload, err := os.ReadFile(fs)
		if err != nil {
			return "", err
		}
		img, err := update.Sign(priv, v, "vm", payload)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(media, "kpos-"+v+".img"), img, 0o644); err != nil {
			return "", err
		}
		os.RemoveAll(tree)
		os.Remove(fs)
	}
	medium := filepath.Join(ab, "medium.ext4")
	os.Remove(medium)
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext4", "-L", "kpos-update", "-E", "root_owner=0:0",
		"-d", media, medium, fmt.Sprintf("%dM", 2*rootfsMiB+32)).CombinedOutput(); err != nil {
		return "", fmt.Errorf("vmtest: mke2fs: %w: %s", err, out)
	}
	return medium, nil
}

// updateState reads the updater's state off the powered-off disk.
func updateState(disk, dir string) (string, error) {
	if err := dataFiles(disk, dir, "data/firmware/update-state.json"); err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "firmware", "update-state.json"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return string(b), err
}

// abTest: on the terminal the sales left (bound, signed on), install a good
// release into the inactive slot with the power cut during the write (the
// old slot must still boot), then for real; boot it on trial and see it
// confirmed; then install a release that cannot sign on, boot it, and see
// the next boot roll back.
func (s *sales) abTest(ctx context.Context, medium string) error {
	s.r.media = medium
	a := abRun{s: s, r: s.r, con: s.r.con}
	if err := a.cutWrite(ctx); err != nil {
		return err
	}
	if err := a.goodRelease(ctx); err != nil {
		return err
	}
	if err := a.badRelease(ctx); err != nil {
		return err
	}
	a.cut("end of the A/B test")
	return nil
}

// abRun is one A/B test on the rig, in its three steps.
type abRun struct {
	s   *sales
	r   *rig
	con *consoleLine
}

func (a abRun) boot(why string) error {
	a.con.reset()
	if err := a.r.boot(); err != nil {
		return err
	}
	a.s.res.boots++
	a.s.logf("boot %d: %s", a.r.boots, why)
	return nil
}

func (a abRun) cut(why string) {
	a.r.cut()
	a.s.res.cuts++
	a.s.logf("cut %d: %s", a.s.res.cuts, why)
}

// bootLine is what the last boot's console said of the slot it chose.
func (a abRun) bootLine() string {
	b, _ := os.ReadFile(filepath.Join(a.r.dir, fmt.Sprintf("console-%03d.log", a.r.boots)))
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "boot: slot") {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	return strings.Join(lines, "; ")
}

func (a abRun) idle(ctx context.Context) error {
	return (vmTarget{a.r}).waitScreen(ctx, "idle", 3*time.Minute)
}

// install runs the update command for version and checks it went to slot.
func (a abRun) install(ctx context.Context, version, slot string) error {
	out, err := a.con.run(ctx, "update /media/kpos-"+version+".img", 5*time.Minute)
	if err != nil {
		return err
	}
	if !strings.Contains(out, slot) {
		return fmt.Errorf("install of %s: %q", version, out)
	}
	return nil
}

// pollUpdate asks the updater's status up to tries times, 2 s apart, until
// seen says it shows what the step waits for.
func (a abRun) pollUpdate(ctx context.Context, tries int, seen func(string) bool) (bool, error) {
	for i := 0; i < tries; i++ {
		out, err := a.con.run(ctx, "update", time.Minute)
		if err != nil {
			return false, err
		}
		if seen(out) {
			return true, nil
		}
		time.Sleep(2 * time.Second)
	}
	return false, nil
}

// cutWrite: the write of the inactive slot, cut; the old slot still boots.
func (a abRun) cutWrite(ctx context.Context) error {
	if err := a.boot("slot A, 1.0.0"); err != nil {
		return err
	}
	if err := a.idle(ctx); err != nil {
		return err
	}
	if err := a.con.login(ctx); err != nil {
		return err
	}
	if err := a.con.typeLine("update /media/kpos-" + goodVersion + ".img"); err != nil {
		return err
	}
	// the cut falls within the write, at a random tenth of it: after the
	// header is verified, before the switch
	pct := 10 * (1 + a.s.rng.IntN(8))
	if _, err := a.con.waitFor(ctx, fmt.Sprintf("writing: %3d%%", pct), 3*time.Minute); err != nil {
		return err
	}
	a.cut(fmt.Sprintf("during the write of slot B, at %d%%", pct))
	st, err := updateState(a.r.disk, filepath.Join(a.s.dir, "state"))
	if err != nil {
		return err
	}
	if strings.Contains(st, `"trial": true`) {
		return fmt.Errorf("the cut came after the switch: %s", st)
	}
	if err := a.boot("after the cut write"); err != nil {
		return err
	}
	if err := a.idle(ctx); err != nil {
		return fmt.Errorf("the old slot does not boot after a cut write: %w", err)
	}
	if l := a.bootLine(); !strings.Contains(l, "slot A from") {
		return fmt.Errorf("after a cut write the boot chose %q", l)
	}
	a.s.logf("%s, idle: the old slot boots after a cut write", a.bootLine())
	return nil
}

// goodRelease: the good release, installed, booted on trial, confirmed.
func (a abRun) goodRelease(ctx context.Context) error {
	if err := a.con.login(ctx); err != nil {
		return err
	}
	if err := a.install(ctx, goodVersion, "slot B"); err != nil {
		return err
	}
	a.cut("reboot into slot B")
	if err := a.boot("slot B on trial"); err != nil {
		return err
	}
	if err := a.idle(ctx); err != nil {
		return err
	}
	if l := a.bootLine(); !strings.Contains(l, "slot B on trial") {
		return fmt.Errorf("after the install the boot chose %q", l)
	}
	if err := a.con.login(ctx); err != nil {
		return err
	}
	confirmed, err := a.pollUpdate(ctx, 30, func(out string) bool {
		return strings.Contains(out, "reported healthy") && !strings.Contains(out, "trial boot")
	})
	if err != nil {
		return err
	}
	ver, err := a.con.run(ctx, "status", time.Minute)
	if err != nil {
		return err
	}
	if confirmed && strings.Contains(ver, goodVersion) {
		a.s.res.abUpdate = "ok"
		a.s.logf("slot B runs %s, confirmed", goodVersion)
	} else {
		a.s.res.abUpdate = "FAILED"
		a.s.res.problem("slot B: confirmed %v, status %q", confirmed, ver)
	}
	return nil
}

// badRelease: a release that cannot sign on, into slot A, on trial, failed;
// the next boot rolls back to slot B.
func (a abRun) badRelease(ctx context.Context) error {
	if err := a.install(ctx, badVersion, "slot A"); err != nil {
		return err
	}
	a.cut("reboot into slot A")
	if err := a.boot("slot A on trial, " + badVersion); err != nil {
		return err
	}
	if err := a.con.login(ctx); err != nil {
		return err
	}
	failed, err := a.pollUpdate(ctx, 60, func(out string) bool {
		return strings.Contains(out, "failed its health check")
	})
	if err != nil {
		return err
	}
	if l := a.bootLine(); !strings.Contains(l, "slot A on trial") {
		return fmt.Errorf("after the second install the boot chose %q", l)
	}
	a.cut("after the failed health check")
	if err := a.boot("rollback"); err != nil {
		return err
	}
	if err := a.idle(ctx); err != nil {
		return err
	}
	l := a.bootLine()
	if err := a.con.login(ctx); err != nil {
		return err
	}
	out, err := a.con.run(ctx, "status", time.Minute)
	if err != nil {
		return err
	}
	if failed && strings.Contains(l, "rolled back to slot B") && strings.Contains(l, "boot: slot B from") &&
		strings.Contains(out, "firmware  slot B "+goodVersion) {
		a.s.res.rollback = "ok"
		a.s.logf("%s: rolled back to %s", l, goodVersion)
	} else {
		a.s.res.rollback = "FAILED"
		a.s.res.problem("rollback: failed health check seen %v, boot %q, status %q", failed, l, out)
	}
	return nil
}
