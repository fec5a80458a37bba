// Package lossyfs is a filesystem that forgets what was not synced, for
// power-loss testing: a FUSE passthrough over a backing directory that keeps,
// in a pending layer, every write made since the last fsync or fdatasync of
// its file and every directory change made since the last fsync of its
// directory. On a cut, given over a control socket, it forgets that layer —
// all of it, a random prefix of it, or all but a torn last write — and then
// refuses I/O until it is remounted. It follows the model of LazyFS
// (Jepsen): what a program has not synced is in the page cache, and a power
// cut takes the page cache with it.
//
// The writes themselves go to the backing directory at once, so that reads
// see them; the layer keeps what each write overwrote (its pre-image) and
// moves removed or replaced files aside, so that a cut can undo, newest
// first, whatever it forgets.
//
// It knows nothing of the program under test.
package lossyfs

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Mode is how a cut treats the pending layer.
type Mode string

// The cut modes.
const (
	// Drop forgets every pending change: the page cache is gone.
	Drop Mode = "drop"
	// Prefix keeps a random prefix of the pending changes, in the order
	// they were made (the disk had written some of the cache back).
	Prefix Mode = "prefix"
	// Tear keeps every pending change before the last pending write, and
	// of that write only its first sectors: it is torn at a sector
	// boundary of the file.
	Tear Mode = "tear"
)

// Cut says how to cut the power.
type Cut struct {
	Mode Mode `json:"mode"`
	// Sector is the sector size a torn write is cut at; default 512.
	Sector int `json:"sector,omitempty"`
	// Keep is how many whole sectors of the torn write survive; -1 (or
	// any negative) for a random number of them.
	Keep int `json:"keep,omitempty"`
	// Seed makes the random choices of Prefix and Tear repeatable.
	Seed uint64 `json:"seed,omitempty"`
}

// Report is what a cut did.
type Report struct {
	Mode      Mode     `json:"mode"`
	Pending   int      `json:"pending"`   // changes pending at the cut
	Kept      int      `json:"kept"`      // of them, written to the disk before the power went
	Lost      int      `json:"lost"`      // of them, forgotten
	TornFile  string   `json:"torn_file"` // the file of the torn write, when one was torn
	TornKept  int      `json:"torn_kept"` // bytes of the torn write that survived
	TornOf    int      `json:"torn_of"`   // bytes the torn write had
	Forgotten []string `json:"forgotten"` // files and names whose pending changes were (partly) forgotten
}

// ErrCut is returned for every operation after a cut, until the remount.
var ErrCut = errors.New("lossyfs: the power is cut")

type opKind int

const (
	opWrite    opKind = iota // data written at off over pre (file was size before)
	opTruncate               // size changed from size to len(data)… see undo
	opCreate                 // a name created in dir (file, directory, link)
	opRemove                 // a name removed from dir; the inode is kept aside in attic
	opRename                 // dir/name moved to dir2/name2; a replaced target kept aside in attic
)

// op is one pending change.
type op struct {
	kind opKind
	// data ops
	key     fileKey
	off     int64
	data    []byte // bytes written
	pre     []byte // bytes they overwrote
	size    int64  // file size before the change
	newSize int64
	// directory ops, paths relative to the root
	dir, name   string
	dir2, name2 string
	attic       string // where a removed or replaced inode waits ("" none)
}

func (o op) String() string {
	switch o.kind {
	case opWrite:
		return fmt.Sprintf("write ino %d @%d+%d", o.key.ino, o.off, len(o.data))
	case opTruncate:
		return fmt.Sprintf("truncate ino %d %d→%d", o.key.ino, o.size, o.newSize)
	case opCreate:
		return "create " + filepath.Join(o.dir, o.name)
	case opRemove:
		return "remove " + filepath.Join(o.dir, o.name)
	default:
		return "rename " + filepath.Join(o.dir, o.name) + " → " + filepath.Join(o.dir2, o.name2)
	}
}

// touches reports whether a directory change is in dir.
func (o op) touches(dir string) bool {
	switch o.kind {
	case opCreate, opRemove:
		return o.dir == dir
	case opRename:
		// A journaling filesystem commits a rename whole: syncing either
		// directory makes it durable.
		return o.dir == dir || o.dir2 == dir
	}
	return false
}

