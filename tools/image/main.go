// Command image builds the terminal's device image for ARMv7 (docs/image.md)
// from Debian's armhf packages and the production kpos binary, without root
// and without loop mounts:
//
//	build/image/kpos-armv7.img   the disk: root slots A and B, the data partition
//	build/image/vmlinuz          the kernel (linux-image-armmp-lpae)
//	build/image/initramfs.gz     the boot step: kernel modules and the slot choice
//	build/image/rootfs.ext4      one root slot's file system (what an update installs)
//
// The packages are fetched with `apt-get download` for armhf and unpacked
// with dpkg-deb; the ext4 file systems are filled from folders with
// `mke2fs -d`, the partition table written with sfdisk on the image file.
//
// image must not know payments: it lays out files. What runs at boot is in
// the scripts it writes (initramfs /init, the root's /sbin/init).
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// The Debian packages of the image. The kernel's versioned package is found
// from the meta package's dependency.
var (
	kernelMeta = "linux-image-armmp-lpae"
	rootPkgs   = []string{"busybox-static", "pcscd", "libccid", "libpcsclite1", "vsmartcard-vpcd",
		// pcscd's and libccid's shared libraries; libgcc_s, which glibc
		// loads when a thread exits (pcscd ends a reader's thread so)
		"libc6", "libgcc-s1", "libsystemd0", "libudev1", "libusb-1.0-0", "libcap2", "libgcrypt20", "libgpg-error0",
		"liblz4-1", "liblzma5", "libzstd1"}
)

// The kernel modules the boot step loads (with what they depend on):
// the virt machine's virtio transport, disk, consoles and network, the root
// and data file system, and the V4L2 test driver for the camera test.
var modules = []string{"virtio_mmio", "virtio_blk", "crc32c_generic", "ext4", "virtio_console", "virtio_net", "vivid"}

// Partition sizes in MiB. The table is MBR: p1 root A, p2 root B, p3 data.
const (
	firstMiB = 1
	rootMiB  = 112
	dataMiB  = 128
)

func main() {
	out := flag.String("out", "build/image", "output folder")
	bin := flag.String("kpos", "build/armv7/kpos", "the production ARMv7 kpos binary")
	board := flag.String("board", "boards/vm.toml", "the board file the image carries")
	params := flag.String("params", "testdata", "the parameter folder (emv/, update/ are copied)")
	flag.Parse()
	if err := build(*out, *bin, *board, *params); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func build(out, bin, board, params string) error {
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb", "mke2fs", "sfdisk"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is missing (scripts/deps.sh image)", tool)
		}
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the ARMv7 binary: %w (make arm)", err)
	}
	debs := filepath.Join(out, "debs")
	if err := fetch(debs); err != nil {
		return err
	}
	pkgroot := filepath.Join(out, "pkgroot")
	if err := unpack(debs, pkgroot); err != nil {
		return err
	}
	kver, err := kernelVersion(pkgroot)
	if err != nil {
		return err
	}
	if err := copyFile(filepath.Join(pkgroot, "boot", "vmlinuz-"+kver), filepath.Join(out, "vmlinuz"), 0o644); err != nil {
		return err
	}
	if err := initramfs(pkgroot, kver, filepath.Join(out, "initramfs.gz")); err != nil {
		return err
	}
	rootfs := filepath.Join(out, "rootfs")
	if err := rootTree(pkgroot, rootfs, bin, board, params); err != nil {
		return err
	}
	rootImg := filepath.Join(out, "rootfs.ext4")
	if err := mkext4(rootImg, rootfs, "kpos-root", rootMiB); err != nil {
		return err
	}
	empty := filepath.Join(out, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		return err
	}
	dataImg := filepath.Join(out, "data.ext4")
	if err := mkext4(dataImg, empty, "kpos-data", dataMiB); err != nil {
		return err
	}
	return disk(filepath.Join(out, "kpos-armv7.img"), rootImg, dataImg)
}

func run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// fetch downloads the armhf packages into dir, once.
func fetch(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	out, err := run("apt-cache", "depends", kernelMeta+":armhf")
	if err != nil {
		return fmt.Errorf("%w (dpkg --add-architecture armhf; apt-get update)", err)
	}
	kpkg := ""
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			kpkg = strings.TrimSuffix(f[1], ":armhf")
		}
	}
	if kpkg == "" {
		return fmt.Errorf("no kernel package behind %s", kernelMeta)
	}
	var want []string
	for _, p := range append([]string{kpkg}, rootPkgs...) {
		if m, _ := filepath.Glob(filepath.Join(dir, p+"_*_armhf.deb")); len(m) == 0 {
			want = append(want, p+":armhf")
		}
	}
	if len(want) == 0 {
		return nil
	}
	cmd := exec.Command("apt-get", append([]string{"download", "-q"}, want...)...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get download: %w", err)
	}
	return nil
}

