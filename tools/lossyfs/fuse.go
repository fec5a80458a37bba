package lossyfs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose changes go through the layer.
type node struct {
	*fs.LoopbackNode
	l *Layer
}

// file is a loopback file handle whose writes go through the layer.
type file struct {
	*fs.LoopbackFile
	n *node
}

// dirHandle is an open directory: the loopback stream, with fsync going
// to the layer.
type dirHandle struct {
	ds fs.FileHandle
	n  *node
}

var (
	_ fs.NodeWrapChilder     = (*node)(nil)
	_ fs.NodeLookuper        = (*node)(nil)
	_ fs.NodeCreater         = (*node)(nil)
	_ fs.NodeOpener          = (*node)(nil)
	_ fs.NodeMkdirer         = (*node)(nil)
	_ fs.NodeMknoder         = (*node)(nil)
	_ fs.NodeSymlinker       = (*node)(nil)
	_ fs.NodeLinker          = (*node)(nil)
	_ fs.NodeUnlinker        = (*node)(nil)
	_ fs.NodeRmdirer         = (*node)(nil)
	_ fs.NodeRenamer         = (*node)(nil)
	_ fs.NodeSetattrer       = (*node)(nil)
	_ fs.NodeFsyncer         = (*node)(nil)
	_ fs.NodeOpendirHandler  = (*node)(nil)
	_ fs.NodeCopyFileRanger  = (*node)(nil)
	_ fs.FileWriter          = (*file)(nil)
	_ fs.FileReader          = (*file)(nil)
	_ fs.FileAllocater       = (*file)(nil)
	_ fs.FilePassthroughFder = (*file)(nil)
	_ fs.FileReaddirenter    = (*dirHandle)(nil)
	_ fs.FileFsyncdirer      = (*dirHandle)(nil)
	_ fs.FileReleasedirer    = (*dirHandle)(nil)
	_ fs.FileSeekdirer       = (*dirHandle)(nil)
)

func errno(err error) syscall.Errno {
	if errors.Is(err, ErrCut) {
		return syscall.EIO
	}
	return fs.ToErrno(err)
}

// WrapChild makes every node of the tree one of ours.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), l: n.l}
}

// rel is the node's path relative to the root.
func (n *node) rel() string { return n.EmbeddedInode().Path(nil) }

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if n.l.IsCut() {
		return nil, syscall.EIO
	}
	return n.LoopbackNode.Lookup(ctx, name, out)
}

func (n *node) Getattr(ctx context.Context, f fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if n.l.IsCut() {
		return syscall.EIO
	}
	if w, ok := f.(*file); ok {
		f = w.LoopbackFile
	}
	return n.LoopbackNode.Getattr(ctx, f, out)
}

func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	var ch *fs.Inode
	var fh fs.FileHandle
	var ff uint32
	err := n.l.Create(n.rel(), name, func() error {
		var e syscall.Errno
		ch, fh, ff, e = n.LoopbackNode.Create(ctx, name, flags, mode, out)
		if e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return nil, nil, 0, errno(err)
	}
	return ch, n.wrap(ch, fh), ff, 0
}

func (n *node) wrap(ch *fs.Inode, fh fs.FileHandle) fs.FileHandle {
	lf, ok := fh.(*fs.LoopbackFile)
	if !ok {
		return fh
	}
	cn, ok := ch.Operations().(*node)
	if !ok {
		cn = n
	}
	return &file{LoopbackFile: lf, n: cn}
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if n.l.IsCut() {
		return nil, 0, syscall.EIO
	}
	fh, ff, e := n.LoopbackNode.Open(ctx, flags)
	if e != 0 {
		return nil, 0, e
	}
	return n.wrap(n.EmbeddedInode(), fh), ff, 0
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	err := n.l.Create(n.rel(), name, func() error {
		var e syscall.Errno
		if ch, e = n.LoopbackNode.Mkdir(ctx, name, mode, out); e != 0 {
			return e
		}
		return nil
	})
	return ch, errno(err)
}

func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	err := n.l.Create(n.rel(), name, func() error {
		var e syscall.Errno
		if ch, e = n.LoopbackNode.Mknod(ctx, name, mode, rdev, out); e != 0 {
			return e
		}
		return nil
	})
	return ch, errno(err)
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	var ch *fs.Inode
	err := n.l.Create(n.rel(), name, func() error {
		var e syscall.Errno
		if ch, e = n.LoopbackNode.Symlink(ctx, target, name, out); e != 0 {
			return e
		}
		return nil
	})
	return ch, errno(err)
}

func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if t, ok := target.(*node); ok {
		target = t.LoopbackNode
	}
	var ch *fs.Inode
	err := n.l.Create(n.rel(), name, func() error {
		var e syscall.Errno
		if ch, e = n.LoopbackNode.Link(ctx, target, name, out); e != 0 {
			return e
		}
		return nil
	})
	return ch, errno(err)
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	return errno(n.l.Remove(n.rel(), name, false))
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	return errno(n.l.Remove(n.rel(), name, true))
}

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	p2, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	return errno(n.l.Rename(n.rel(), name, p2.rel(), newName, flags))
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if n.l.IsCut() {
		return syscall.EIO
	}
	var lf *fs.LoopbackFile
	if w, ok := f.(*file); ok {
		lf = w.LoopbackFile
	}
	if sz, ok := in.GetSize(); ok {
		fd := -1
		if lf != nil {
			fd, _ = lf.PassthroughFd()
		}
		if err := n.l.Truncate(fd, n.rel(), int64(sz)); err != nil {
			return errno(err)
		}
		in.Valid &^= fuse.FATTR_SIZE
	}
	var fh fs.FileHandle
	if lf != nil {
		fh = lf
	}
	return n.LoopbackNode.Setattr(ctx, fh, in, out)
}

