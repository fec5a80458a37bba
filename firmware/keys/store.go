package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"kpos/firmware/durable"
	"kpos/hal"
)

// PINMode selects how the store encrypts PIN blocks.
type PINMode string

// The PIN modes.
const (
	PINFixed PINMode = "fixed" // the working PIN key from sign-on (3DES or SM4)
	PINDUKPT PINMode = "dukpt" // ANSI X9.24-1 DUKPT, TDES
)

// Config chooses the algorithms of a store. The zero value is 3DES keys, the
// UnionPay ECB MAC and a fixed PIN key.
type Config struct {
	// Algorithm is the cipher of the TMK and the working keys.
	Algorithm Algorithm
	// MAC is the MAC algorithm of the acquirer link; empty means the
	// UnionPay ECB MAC (its SM4 variant when Algorithm is SM4).
	MAC MACAlgorithm
	// PIN is the PIN encryption mode; empty means PINFixed.
	PIN PINMode
	// Now stamps load times; nil means time.Now.
	Now func() time.Time
}

func (c Config) normalize() (Config, error) {
	if c.Algorithm == "" {
		c.Algorithm = AlgTDES
	}
	if c.MAC == "" {
		c.MAC = MACAlgUnionPayECB
		if c.Algorithm == AlgSM4 {
			c.MAC = MACAlgSM4ECB
		}
	}
	if c.PIN == "" {
		c.PIN = PINFixed
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	switch {
	case c.Algorithm != AlgTDES && c.Algorithm != AlgSM4:
		return c, fmt.Errorf("%w: algorithm %q", ErrConfig, c.Algorithm)
	case c.Algorithm == AlgSM4 && c.MAC != MACAlgSM4ECB,
		c.Algorithm == AlgTDES && c.MAC != MACAlgUnionPayECB && c.MAC != MACAlgX919:
		return c, fmt.Errorf("%w: MAC %q with %s keys", ErrConfig, c.MAC, c.Algorithm)
	case c.PIN != PINFixed && c.PIN != PINDUKPT:
		return c, fmt.Errorf("%w: PIN mode %q", ErrConfig, c.PIN)
	}
	return c, nil
}

// WorkingKeys are the keys a sign-on delivers, each encrypted under the TMK
// (ECB) with its check value (3 bytes or more; UnionPay sends 4).
type WorkingKeys struct {
	PIN, PINKCV   []byte // PIN key (PIK)
	MAC, MACKCV   []byte // MAC key (MAK)
	Data, DataKCV []byte // data/track key (TDK); optional, nil when absent
}

// KeyInfo describes one installed key without its material.
type KeyInfo struct {
	Name      string    // "TMK", "PIN", "MAC", "DATA" or "DUKPT"
	Algorithm Algorithm // 3DES or SM4
	KCV       string    // check value, uppercase hex, 3 bytes
	Loaded    time.Time // when it was installed
	KSN       string    // DUKPT only: the next key serial number, hex
}

// keyRecord is one stored key.
type keyRecord struct {
	Alg    Algorithm `json:"alg"`
	Key    []byte    `json:"key"`
	Loaded time.Time `json:"loaded"`
}

func (r *keyRecord) wipe() {
	if r != nil {
		clear(r.Key)
	}
}

// state is the plaintext of the key file.
type state struct {
	Version int          `json:"version"`
	TMK     *keyRecord   `json:"tmk,omitempty"`
	PIN     *keyRecord   `json:"pin,omitempty"`
	MAC     *keyRecord   `json:"mac,omitempty"`
	Data    *keyRecord   `json:"data,omitempty"`
	DUKPT   *dukptRecord `json:"dukpt,omitempty"`
	DUKPTAt time.Time    `json:"dukpt_loaded,omitzero"`
	IPEKKCV []byte       `json:"ipek_kcv,omitempty"`
}

const stateVersion = 1

// The key file: magic, format version, AES-GCM nonce, then the sealed JSON
// state. The header is authenticated as additional data.
const fileMagic = "KPOSKEYS"

const (
	fileVersion = 1
	nonceLen    = 12
	headerLen   = 8 + 1
)

// Store holds the terminal's keys, encrypted at rest under the device key.
// It is safe for concurrent use.
type Store struct {
	path string
	aead cipher.AEAD
	cfg  Config

	mu    sync.Mutex
	st    state
	dukpt *DUKPTOriginator
}

// Open opens (or prepares to create) the key file at path with the default
// configuration: 3DES keys, UnionPay ECB MAC, fixed PIN key.
func Open(path string, deviceKey []byte) (*Store, error) {
	return OpenConfig(path, deviceKey, Config{})
}

// OpenConfig opens the key file at path, decrypting it with deviceKey (an
// AES key of 16, 24 or 32 bytes that the board supplies). A missing file is
// an empty store; a file that fails authentication returns an error wrapping
// ErrTampered; one that decrypts but does not parse, ErrFormat.
func OpenConfig(path string, deviceKey []byte, cfg Config) (*Store, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(deviceKey)
	if err != nil {
		return nil, fmt.Errorf("%w: device key is %d bytes, want 16, 24 or 32", ErrKeyLength, len(deviceKey))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keys: GCM: %w", err)
	}
	s := &Store{path: path, aead: aead, cfg: cfg, st: state{Version: stateVersion}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keys: read key file: %w", err)
	}
	st, err := openFile(aead, raw)
	if err != nil {
		return nil, err
	}
	s.st = st
	if st.DUKPT != nil {
		if s.dukpt, err = originatorFromRecord(st.DUKPT); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openFile authenticates, decrypts and parses a key file.
func openFile(aead cipher.AEAD, raw []byte) (state, error) {
	if len(raw) < headerLen+nonceLen+aead.Overhead() {
		return state{}, fmt.Errorf("%w: file is %d bytes, truncated", ErrTampered, len(raw))
	}
	if string(raw[:8]) != fileMagic || raw[8] != fileVersion {
		return state{}, fmt.Errorf("%w: not a key file of version %d", ErrFormat, fileVersion)
	}
	nonce := raw[headerLen : headerLen+nonceLen]
	plain, err := aead.Open(nil, nonce, raw[headerLen+nonceLen:], raw[:headerLen])
	if err != nil {
		return state{}, ErrTampered
	}
	defer clear(plain)
	return decodeState(plain)
}

// decodeState parses and validates the plaintext state.
func decodeState(plain []byte) (state, error) {
	var st state
	dec := json.NewDecoder(bytes.NewReader(plain))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return state{}, fmt.Errorf("%w: key state: %w", ErrFormat, err)
	}
	if st.Version != stateVersion {
		return state{}, fmt.Errorf("%w: key state version %d", ErrFormat, st.Version)
	}
	for name, r := range map[string]*keyRecord{"TMK": st.TMK, "PIN": st.PIN, "MAC": st.MAC, "DATA": st.Data} {
		if r == nil {
			continue
		}
		if _, err := blockCipher(r.Alg, r.Key); err != nil {
			return state{}, fmt.Errorf("%w: stored %s key: %w", ErrFormat, name, err)
		}
	}
	if st.TMK == nil && (st.PIN != nil || st.MAC != nil || st.Data != nil) {
		return state{}, fmt.Errorf("%w: working keys without a TMK", ErrFormat)
	}
	if st.DUKPT != nil {
		if _, err := originatorFromRecord(st.DUKPT); err != nil {
			return state{}, err
		}
	}
	return st, nil
}

// save writes st durably: a temporary file in the same directory, synced,
// closed, renamed over the key file, and the directory synced.
func (s *Store) save(st *state) error {
	plain, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("keys: encode key state: %w", err)
	}
	defer clear(plain)
	out := make([]byte, 0, headerLen+nonceLen+len(plain)+s.aead.Overhead())
	out = append(out, fileMagic...)
	out = append(out, fileVersion)
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("keys: nonce: %w", err)
	}
	out = append(out, nonce...)
	out = s.aead.Seal(out, nonce, plain, out[:headerLen])

	if err := durable.WriteFile(s.path, out, 0o600); err != nil {
		return fmt.Errorf("keys: write key file: %w", err)
	}
	return nil
}

