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
	r, con := s.r, s.r.con
	r.media = medium
	boot := func(why string) error {
		con.reset()
		if err := r.boot(); err != nil {
			return err
		}
		s.res.boots++
		s.logf("boot %d: %s", r.boots, why)
		return nil
	}
	cut := func(why string) {
		r.cut()
		s.res.cuts++
		s.logf("cut %d: %s", s.res.cuts, why)
	}
	bootLine := func() string {
		b, _ := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("console-%03d.log", r.boots)))
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "boot: slot") {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		return strings.Join(lines, "; ")
	}
	statusOf := func(ctx context.Context) (string, error) { return con.run(ctx, "update", time.Minute) }

	// 1. The write of the inactive slot, cut.
	if err := boot("slot A, 1.0.0"); err != nil {
		return err
	}
	if err := (vmTarget{r}).waitScreen(ctx, "idle", 3*time.Minute); err != nil {
		return err
	}
	if err := con.login(ctx); err != nil {
		return err
	}
	if err := con.typeLine("update /media/kpos-" + goodVersion + ".img"); err != nil {
		return err
	}
	// the cut falls within the write, at a random tenth of it: after the
	// header is verified, before the switch
	pct := 10 * (1 + s.rng.IntN(8))
	if _, err := con.waitFor(ctx, fmt.Sprintf("writing: %3d%%", pct), 3*time.Minute); err != nil {
		return err
	}
	cut(fmt.Sprintf("during the write of slot B, at %d%%", pct))
	st, err := updateState(r.disk, filepath.Join(s.dir, "state"))
	if err != nil {
		return err
	}
	if strings.Contains(st, `"trial": true`) {
		return fmt.Errorf("the cut came after the switch: %s", st)
	}
	if err := boot("after the cut write"); err != nil {
		return err
	}
	if err := (vmTarget{r}).waitScreen(ctx, "idle", 3*time.Minute); err != nil {
		return fmt.Errorf("the old slot does not boot after a cut write: %w", err)
	}
	if l := bootLine(); !strings.Contains(l, "slot A from") {
		return fmt.Errorf("after a cut write the boot chose %q", l)
	}
	s.logf("%s, idle: the old slot boots after a cut write", bootLine())

	// 2. The good release, installed, booted on trial, confirmed.
	if err := con.login(ctx); err != nil {
		return err
	}
	out, err := con.run(ctx, "update /media/kpos-"+goodVersion+".img", 5*time.Minute)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "slot B") {
		return fmt.Errorf("install of %s: %q", goodVersion, out)
	}
	cut("reboot into slot B")
	if err := boot("slot B on trial"); err != nil {
		return err
	}
	if err := (vmTarget{r}).waitScreen(ctx, "idle", 3*time.Minute); err != nil {
		return err
	}
	if l := bootLine(); !strings.Contains(l, "slot B on trial") {
		return fmt.Errorf("after the install the boot chose %q", l)
	}
	if err := con.login(ctx); err != nil {
		return err
	}
	confirmed := false
	for i := 0; i < 30 && !confirmed; i++ {
		out, err := statusOf(ctx)
		if err != nil {
			return err
		}
		confirmed = strings.Contains(out, "reported healthy") && !strings.Contains(out, "trial boot")
		if !confirmed {
			time.Sleep(2 * time.Second)
		}
	}
	ver, err := con.run(ctx, "status", time.Minute)
	if err != nil {
		return err
	}
	if confirmed && strings.Contains(ver, goodVersion) {
		s.res.abUpdate = "ok"
		s.logf("slot B runs %s, confirmed", goodVersion)
	} else {
		s.res.abUpdate = "FAILED"
		s.res.problem("slot B: confirmed %v, status %q", confirmed, ver)
	}

	// 3. A release that cannot sign on: into slot A, on trial, failed; the
	// next boot rolls back to slot B.
	out, err = con.run(ctx, "update /media/kpos-"+badVersion+".img", 5*time.Minute)
	if err != nil {
		return err
	}
	if !strings.Contains(out, "slot A") {
		return fmt.Errorf("install of %s: %q", badVersion, out)
	}
	cut("reboot into slot A")
	if err := boot("slot A on trial, " + badVersion); err != nil {
		return err
	}
	if err := con.login(ctx); err != nil {
		return err
	}
	failed := false
	for i := 0; i < 60 && !failed; i++ {
		out, err := statusOf(ctx)
		if err != nil {
			return err
		}
		failed = strings.Contains(out, "failed its health check")
		if !failed {
			time.Sleep(2 * time.Second)
		}
	}
	if l := bootLine(); !strings.Contains(l, "slot A on trial") {
		return fmt.Errorf("after the second install the boot chose %q", l)
	}
	cut("after the failed health check")
	if err := boot("rollback"); err != nil {
		return err
	}
	if err := (vmTarget{r}).waitScreen(ctx, "idle", 3*time.Minute); err != nil {
		return err
	}
	l := bootLine()
	if err := con.login(ctx); err != nil {
		return err
	}
	out, err = con.run(ctx, "status", time.Minute)
	if err != nil {
		return err
	}
	if failed && strings.Contains(l, "rolled back to slot B") && strings.Contains(l, "boot: slot B from") &&
		strings.Contains(out, "firmware  slot B "+goodVersion) {
		s.res.rollback = "ok"
		s.logf("%s: rolled back to %s", l, goodVersion)
	} else {
		s.res.rollback = "FAILED"
		s.res.problem("rollback: failed health check seen %v, boot %q, status %q", failed, l, out)
	}
	cut("end of the A/B test")
	return nil
}
