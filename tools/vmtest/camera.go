package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// cameraTest boots the image once more with vivid loaded and, in place of
// the firmware, camtest (cross-built here, carried in an extra initramfs
// archive): the real camera driver decodes a payment code from vivid's
// capture node while camtest writes it to the output node.
func (s *sales) cameraTest(ctx context.Context) error {
	r := s.r
	bin := filepath.Join(s.dir, "camtest")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./tools/vmtest/camtest")
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building camtest: %w: %s", err, out)
	}
	prog, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	extra := filepath.Join(s.dir, "camtest.cpio.gz")
	if err := writeCpioGz(extra, map[string][]byte{"extra/camtest": prog}); err != nil {
		return err
	}
	r.extra, r.cmdline, r.media = extra, "kpos.vivid kpos.run=camtest", ""
	defer func() { r.extra, r.cmdline = "", "" }()
	if err := r.boot(); err != nil {
		return err
	}
	s.res.boots++
	s.logf("boot %d: vivid and camtest", r.boots)
	consoleLog := filepath.Join(r.dir, fmt.Sprintf("console-%03d.log", r.boots))
	var log []byte
	deadline := time.Now().Add(4 * time.Minute)
	for !strings.Contains(string(log), "init: camtest exited") {
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.cut()
			s.res.cuts++
			return fmt.Errorf("camtest did not finish (see %s)", filepath.Base(consoleLog))
		}
		time.Sleep(time.Second)
		log, _ = os.ReadFile(consoleLog)
	}
	r.cut()
	s.res.cuts++
	for _, l := range strings.Split(string(log), "\n") {
		if strings.HasPrefix(l, "camtest:") {
			s.logf("%s", strings.TrimSpace(l))
		}
	}
	if !strings.Contains(string(log), "camtest: ok") {
		return fmt.Errorf("camtest failed (see %s)", filepath.Base(consoleLog))
	}
	s.res.camera = "ok"
	return nil
}

// writeCpioGz writes an initramfs archive ("newc") of files, their folders
// made as needed.
func writeCpioGz(path string, files map[string][]byte) error {
	var b bytes.Buffer
	ino := 1
	entry := func(name string, mode uint32, data []byte) {
		ino++
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		b.WriteString(name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	dirs := map[string]bool{}
	for name, data := range files {
		for d := filepath.Dir(name); d != "." && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			entry(d, 0o040755, nil)
		}
		entry(name, 0o100755, data)
	}
	entry("TRAILER!!!", 0, nil)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(b.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, z.Bytes(), 0o644)
}