// commit persists next and, only when that succeeded, makes it the current
// state. The caller holds s.mu.
func (s *Store) commit(next state) error {
	if err := s.save(&next); err != nil {
		return err
	}
	s.st = next
	return nil
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

// InstallTMK installs a clear TMK (test and simulator loading, or a key
// loading device), verified by its check value. The working keys under the
// previous TMK are removed.
func (s *Store) InstallTMK(tmk []byte, kcv []byte) error {
	alg := s.cfg.Algorithm
	if alg == AlgTDES && len(tmk) != 16 && len(tmk) != 24 {
		return fmt.Errorf("%w: TMK is %d bytes, want 16 or 24", ErrKeyLength, len(tmk))
	}
	if err := VerifyCheckValue(alg, tmk, kcv); err != nil {
		return fmt.Errorf("keys: TMK: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st
	next.TMK = &keyRecord{Alg: alg, Key: append([]byte(nil), tmk...), Loaded: s.cfg.Now().UTC()}
	next.PIN, next.MAC, next.Data = nil, nil, nil
	old := s.st
	if err := s.commit(next); err != nil {
		return err
	}
	old.TMK.wipe()
	old.PIN.wipe()
	old.MAC.wipe()
	old.Data.wipe()
	return nil
}

// InstallTMKUnderTransport installs a TMK delivered encrypted (ECB) under
// the transport key, as binding does, verified by its check value.
func (s *Store) InstallTMKUnderTransport(encTMK, kcv, transportKey []byte) error {
	tmk, err := DecryptKey(s.cfg.Algorithm, transportKey, encTMK)
	if err != nil {
		return fmt.Errorf("keys: TMK under transport key: %w", err)
	}
	defer clear(tmk)
	return s.InstallTMK(tmk, kcv)
}

// decryptWorking decrypts one working key under the TMK and verifies its
// check value. A 16-byte 3DES ciphertext whose second half is zero carries a
// single-length key in its first half (the UnionPay single-DES MAK).
func decryptWorking(tmk *keyRecord, name string, enc, kcv []byte) ([]byte, error) {
	if tmk.Alg == AlgTDES && len(enc) == 16 && bytes.Equal(enc[8:], make([]byte, 8)) {
		enc = enc[:8]
	}
	k, err := DecryptKey(tmk.Alg, tmk.Key, enc)
	if err != nil {
		return nil, fmt.Errorf("keys: %s key: %w", name, err)
	}
	if err := VerifyCheckValue(tmk.Alg, k, kcv); err != nil {
		clear(k)
		return nil, fmt.Errorf("keys: %s key: %w", name, err)
	}
	return k, nil
}

// InstallWorkingKeys decrypts the PIN, MAC and (optional) data keys under the
// TMK, verifies every check value, and installs them all or none.
func (s *Store) InstallWorkingKeys(w WorkingKeys) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tmk := s.st.TMK
	if tmk == nil {
		return ErrNoTMK
	}
	pin, err := decryptWorking(tmk, "PIN", w.PIN, w.PINKCV)
	if err != nil {
		return err
	}
	mac, err := decryptWorking(tmk, "MAC", w.MAC, w.MACKCV)
	if err != nil {
		clear(pin)
		return err
	}
	if s.cfg.MAC == MACAlgX919 && len(mac) != 16 {
		clear(pin)
		clear(mac)
		return fmt.Errorf("%w: X9.19 MAC key is %d bytes, want 16", ErrKeyLength, len(mac))
	}
	var data []byte
	if w.Data != nil {
		if data, err = decryptWorking(tmk, "DATA", w.Data, w.DataKCV); err != nil {
			clear(pin)
			clear(mac)
			return err
		}
	}
	now := s.cfg.Now().UTC()
	next := s.st
	next.PIN = &keyRecord{Alg: tmk.Alg, Key: pin, Loaded: now}
	next.MAC = &keyRecord{Alg: tmk.Alg, Key: mac, Loaded: now}
	next.Data = nil
	if data != nil {
		next.Data = &keyRecord{Alg: tmk.Alg, Key: data, Loaded: now}
	}
	old := s.st
	if err := s.commit(next); err != nil {
		clear(pin)
		clear(mac)
		clear(data)
		return err
	}
	old.PIN.wipe()
	old.MAC.wipe()
	old.Data.wipe()
	return nil
}

// InstallDUKPT loads a DUKPT initial key (IPEK, 16 bytes, TDES) and its
// initial KSN, verified by the IPEK's check value. It replaces any previous
// DUKPT state; PIN blocks use it when the store's PIN mode is PINDUKPT.
func (s *Store) InstallDUKPT(ipek, iksn, kcv []byte) error {
	if err := VerifyCheckValue(AlgTDES, ipek, kcv); err != nil {
		return fmt.Errorf("keys: IPEK: %w", err)
	}
	o, err := NewDUKPTOriginator(ipek, iksn)
	if err != nil {
		return err
	}
	full, _ := CheckValue(AlgTDES, ipek)
	s.mu.Lock()
	defer s.mu.Unlock()
	next := s.st
	next.DUKPT = o.record()
	next.DUKPTAt = s.cfg.Now().UTC()
	next.IPEKKCV = full[:3]
	old := s.st.DUKPT
	if err := s.commit(next); err != nil {
		o.wipe()
		next.DUKPT.wipe()
		return err
	}
	old.wipe()
	if s.dukpt != nil {
		s.dukpt.wipe()
	}
	s.dukpt = o
	return nil
}

// PINCipher returns the cipher the PIN pad encrypts PIN blocks with: 3DES or
// SM4 ECB under the working PIN key, or DUKPT, per the configuration. It
// always uses the keys installed at the time of the call to EncryptPINBlock.
func (s *Store) PINCipher() hal.PINCipher {
	return &storePINCipher{s: s}
}

// encryptPIN encrypts a clear PIN block with the configured mode and
// returns the DUKPT KSN used (nil for fixed keys). A DUKPT key is consumed
// and the advanced state persisted before the block is returned.
func (s *Store) encryptPIN(clearBlock []byte) ([]byte, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.PIN == PINFixed {
		if s.st.PIN == nil {
			return nil, nil, fmt.Errorf("%w: PIN key", ErrNoKey)
		}
		enc, err := encryptPINBlock(s.st.PIN.Alg, s.st.PIN.Key, clearBlock)
		return enc, nil, err
	}
	if s.dukpt == nil {
		return nil, nil, fmt.Errorf("%w: DUKPT initial key", ErrNoKey)
	}
	if len(clearBlock) != 8 {
		return nil, nil, fmt.Errorf("%w: DUKPT PIN block is %d bytes, want 8", ErrBlockLength, len(clearBlock))
	}
	key, ksn, err := s.dukpt.Next()
	if err != nil {
		return nil, nil, err
	}
	defer clear(key)
	next := s.st
	next.DUKPT = s.dukpt.record()
	old := s.st.DUKPT
	if err := s.commit(next); err != nil {
		// The key is already erased from the originator and is never used.
		next.DUKPT.wipe()
		return nil, nil, err
	}
	old.wipe()
	pinKey, err := DUKPTVariant(key, DUKPTPIN)
	if err != nil {
		return nil, nil, err
	}
	defer clear(pinKey)
	enc, err := encryptPINBlock(AlgTDES, pinKey, clearBlock)
	if err != nil {
		return nil, nil, err
	}
	return enc, ksn, nil
}

// MAC computes the configured MAC of data (the MAB) under the MAC key.
func (s *Store) MAC(data []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.MAC == nil {
		return nil, fmt.Errorf("%w: MAC key", ErrNoKey)
	}
	m, err := ComputeMAC(s.cfg.MAC, s.st.MAC.Key, data)
	if err != nil {
		return nil, err
	}
	return m[:], nil
}

// VerifyMAC checks mac against the configured MAC of data in constant time;
// it returns an error wrapping ErrMAC when they differ.
func (s *Store) VerifyMAC(data, mac []byte) error {
	want, err := s.MAC(data)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, mac) != 1 {
		return ErrMAC
	}
	return nil
}

// DataKey returns a copy of the data (track) key for the acquirer's track
// encryption, or ErrNoKey. The caller wipes it after use.
func (s *Store) DataKey() (Algorithm, []byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.Data == nil {
		return "", nil, fmt.Errorf("%w: data key", ErrNoKey)
	}
	return s.st.Data.Alg, append([]byte(nil), s.st.Data.Key...), nil
}

// Ready reports whether the store can serve transactions: nil when a TMK and
// working keys (and, in DUKPT mode, a DUKPT key) are installed, otherwise
// ErrNoTMK or an error wrapping ErrNoKey.
func (s *Store) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.st.TMK == nil:
		return ErrNoTMK
	case s.st.PIN == nil || s.st.MAC == nil:
		return fmt.Errorf("%w: no working keys (sign on)", ErrNoKey)
	case s.cfg.PIN == PINDUKPT && s.dukpt == nil:
		return fmt.Errorf("%w: DUKPT initial key", ErrNoKey)
	}
	return nil
}