// unpack extracts every package into root, afresh.
func unpack(debs, root string) error {
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return err
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		if _, err := run("dpkg-deb", "-x", f, root); err != nil {
			return err
		}
	}
	return nil
}

func kernelVersion(root string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if len(m) != 1 {
		return "", fmt.Errorf("want one kernel in the packages, found %d", len(m))
	}
	return filepath.Base(m[0]), nil
}

// moduleClosure returns the modules' files (relative to the modules folder)
// with their dependencies, each after what it depends on. Debian ships no
// modules.dep (depmod runs at install), so the dependencies are read from
// each module's .modinfo section.
func moduleClosure(moddir string, want []string) ([]string, error) {
	byName := map[string]string{}
	err := filepath.WalkDir(moddir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, ".ko") {
			n := strings.TrimSuffix(filepath.Base(p), ".ko")
			byName[strings.ReplaceAll(n, "-", "_")] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string) error
	visit = func(name string) error {
		name = strings.ReplaceAll(name, "-", "_")
		switch state[name] {
		case 1:
			return fmt.Errorf("module dependency cycle at %s", name)
		case 2:
			return nil
		}
		p, ok := byName[name]
		if !ok {
			return nil // built into the kernel
		}
		state[name] = 1
		deps, err := modDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[name] = 2
		rel, _ := filepath.Rel(moddir, p)
		order = append(order, rel)
		return nil
	}
	for _, w := range want {
		if _, ok := byName[w]; !ok {
			return nil, fmt.Errorf("module %s is not in the kernel package", w)
		}
		if err := visit(w); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, fmt.Errorf("%s: no .modinfo", path)
	}
	data, err := s.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// initramfs writes the boot step: busybox, the modules and /init.
func initramfs(pkgroot, kver, dst string) error {
	moddir := filepath.Join(pkgroot, "lib", "modules", kver)
	mods, err := moduleClosure(moddir, modules)
	if err != nil {
		return err
	}
	a := newCpio()
	for _, d := range []string{"bin", "dev", "proc", "sys", "data", "newroot", "lib", "lib/modules"} {
		a.dir(d, 0o755)
	}
	a.node("dev/console", 0o600, 5, 1)
	bb, err := os.ReadFile(filepath.Join(pkgroot, "bin", "busybox"))
	if err != nil {
		return err
	}
	a.file("bin/busybox", 0o755, bb)
	a.symlink("bin/sh", "busybox")
	var list strings.Builder
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(moddir, m))
		if err != nil {
			return err
		}
		name := filepath.Base(m)
		a.file("lib/modules/"+name, 0o644, b)
		list.WriteString(name + "\n")
	}
	a.file("lib/modules/order", 0o644, []byte(list.String()))
	a.file("init", 0o755, []byte(initScript))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(a.bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// rootTree lays out one root slot's files.
func rootTree(pkgroot, root, bin, board, params string) error {
	if err := os.RemoveAll(root); err != nil {
		return err
	}
	// The packages' files, less the kernel, documentation and what only
	// an installer would read.
	skip := []string{"boot", "lib/modules", "usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/locale",
		"usr/lib/arm-linux-gnueabihf/gconv", "usr/share/i18n", "lib/systemd", "usr/lib/systemd", "etc/init.d"}
	err := filepath.WalkDir(pkgroot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(pkgroot, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		dst := filepath.Join(root, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(t, dst)
		default:
			return copyFile(p, dst, info.Mode().Perm())
		}
	})
	if err != nil {
		return err
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "var/lib/kpos", "etc/kpos", "usr/share/kpos", "sbin", "media"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	// busybox applets the init scripts use, as links (the root is read-only
	// at run time, so `busybox --install` cannot run there).
	for _, a := range []string{"sh", "mount", "umount", "mkdir", "cat", "echo", "sleep", "ip", "ln", "ls", "rm",
		"sync", "reboot", "poweroff", "dd", "mv", "cp", "grep", "sed", "date", "kill", "ps", "dmesg", "stty", "wc", "head", "tr", "cut", "insmod", "switch_root", "chmod", "hexdump", "md5sum"} {
		_ = os.Remove(filepath.Join(root, "bin", a))
		if err := os.Symlink("busybox", filepath.Join(root, "bin", a)); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "sbin", "init"), []byte(rootInit), 0o755); err != nil {
		return err
	}
	if err := copyFile(bin, filepath.Join(root, "usr", "bin", "kpos"), 0o755); err != nil {
		return err
	}
	if err := copyFile(board, filepath.Join(root, "etc", "kpos", "board.toml"), 0o644); err != nil {
		return err
	}
	for _, p := range []string{"emv", "update/fwsign-test.pub"} {
		if err := copyTree(filepath.Join(params, p), filepath.Join(root, "usr", "share", "kpos", p)); err != nil {
			return err
		}
	}
	// vpcd: one virtual reader listening for a card on TCP 35963 (and its
	// second slot on 35964), on every address of the guest.
	return os.WriteFile(filepath.Join(root, "etc", "reader.conf.d", "vpcd"),
		[]byte("FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:0x8C7B\nLIBPATH /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID 0x8C7B\n"), 0o644)
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(p, filepath.Join(dst, rel), 0o644)
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// mkext4 makes an ext4 file system of size MiB filled from dir; files are
// owned by root whoever builds.
func mkext4(img, dir, label string, mib int) error {
	_ = os.Remove(img)
	_, err := run("mke2fs", "-q", "-F", "-t", "ext4", "-L", label, "-E", "root_owner=0:0", "-O", "^metadata_csum_seed",
		"-d", dir, img, fmt.Sprintf("%dM", mib))
	return err
}

// disk writes the partition table and copies the root into both slots and
// the empty data file system into the third partition; zero blocks are left
// as holes.
func disk(img, rootImg, dataImg string) error {
	total := int64(firstMiB+2*rootMiB+dataMiB) << 20
	_ = os.Remove(img)
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(total); err != nil {
		return err
	}
	table := fmt.Sprintf("label: dos\nunit: sectors\n\n"+
		"start=%d, size=%d, type=83\nstart=%d, size=%d, type=83\nstart=%d, size=%d, type=83\n",
		firstMiB<<11, rootMiB<<11, (firstMiB+rootMiB)<<11, rootMiB<<11, (firstMiB+2*rootMiB)<<11, dataMiB<<11)
	cmd := exec.Command("sfdisk", "--no-reread", "--no-tell-kernel", "-q", img)
	cmd.Stdin = strings.NewReader(table)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sfdisk: %w: %s", err, stderr.String())
	}
	for i, part := range []struct {
		src string
		mib int
	}{{rootImg, firstMiB}, {rootImg, firstMiB + rootMiB}, {dataImg, firstMiB + 2*rootMiB}} {
		if err := copySparse(f, int64(part.mib)<<20, part.src); err != nil {
			return fmt.Errorf("partition %d: %w", i+1, err)
		}
	}
	return f.Sync()
}

func copySparse(dst *os.File, off int64, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	r := bufio.NewReaderSize(in, 1<<20)
	buf := make([]byte, 64<<10)
	zero := make([]byte, len(buf))
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := dst.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
		}
		off += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// cpio writes the "newc" archive format the kernel unpacks an initramfs from.
type cpio struct {
	buf   bytes.Buffer
	inode int
	names []string
}

func newCpio() *cpio { return &cpio{inode: 1} }

func (c *cpio) header(name string, mode uint32, size int, rdevMajor, rdevMinor int) {
	c.inode++
	fmt.Fprintf(&c.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.inode, mode, 0, 0, 1, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.buf.WriteString(name)
	c.buf.WriteByte(0)
	c.pad()
	c.names = append(c.names, name)
}

func (c *cpio) pad() {
	for c.buf.Len()%4 != 0 {
		c.buf.WriteByte(0)
	}
}

func (c *cpio) dir(name string, perm uint32) { c.header(name, 0o040000|perm, 0, 0, 0) }

func (c *cpio) node(name string, perm uint32, major, minor int) {
	c.header(name, 0o020000|perm, 0, major, minor)
}

func (c *cpio) file(name string, perm uint32, data []byte) {
	c.header(name, 0o100000|perm, len(data), 0, 0)
	c.buf.Write(data)
	c.pad()
}

func (c *cpio) symlink(name, target string) {
	c.header(name, 0o120000|0o777, len(target), 0, 0)
	c.buf.WriteString(target)
	c.pad()
}

func (c *cpio) bytes() []byte {
	sort.Strings(c.names)
	c.header("TRAILER!!!", 0, 0, 0, 0)
	return c.buf.Bytes()
}
