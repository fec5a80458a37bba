package seal

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
)

// SlotSize is one slot: nonce, sealed 32-byte key, tag, padding.
const SlotSize = 64

// Slots is the side file of SAD keys, each sealed under the journal's key
// in a slot of its own. Every write is fsynced before it returns.
type Slots struct {
	f      *os.File
	noSync bool // TEST ONLY, as the journal's Options.NoSync
}

// OpenSlots opens (creating) the slot file at path.
func OpenSlots(path string, noSync bool) (*Slots, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &Slots{f: f, noSync: noSync}, nil
}

func (s *Slots) sync() error {
	if s.noSync {
		return nil
	}
	return s.f.Sync()
}

// Write puts data, padded to a slot, into slot, durably.
func (s *Slots) Write(slot uint32, data []byte) error {
	buf := make([]byte, SlotSize)
	copy(buf, data)
	if _, err := s.f.WriteAt(buf, int64(slot)*SlotSize); err != nil {
		return err
	}
	return s.sync()
}

// Read returns the bytes of slot; io.EOF past the end of the file.
func (s *Slots) Read(slot uint32) ([]byte, error) {
	buf := make([]byte, SlotSize)
	if _, err := s.f.ReadAt(buf, int64(slot)*SlotSize); err != nil {
		return nil, err
	}
	return buf, nil
}

// Zero erases slots and makes it durable.
func (s *Slots) Zero(slots []uint32) error {
	if len(slots) == 0 {
		return nil
	}
	zero := make([]byte, SlotSize)
	for _, n := range slots {
		if _, err := s.f.WriteAt(zero, int64(n)*SlotSize); err != nil {
			return err
		}
	}
	return s.sync()
}

// Cut erases stale slots and every slot at or past next, then cuts the file
// to next slots. The slots past next were written for commits that did not
// happen; they are erased before the file is cut, so no key is left on disk.
func (s *Slots) Cut(stale []uint32, next uint32) error {
	if info, err := s.f.Stat(); err == nil {
		for n := next; int64(n)*SlotSize < info.Size(); n++ {
			stale = append(stale, n)
		}
	}
	if err := s.Zero(stale); err != nil {
		return err
	}
	return s.f.Truncate(int64(next) * SlotSize)
}

// Close closes the file.
func (s *Slots) Close() error { return s.f.Close() }

// NewKey writes a fresh random key into slot, sealed under outer, durably,
// and returns the key's AEAD.
func (s *Slots) NewKey(outer cipher.AEAD, slot uint32) (cipher.AEAD, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	defer clear(key)
	nonce := make([]byte, outer.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	if err := s.Write(slot, outer.Seal(nonce, nonce, key, SlotAAD(slot))); err != nil {
		return nil, fmt.Errorf("key slot: %w", err)
	}
	return NewAEAD(key)
}

// Key opens the key in slot under outer; ok is false when the slot was
// erased.
func (s *Slots) Key(outer cipher.AEAD, slot uint32) (aead cipher.AEAD, ok bool, err error) {
	raw, err := s.Read(slot)
	if errors.Is(err, io.EOF) {
		// Past the end: the slot file is not the one this journal was
		// written with (a restored backup), or was cut after a crash.
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("key slot %d: %w", slot, err)
	}
	n := outer.NonceSize()
	key, err := outer.Open(nil, raw[:n], raw[n:n+32+outer.Overhead()], SlotAAD(slot))
	if err != nil {
		return nil, false, nil
	}
	defer clear(key)
	aead, err = NewAEAD(key)
	return aead, err == nil, err
}