// Wipe erases every key (unbinding): memory first, then the file is
// replaced by an empty key state.
func (s *Store) Wipe() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.TMK.wipe()
	s.st.PIN.wipe()
	s.st.MAC.wipe()
	s.st.Data.wipe()
	s.st.DUKPT.wipe()
	if s.dukpt != nil {
		s.dukpt.wipe()
		s.dukpt = nil
	}
	s.st = state{Version: stateVersion}
	return s.save(&s.st)
}

// Status lists the installed keys by name, algorithm, check value and load
// time, never their material.
func (s *Store) Status() []KeyInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []KeyInfo
	for _, k := range []struct {
		name string
		r    *keyRecord
	}{{"TMK", s.st.TMK}, {"PIN", s.st.PIN}, {"MAC", s.st.MAC}, {"DATA", s.st.Data}} {
		if k.r == nil {
			continue
		}
		kcv, err := CheckValue(k.r.Alg, k.r.Key)
		if err != nil {
			continue // validated on load and install; cannot happen
		}
		out = append(out, KeyInfo{Name: k.name, Algorithm: k.r.Alg, KCV: hexUpperString(kcv[:3]), Loaded: k.r.Loaded})
	}
	if s.dukpt != nil {
		out = append(out, KeyInfo{Name: "DUKPT", Algorithm: AlgTDES, KCV: hexUpperString(s.st.IPEKKCV),
			Loaded: s.st.DUKPTAt, KSN: hexUpperString(s.dukpt.KSN())})
	}
	return out
}

func hexUpperString(b []byte) string {
	out := make([]byte, 2*len(b))
	hexUpper(out, b)
	return string(out)
}