type fileKey struct{ dev, ino uint64 }

// fileRec is an inode with pending data: a descriptor of our own, opened
// read-write, through which its pre-images are read and its writes undone
// (it follows the inode through renames and removals).
type fileRec struct {
	f    *os.File
	name string // the path it had when first written, for reports
}

// Layer is the pending layer over a backing directory. The FUSE nodes call
// it for every change; tests may call it directly on plain files.
type Layer struct {
	mu    sync.Mutex
	root  string
	attic string
	ops   []op
	files map[fileKey]*fileRec
	cut   bool
	seq   int
}

// NewLayer starts an empty pending layer over the directory root. Removed
// and replaced files wait in attic (created; it must be on the same
// filesystem as root, and outside it) until their removal is durable.
func NewLayer(root, attic string) (*Layer, error) {
	if err := os.MkdirAll(attic, 0o700); err != nil {
		return nil, fmt.Errorf("lossyfs: attic: %w", err)
	}
	return &Layer{root: root, attic: attic, files: map[fileKey]*fileRec{}}, nil
}

// Pending reports how many changes are pending.
func (l *Layer) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.ops)
}

// IsCut reports whether the power was cut.
func (l *Layer) IsCut() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut
}

func (l *Layer) abs(rel string) string { return filepath.Join(l.root, rel) }

func keyOf(fd int) (fileKey, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fileKey{}, err
	}
	return fileKey{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// rec returns the record of the inode open as fd, opening our own
// descriptor on it the first time.
func (l *Layer) rec(fd int, name string) (fileKey, *fileRec, error) {
	k, err := keyOf(fd)
	if err != nil {
		return k, nil, err
	}
	if r, ok := l.files[k]; ok {
		return k, r, nil
	}
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDWR, 0)
	if err != nil {
		return k, nil, err
	}
	r := &fileRec{f: f, name: name}
	l.files[k] = r
	return k, r, nil
}

// Write writes data at off into the file open as fd (named name, for
// reports), keeping what it overwrote.
func (l *Layer) Write(fd int, name string, data []byte, off int64) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return 0, ErrCut
	}
	k, r, err := l.rec(fd, name)
	if err != nil {
		return 0, err
	}
	st, err := r.f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	var pre []byte
	if off < size {
		pre = make([]byte, min(int64(len(data)), size-off))
		if _, err := r.f.ReadAt(pre, off); err != nil {
			return 0, err
		}
	}
	n, err := syscall.Pwrite(fd, data, off)
	if n > 0 {
		l.ops = append(l.ops, op{kind: opWrite, key: k, off: off, data: append([]byte(nil), data[:n]...), pre: pre[:min(len(pre), n)], size: size})
	}
	return n, err
}

