package main

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"kpos/boards"
	"kpos/firmware/journal"
)

// copySparseFile copies src to dst leaving zero blocks as holes.
func copySparseFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if err := copyRange(out, 0, in, 0, st.Size()); err != nil {
		return err
	}
	return out.Truncate(st.Size())
}

func copyRange(dst *os.File, dstOff int64, src *os.File, srcOff, n int64) error {
	buf := make([]byte, 1<<20)
	zero := make([]byte, len(buf))
	for done := int64(0); done < n; {
		k := min(int64(len(buf)), n-done)
		m, err := src.ReadAt(buf[:k], srcOff+done)
		if m > 0 && !bytes.Equal(buf[:m], zero[:m]) {
			if _, werr := dst.WriteAt(buf[:m], dstOff+done); werr != nil {
				return werr
			}
		}
		done += int64(m)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// partition is one entry of the disk's MBR.
type partition struct{ start, size int64 } // bytes

func partitions(disk string) ([]partition, error) {
	f, err := os.Open(disk)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mbr := make([]byte, 512)
	if _, err := io.ReadFull(f, mbr); err != nil {
		return nil, err
	}
	if mbr[510] != 0x55 || mbr[511] != 0xAA {
		return nil, errors.New("vmtest: the disk has no partition table")
	}
	var out []partition
	for i := 0; i < 4; i++ {
		e := mbr[0x1BE+16*i:]
		if e[4] == 0 {
			continue
		}
		out = append(out, partition{int64(binary.LittleEndian.Uint32(e[8:])) * 512, int64(binary.LittleEndian.Uint32(e[12:])) * 512})
	}
	return out, nil
}

// dataFiles copies the data partition out of the powered-off disk, lets
// e2fsck replay its journal (as the kernel would at the next mount), and
// dumps the named files into dir; a file that does not exist is skipped.
func dataFiles(disk, dir string, names ...string) error {
	parts, err := partitions(disk)
	if err != nil {
		return err
	}
	if len(parts) < 3 {
		return fmt.Errorf("vmtest: %d partitions, want 3", len(parts))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	img := filepath.Join(dir, "data.ext4")
	defer os.Remove(img)
	in, err := os.Open(disk)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(img)
	if err != nil {
		return err
	}
	err = copyRange(out, 0, in, parts[2].start, parts[2].size)
	if err == nil {
		err = out.Truncate(parts[2].size)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fsck := exec.Command("e2fsck", "-fy", img)
	msg, err := fsck.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() >= 4) {
		return fmt.Errorf("vmtest: e2fsck of the data partition: %w: %s", err, msg)
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			return err
		}
		_ = os.Remove(filepath.Join(dir, n))
		cmd := exec.Command("debugfs", "-R", fmt.Sprintf("dump /%s %s", n, filepath.Join(dir, n)), img)
		if msg, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("vmtest: debugfs: %w: %s", err, msg)
		} else if strings.Contains(string(msg), "File not found") {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
	return nil
}

// readJournal opens the terminal's journal copied off the disk as the
// firmware does (the seal key derived from the device key beside it) and
// lists it; nil when the terminal never wrote one.
func readJournal(disk, dir string) ([]journal.Txn, error) {
	// The data partition holds the data directory (data/) and, beside it
	// and not in it, the device key (keys/): boards/vm.toml.
	if err := dataFiles(disk, dir, "data/journal.db", "keys/device.key"); err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, "keys", "device.key")
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "journal.db")); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	key, err := boards.LoadDeviceKey(keyPath)
	if err != nil {
		return nil, err
	}
	b := boards.Board{DeviceKey: key}
	j, err := journal.Open(filepath.Join(dir, "data", "journal.db"), b.SubKey("journal"), journal.Options{})
	if err != nil {
		return nil, err
	}
	txns, err := j.List(0)
	if cerr := j.Close(); err == nil {
		err = cerr
	}
	return txns, err
}

// provision writes files into the data partition of the powered-off disk,
// as a factory's provisioning step would (the merchant's password).
func provision(disk, dir string, files map[string][]byte) error {
	parts, err := partitions(disk)
	if err != nil {
		return err
	}
	if len(parts) < 3 {
		return fmt.Errorf("vmtest: %d partitions, want 3", len(parts))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(disk, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	img := filepath.Join(dir, "data.ext4")
	defer os.Remove(img)
	out, err := os.Create(img)
	if err != nil {
		return err
	}
	err = copyRange(out, 0, f, parts[2].start, parts[2].size)
	if err == nil {
		err = out.Truncate(parts[2].size)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// The files go into the data directory, data/ on the partition
	// (boards/vm.toml), made owner-only as the firmware keeps it.
	req := []string{"mkdir data", "set_inode_field data mode 040700", "cd data"}
	for name, data := range files {
		src := filepath.Join(dir, name)
		if err := os.WriteFile(src, data, 0o600); err != nil {
			return err
		}
		defer os.Remove(src)
		req = append(req, fmt.Sprintf("write %s %s", src, name), fmt.Sprintf("set_inode_field %s mode 0100600", name))
	}
	reqFile := filepath.Join(dir, "debugfs.req")
	if err := os.WriteFile(reqFile, []byte(strings.Join(req, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(reqFile)
	cmd := exec.Command("debugfs", "-w", "-f", reqFile, img)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("vmtest: debugfs write: %w: %s", err, msg)
	}
	// back onto the disk, every block (zeros included)
	in, err := os.Open(img)
	if err != nil {
		return err
	}
	defer in.Close()
	if _, err := io.Copy(io.NewOffsetWriter(f, parts[2].start), in); err != nil {
		return err
	}
	return f.Sync()
}

// merchantPasswordFile is the merchant password file of the firmware (a
// salted PBKDF2-SHA256 hash, 100 000 iterations, "salt:hash" in hex).
func merchantPasswordFile(pw string) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	sum, err := pbkdf2.Key(sha256.New, pw, salt, 100_000, 32)
	if err != nil {
		return nil, err
	}
	return []byte(hex.EncodeToString(salt) + ":" + hex.EncodeToString(sum) + "\n"), nil
}