// Fsync is fsync and fdatasync of a file, and fsync of a directory.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if n.IsDir() {
		return errno(n.l.SyncDir(n.rel()))
	}
	fd := -1
	if w, ok := f.(*file); ok {
		fd, _ = w.LoopbackFile.PassthroughFd()
	}
	return errno(n.l.SyncFile(fd, n.rel()))
}

func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if n.l.IsCut() {
		return nil, 0, syscall.EIO
	}
	ds, ff, e := n.LoopbackNode.OpendirHandle(ctx, flags)
	if e != 0 {
		return nil, 0, e
	}
	return &dirHandle{ds: ds, n: n}, ff, 0
}

// CopyFileRange is refused: the kernel then copies with reads and writes,
// which the layer sees.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle,
	offOut uint64, len uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.EOPNOTSUPP
}

func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	fd, _ := f.LoopbackFile.PassthroughFd()
	n, err := f.n.l.Write(fd, f.n.rel(), data, off)
	if err != nil {
		return uint32(max(n, 0)), errno(err)
	}
	return uint32(n), 0
}

// Writev is Write of the buffers joined.
func (f *file) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	return f.Write(ctx, all, off)
}

func (f *file) Read(ctx context.Context, buf []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	if f.n.l.IsCut() {
		return nil, syscall.EIO
	}
	return f.LoopbackFile.Read(ctx, buf, off)
}

func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	fd, _ := f.LoopbackFile.PassthroughFd()
	return errno(f.n.l.SyncFile(fd, f.n.rel()))
}

// Allocate is refused: a preallocation is a size change the layer does
// not model.
func (f *file) Allocate(ctx context.Context, off, size uint64, mode uint32) syscall.Errno {
	return syscall.EOPNOTSUPP
}

// PassthroughFd is refused, so that the kernel never writes to the backing
// file behind the layer's back.
func (f *file) PassthroughFd() (int, bool) { return 0, false }

func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	if d.n.l.IsCut() {
		return nil, syscall.EIO
	}
	return d.ds.(fs.FileReaddirenter).Readdirent(ctx)
}

func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	if s, ok := d.ds.(fs.FileSeekdirer); ok {
		return s.Seekdir(ctx, off)
	}
	return syscall.ENOTSUP
}

func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	if r, ok := d.ds.(fs.FileReleasedirer); ok {
		r.Releasedir(ctx, flags)
	}
}

func (d *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	return errno(d.n.l.SyncDir(d.n.rel()))
}

// Mount is a lossy filesystem mounted over a backing directory.
type Mount struct {
	backing, point, attic string
	mu                    sync.Mutex
	layer                 *Layer
	server                *fuse.Server
}

// Available reports why FUSE cannot be used here, or nil when it can.
func Available() error {
	f, err := os.OpenFile("/dev/fuse", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("lossyfs: no FUSE: %w", err)
	}
	f.Close()
	if os.Geteuid() != 0 {
		if _, err := lookFusermount(); err != nil {
			return err
		}
	}
	return nil
}

func lookFusermount() (string, error) {
	for _, name := range []string{"fusermount3", "fusermount"} {
		for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
			p := filepath.Join(dir, name)
			if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", errors.New("lossyfs: no fusermount3 (Debian: fuse3)")
}

// New mounts a lossy view of backing at point. Removed files wait in attic
// (on backing's filesystem, outside it) until their removal is durable.
func New(backing, point, attic string) (*Mount, error) {
	m := &Mount{backing: backing, point: point, attic: attic}
	if err := m.mount(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mount) mount() error {
	l, err := NewLayer(m.backing, m.attic)
	if err != nil {
		return err
	}
	lroot, err := fs.NewLoopbackRoot(m.backing)
	if err != nil {
		return fmt.Errorf("lossyfs: %w", err)
	}
	root := &node{LoopbackNode: lroot.(*fs.LoopbackNode), l: l}
	sec := time.Second
	srv, err := fs.Mount(m.point, root, &fs.Options{
		EntryTimeout: &sec, AttrTimeout: &sec,
		MountOptions: fuse.MountOptions{FsName: "lossyfs", Name: "lossyfs", DisableXAttrs: true},
	})
	if err != nil {
		return fmt.Errorf("lossyfs: mount %s: %w", m.point, err)
	}
	m.mu.Lock()
	m.layer, m.server = l, srv
	m.mu.Unlock()
	return nil
}

// Layer is the pending layer of the current mount.
func (m *Mount) Layer() *Layer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.layer
}

// Cut cuts the power of the mount (see Layer.Cut).
func (m *Mount) Cut(c Cut) (Report, error) { return m.Layer().Cut(c) }

// Remount unmounts and mounts again, with nothing pending: the power is
// back. Every process using the mount must have ended.
func (m *Mount) Remount() error {
	if err := m.Unmount(); err != nil {
		return err
	}
	return m.mount()
}

// Unmount unmounts; a cut that was not given is a clean shutdown (nothing
// pending is forgotten).
func (m *Mount) Unmount() error {
	m.mu.Lock()
	srv := m.server
	m.server = nil
	m.mu.Unlock()
	if srv == nil {
		return nil
	}
	var err error
	for range 50 {
		if err = srv.Unmount(); err == nil {
			srv.Wait()
			return nil
		}
		time.Sleep(20 * time.Millisecond) // the kernel may still be releasing the last files of a killed process
	}
	return fmt.Errorf("lossyfs: unmount %s: %w", m.point, err)
}