// Truncate sets the size of the file open as fd (or, when fd < 0, of the
// file at rel), keeping what a shrink cuts off.
func (l *Layer) Truncate(fd int, rel string, size int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	if fd < 0 {
		f, err := os.OpenFile(l.abs(rel), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		fd = int(f.Fd())
	}
	k, r, err := l.rec(fd, rel)
	if err != nil {
		return err
	}
	st, err := r.f.Stat()
	if err != nil {
		return err
	}
	old := st.Size()
	var tail []byte
	if size < old {
		tail = make([]byte, old-size)
		if _, err := r.f.ReadAt(tail, size); err != nil {
			return err
		}
	}
	if err := r.f.Truncate(size); err != nil {
		return err
	}
	l.ops = append(l.ops, op{kind: opTruncate, key: k, off: size, pre: tail, size: old, newSize: size})
	return nil
}

// SyncFile makes every pending write of the file open as fd (or, when
// fd < 0, at rel) durable: fsync and fdatasync.
func (l *Layer) SyncFile(fd int, rel string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	var k fileKey
	var err error
	if fd >= 0 {
		k, err = keyOf(fd)
	} else {
		var st syscall.Stat_t
		err = syscall.Stat(l.abs(rel), &st)
		k = fileKey{dev: uint64(st.Dev), ino: st.Ino}
	}
	if err != nil {
		return err
	}
	kept := l.ops[:0]
	for _, o := range l.ops {
		if (o.kind == opWrite || o.kind == opTruncate) && o.key == k {
			continue
		}
		kept = append(kept, o)
	}
	l.ops = kept
	if r, ok := l.files[k]; ok {
		r.f.Close()
		delete(l.files, k)
	}
	return nil
}

// SyncDir makes every pending change of the names in directory rel
// durable: fsync of a directory.
func (l *Layer) SyncDir(rel string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	rel = clean(rel)
	kept := l.ops[:0]
	for _, o := range l.ops {
		if o.touches(rel) {
			l.settle(o)
			continue
		}
		kept = append(kept, o)
	}
	l.ops = kept
	return nil
}

// settle forgets what a durable change kept aside.
func (l *Layer) settle(o op) {
	if o.attic != "" {
		os.RemoveAll(filepath.Join(l.attic, o.attic))
	}
}

func clean(rel string) string {
	rel = filepath.Clean("/" + rel)
	return strings.TrimPrefix(rel, "/")
}

// Create runs make (which creates dir/name in the backing directory) and
// records the new name as pending.
func (l *Layer) Create(dir, name string, make func() error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	if err := make(); err != nil {
		return err
	}
	l.ops = append(l.ops, op{kind: opCreate, dir: clean(dir), name: name})
	return nil
}

func (l *Layer) aside() string {
	l.seq++
	return fmt.Sprintf("%06d", l.seq)
}

// Remove removes dir/name (a file, or an empty directory when isDir),
// keeping the inode aside until the removal is durable.
func (l *Layer) Remove(dir, name string, isDir bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	p := l.abs(filepath.Join(dir, name))
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return err
	}
	isDirNow := st.Mode&syscall.S_IFMT == syscall.S_IFDIR
	switch {
	case isDir && !isDirNow:
		return syscall.ENOTDIR
	case !isDir && isDirNow:
		return syscall.EISDIR
	case isDir:
		entries, err := os.ReadDir(p)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			return syscall.ENOTEMPTY
		}
	}
	a := l.aside()
	if err := os.Rename(p, filepath.Join(l.attic, a)); err != nil {
		return err
	}
	l.ops = append(l.ops, op{kind: opRemove, dir: clean(dir), name: name, attic: a})
	return nil
}

// Rename moves dir/name to dir2/name2 (flags as renameat2: only
// RENAME_NOREPLACE is supported), keeping a replaced target aside until the
// rename is durable.
func (l *Layer) Rename(dir, name, dir2, name2 string, flags uint32) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		return ErrCut
	}
	const noReplace = 1 // RENAME_NOREPLACE
	if flags&^noReplace != 0 {
		return syscall.EINVAL
	}
	from, to := l.abs(filepath.Join(dir, name)), l.abs(filepath.Join(dir2, name2))
	var st, st2 syscall.Stat_t
	if err := syscall.Lstat(from, &st); err != nil {
		return err
	}
	a := ""
	if err := syscall.Lstat(to, &st2); err == nil {
		if flags&noReplace != 0 {
			return syscall.EEXIST
		}
		if st.Dev == st2.Dev && st.Ino == st2.Ino {
			return nil // the same file: rename does nothing
		}
		if st2.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
				return syscall.EISDIR
			}
			entries, err := os.ReadDir(to)
			if err != nil {
				return err
			}
			if len(entries) > 0 {
				return syscall.ENOTEMPTY
			}
		} else if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			return syscall.ENOTDIR
		}
		a = l.aside()
		if err := os.Rename(to, filepath.Join(l.attic, a)); err != nil {
			return err
		}
	}
	if err := os.Rename(from, to); err != nil {
		if a != "" {
			os.Rename(filepath.Join(l.attic, a), to)
		}
		return err
	}
	l.ops = append(l.ops, op{kind: opRename, dir: clean(dir), name: name, dir2: clean(dir2), name2: name2, attic: a})
	return nil
}

// Cut cuts the power: it keeps what c.Mode says of the pending layer,
// undoes the rest in the backing directory, newest first, and from then on
// refuses every operation.
func (l *Layer) Cut(c Cut) (Report, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rep := Report{Mode: c.Mode, Pending: len(l.ops)}
	if l.cut {
		return rep, ErrCut
	}
	switch c.Mode {
	case Drop, Prefix, Tear, "":
	default:
		return rep, fmt.Errorf("lossyfs: unknown cut mode %q", c.Mode)
	}
	l.cut = true
	rng := rand.New(rand.NewPCG(c.Seed, 0x6c6f7373))
	keep, torn := 0, -1
	switch c.Mode {
	case Drop, "":
		rep.Mode = Drop
	case Prefix:
		keep = rng.IntN(len(l.ops) + 1)
	case Tear:
		for i := len(l.ops) - 1; i >= 0; i-- {
			if l.ops[i].kind == opWrite {
				torn = i
				break
			}
		}
		keep = max(torn, 0)
		if torn < 0 {
			keep = len(l.ops) // nothing to tear: the disk had it all
		}
	}
	var errs []error
	forgotten := map[string]bool{}
	for i := len(l.ops) - 1; i >= keep; i-- {
		o := l.ops[i]
		if err := l.undo(o); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", o, err))
		}
		forgotten[l.describe(o)] = true
	}
	if torn >= 0 {
		o := l.ops[torn]
		sector := c.Sector
		if sector <= 0 {
			sector = 512
		}
		// Sector boundaries inside the write, in file offsets.
		first := (o.off/int64(sector) + 1) * int64(sector)
		var bounds []int64
		for b := first; b < o.off+int64(len(o.data)); b += int64(sector) {
			bounds = append(bounds, b)
		}
		end := o.off // nothing of it survives when no boundary falls inside
		n := c.Keep
		if n < 0 {
			n = rng.IntN(len(bounds) + 1)
		}
		if n = min(n, len(bounds)); n > 0 {
			end = bounds[n-1]
		}
		rep.TornFile, rep.TornKept, rep.TornOf = l.describe(o), int(end-o.off), len(o.data)
		if r, ok := l.files[o.key]; ok && end > o.off {
			if _, err := r.f.WriteAt(o.data[:end-o.off], o.off); err != nil {
				errs = append(errs, fmt.Errorf("tear %s: %w", o, err))
			}
		}
	}
	for _, o := range l.ops[:keep] {
		l.settle(o)
	}
	rep.Kept, rep.Lost = keep, len(l.ops)-keep
	for f := range forgotten {
		rep.Forgotten = append(rep.Forgotten, f)
	}
	sort.Strings(rep.Forgotten)
	l.ops = nil
	for k, r := range l.files {
		r.f.Close()
		delete(l.files, k)
	}
	if err := os.RemoveAll(l.attic); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

func (l *Layer) describe(o op) string {
	switch o.kind {
	case opWrite, opTruncate:
		if r, ok := l.files[o.key]; ok && r.name != "" {
			return r.name
		}
		return fmt.Sprintf("inode %d", o.key.ino)
	case opRename:
		return filepath.Join(o.dir2, o.name2)
	}
	return filepath.Join(o.dir, o.name)
}

// undo reverts one change in the backing directory.
func (l *Layer) undo(o op) error {
	switch o.kind {
	case opWrite:
		r, ok := l.files[o.key]
		if !ok {
			return errors.New("no descriptor")
		}
		if len(o.pre) > 0 {
			if _, err := r.f.WriteAt(o.pre, o.off); err != nil {
				return err
			}
		}
		if o.off+int64(len(o.data)) > o.size {
			return r.f.Truncate(o.size)
		}
		return nil
	case opTruncate:
		r, ok := l.files[o.key]
		if !ok {
			return errors.New("no descriptor")
		}
		if err := r.f.Truncate(o.size); err != nil {
			return err
		}
		if len(o.pre) > 0 {
			_, err := r.f.WriteAt(o.pre, o.off)
			return err
		}
		return nil
	case opCreate:
		return os.RemoveAll(l.abs(filepath.Join(o.dir, o.name)))
	case opRemove:
		return os.Rename(filepath.Join(l.attic, o.attic), l.abs(filepath.Join(o.dir, o.name)))
	case opRename:
		if err := os.Rename(l.abs(filepath.Join(o.dir2, o.name2)), l.abs(filepath.Join(o.dir, o.name))); err != nil {
			return err
		}
		if o.attic != "" {
			return os.Rename(filepath.Join(l.attic, o.attic), l.abs(filepath.Join(o.dir2, o.name2)))
		}
	}
	return nil
}
