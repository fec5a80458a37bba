package keys

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kpos/firmware/pinblock"
)

// Test keys only. The TMK is the terminal's test TMK of docs/test-cards.md;
// the device key is a test value a board would supply.
var (
	testDeviceKey = bytes.Repeat([]byte{0x5A}, 32)
	testTMK       = "11111111111111112222222222222222"
	testPINKey    = "0123456789ABCDEFFEDCBA9876543210" // the ISO 9564 vectors' PIN key
	testMACKey    = "0723C80DB5F4CD3D0723C80DB5F4CD3D" // the published UnionPay MAC vector's key
	testDataKey   = "89ABCDEF0123456776543210FEDCBA98"
	fixedNow      = time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
)

func kcvOf(t testing.TB, alg Algorithm, key []byte) []byte {
	t.Helper()
	full, err := CheckValue(alg, key)
	if err != nil {
		t.Fatal(err)
	}
	return full[:4]
}

func openTest(t testing.TB, dir string, cfg Config) *Store {
	t.Helper()
	cfg.Now = func() time.Time { return fixedNow }
	s, err := OpenConfig(filepath.Join(dir, "keys.bin"), testDeviceKey, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// signOnKeys encrypts the test working keys under tmk as a host would.
func signOnKeys(t testing.TB, alg Algorithm, tmk []byte, withData bool) WorkingKeys {
	t.Helper()
	enc := func(k string) ([]byte, []byte) {
		clearKey := mustHex(t, k)
		e, err := EncryptKey(alg, tmk, clearKey)
		if err != nil {
			t.Fatal(err)
		}
		return e, kcvOf(t, alg, clearKey)
	}
	var w WorkingKeys
	w.PIN, w.PINKCV = enc(testPINKey)
	w.MAC, w.MACKCV = enc(testMACKey)
	if withData {
		w.Data, w.DataKCV = enc(testDataKey)
	}
	return w
}

func installAll(t testing.TB, s *Store) {
	t.Helper()
	tmk := mustHex(t, testTMK)
	if err := s.InstallTMK(tmk, kcvOf(t, s.Config().Algorithm, tmk)); err != nil {
		t.Fatal(err)
	}
	if err := s.InstallWorkingKeys(signOnKeys(t, s.Config().Algorithm, tmk, true)); err != nil {
		t.Fatal(err)
	}
}

func TestStoreLifecycle(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Config{})
	if len(s.Status()) != 0 {
		t.Fatalf("new store not empty")
	}
	if err := s.Ready(); !errors.Is(err, ErrNoTMK) {
		t.Fatalf("Ready on empty store: %v", err)
	}
	if _, err := s.MAC([]byte("x")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("MAC without key: %v", err)
	}
	installAll(t, s)
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	want := []KeyInfo{
		{Name: "TMK", Algorithm: AlgTDES, KCV: "D2B91C", Loaded: fixedNow}, // checked with OpenSSL des-ede-ecb
		{Name: "PIN", Algorithm: AlgTDES, KCV: "08D7B4", Loaded: fixedNow}, // likewise
		{Name: "MAC", Algorithm: AlgTDES, KCV: upperHex(kcvOf(t, AlgTDES, mustHex(t, testMACKey))[:3]), Loaded: fixedNow},
		{Name: "DATA", Algorithm: AlgTDES, KCV: upperHex(kcvOf(t, AlgTDES, mustHex(t, testDataKey))[:3]), Loaded: fixedNow},
	}
	checkStatus(t, s.Status(), want)

	// The file holds no key in the clear, and a reopened store has the same keys.
	raw, err := os.ReadFile(filepath.Join(dir, "keys.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{testTMK, testPINKey, testMACKey, testDataKey} {
		if bytes.Contains(raw, mustHex(t, k)) || bytes.Contains(bytes.ToUpper(raw), []byte(k)) {
			t.Fatalf("key file contains a key in the clear")
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "keys.bin")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi.Mode(), err)
	}
	mac1, err := s.MAC([]byte("0200 message"))
	if err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, dir, Config{})
	checkStatus(t, s2.Status(), want)
	mac2, err := s2.MAC([]byte("0200 message"))
	if err != nil || !bytes.Equal(mac1, mac2) {
		t.Fatalf("MAC after reopen differs: %v", err)
	}
	if err := s2.VerifyMAC([]byte("0200 message"), mac1); err != nil {
		t.Fatalf("VerifyMAC: %v", err)
	}
	if err := s2.VerifyMAC([]byte("0200 messagf"), mac1); !errors.Is(err, ErrMAC) {
		t.Fatalf("VerifyMAC of altered data: %v", err)
	}
	alg, dk, err := s2.DataKey()
	if err != nil || alg != AlgTDES || !bytes.Equal(dk, mustHex(t, testDataKey)) {
		t.Fatalf("DataKey: %v", err)
	}

	// Wipe (unbinding) removes everything, in memory and on disk.
	if err := s2.Wipe(); err != nil {
		t.Fatal(err)
	}
	if len(s2.Status()) != 0 || s2.Ready() == nil {
		t.Fatalf("keys left after Wipe")
	}
	if s3 := openTest(t, dir, Config{}); len(s3.Status()) != 0 {
		t.Fatalf("keys left on disk after Wipe")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %d entries", len(entries))
	}
}

func upperHex(b []byte) string { return fmt.Sprintf("%X", b) }

func checkStatus(t *testing.T, got, want []KeyInfo) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Status has %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Status[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	text := fmt.Sprintf("%+v %#v", got, got)
	for _, k := range []string{testTMK, testPINKey, testMACKey, testDataKey} {
		if strings.Contains(strings.ToUpper(text), k) {
			t.Fatalf("Status shows key material")
		}
	}
}

func TestStoreRejectsBadKeys(t *testing.T) {
	tmk := mustHex(t, testTMK)
	good := signOnKeys(t, AlgTDES, tmk, true)
	tests := []struct {
		name   string
		mutate func(w *WorkingKeys)
		want   error
	}{
		{"PIN check value", func(w *WorkingKeys) { w.PINKCV = []byte{0, 0, 0, 0} }, ErrKCV},
		{"MAC check value", func(w *WorkingKeys) { w.MACKCV = append([]byte{}, w.PINKCV...) }, ErrKCV},
		{"data check value", func(w *WorkingKeys) { w.DataKCV = []byte{1, 2, 3} }, ErrKCV},
		{"MAC key length", func(w *WorkingKeys) { w.MAC = w.MAC[:12] }, ErrBlockLength},
		{"missing PIN key", func(w *WorkingKeys) { w.PIN = nil }, ErrBlockLength},
		{"short check value", func(w *WorkingKeys) { w.PINKCV = w.PINKCV[:2] }, ErrKCV},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, t.TempDir(), Config{})
			installAll(t, s)
			before := s.Status()
			w := good
			tc.mutate(&w)
			if err := s.InstallWorkingKeys(w); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if fmt.Sprint(s.Status()) != fmt.Sprint(before) {
				t.Fatalf("a rejected key set changed the store")
			}
		})
	}

	s := openTest(t, t.TempDir(), Config{})
	if err := s.InstallWorkingKeys(good); !errors.Is(err, ErrNoTMK) {
		t.Fatalf("working keys without TMK: %v", err)
	}
	if err := s.InstallTMK(tmk, []byte{1, 2, 3}); !errors.Is(err, ErrKCV) {
		t.Fatalf("TMK with bad check value: %v", err)
	}
	if err := s.InstallTMK(tmk[:8], kcvOf(t, AlgTDES, tmk[:8])); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("single-length TMK: %v", err)
	}
	if len(s.Status()) != 0 {
		t.Fatalf("rejected TMK stored")
	}
}

// TestWorkingKeysAllOrNothing installs one key set, then a second whose MAC
// check value is wrong: the first set must remain, untouched.
func TestWorkingKeysAllOrNothing(t *testing.T) {
	s := openTest(t, t.TempDir(), Config{})
	installAll(t, s)
	tmk := mustHex(t, testTMK)
	newPIN := mustHex(t, "FEDCBA98765432100123456789ABCDEF")
	encPIN, _ := EncryptKey(AlgTDES, tmk, newPIN)
	w := signOnKeys(t, AlgTDES, tmk, false)
	w.PIN, w.PINKCV = encPIN, kcvOf(t, AlgTDES, newPIN)
	w.MACKCV = []byte{9, 9, 9, 9}
	if err := s.InstallWorkingKeys(w); !errors.Is(err, ErrKCV) {
		t.Fatalf("got %v", err)
	}
	c, err := s.PINCipher().EncryptPINBlock(mustHex(t, "04122D789ABCDEF6"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c, mustHex(t, "A1CED0BFE25FDA02")) {
		t.Fatalf("PIN key changed by a rejected set")
	}
}

func TestNewTMKDropsWorkingKeys(t *testing.T) {
	s := openTest(t, t.TempDir(), Config{})
	installAll(t, s)
	tmk2 := mustHex(t, "33333333333333334444444444444444")
	if err := s.InstallTMK(tmk2, kcvOf(t, AlgTDES, tmk2)); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); len(st) != 1 || st[0].Name != "TMK" {
		t.Fatalf("after a new TMK: %+v", st)
	}
	if _, err := s.PINCipher().EncryptPINBlock(make([]byte, 8)); !errors.Is(err, ErrNoKey) {
		t.Fatalf("PIN after new TMK: %v", err)
	}
}

func TestTMKUnderTransportKey(t *testing.T) {
	for _, alg := range []Algorithm{AlgTDES, AlgSM4} {
		t.Run(string(alg), func(t *testing.T) {
			tk := DeriveTransportKey("K8H3Q2M7", "KP2026000001")
			tmk := mustHex(t, testTMK)
			enc, err := EncryptKey(alg, tk, tmk)
			if err != nil {
				t.Fatal(err)
			}
			s := openTest(t, t.TempDir(), Config{Algorithm: alg})
			wrongTK := DeriveTransportKey("K8H3Q2M8", "KP2026000001")
			if err := s.InstallTMKUnderTransport(enc, kcvOf(t, alg, tmk), wrongTK); !errors.Is(err, ErrKCV) {
				t.Fatalf("wrong K code: %v", err)
			}
			if err := s.InstallTMKUnderTransport(enc, kcvOf(t, alg, tmk), tk); err != nil {
				t.Fatal(err)
			}
			if got := s.Status()[0]; got.Algorithm != alg || got.KCV != upperHex(kcvOf(t, alg, tmk)[:3]) {
				t.Fatalf("status %+v", got)
			}
		})
	}
}

// TestPINFormat0Vectors encrypts the published ISO 9564 format 0 blocks
// through the store's PIN cipher (PIN key installed under the test TMK).
func TestPINFormat0Vectors(t *testing.T) {
	s := openTest(t, t.TempDir(), Config{})
	installAll(t, s)
	pc := s.PINCipher()
	tests := []struct{ pin, pan, clear, enc string }{
		{"1234", "4321987654321098", "04122D789ABCDEF6", "A1CED0BFE25FDA02"},
		{"123456", "4321987654321098", "06122DD19ABCDEF6", "48E937BD97AE93EF"},
		{"123456789012", "4321987654321098", "0C122DD11DD333F6", "1B6E54516AF991EA"},
	}
	for _, tc := range tests {
		blk, err := pinblock.Format0([]byte(tc.pin), tc.pan)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(blk[:], mustHex(t, tc.clear)) {
			t.Fatalf("clear block %X, want %s", blk, tc.clear)
		}
		got, err := pc.EncryptPINBlock(blk[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, mustHex(t, tc.enc)) {
			t.Errorf("PIN %d digits: %X, want %s", len(tc.pin), got, tc.enc)
		}
		if pc.KeySerial() != nil {
			t.Errorf("fixed key has a key serial")
		}
	}
	if _, err := pc.EncryptPINBlock(make([]byte, 16)); !errors.Is(err, ErrBlockLength) {
		t.Fatalf("16-byte block under 3DES: %v", err)
	}
	standalone, err := NewPINCipher(AlgTDES, mustHex(t, testPINKey))
	if err != nil {
		t.Fatal(err)
	}
	got, err := standalone.EncryptPINBlock(mustHex(t, tests[0].clear))
	if err != nil || !bytes.Equal(got, mustHex(t, tests[0].enc)) {
		t.Fatalf("NewPINCipher: %X %v", got, err)
	}
}

func TestSM4Store(t *testing.T) {
	s := openTest(t, t.TempDir(), Config{Algorithm: AlgSM4})
	installAll(t, s)
	// SM4 PIN blocks are 16 bytes; the cipher is SM4 ECB under the PIN key.
	blk := mustHex(t, "06123654FFFFFFFFFFFF99FEFF88D977")
	got, err := s.PINCipher().EncryptPINBlock(blk)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := EncryptKey(AlgSM4, mustHex(t, testPINKey), blk)
	if !bytes.Equal(got, want) {
		t.Fatalf("SM4 PIN block differs")
	}
	if _, err := s.PINCipher().EncryptPINBlock(blk[:8]); !errors.Is(err, ErrBlockLength) {
		t.Fatalf("8-byte block under SM4: %v", err)
	}
	mac, err := s.MAC([]byte("sm4 message"))
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := MACSM4ECB(mustHex(t, testMACKey), []byte("sm4 message"))
	if !bytes.Equal(mac, direct[:]) {
		t.Fatalf("store MAC is not MACSM4ECB")
	}
}

func TestX919Store(t *testing.T) {
	s := openTest(t, t.TempDir(), Config{MAC: MACAlgX919})
	installAll(t, s)
	data := mustHex(t, "4E6F77206973207468652074696D6520666F7220616C6C20")
	mac, err := s.MAC(data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := MACX919(mustHex(t, testMACKey), data)
	if !bytes.Equal(mac, want[:]) {
		t.Fatalf("store MAC is not X9.19")
	}
}

// TestSingleLengthMAK installs a UnionPay single-length MAC key delivered as
// 8 encrypted bytes followed by 8 zero bytes (the published TMK/TAK pair).
func TestSingleLengthMAK(t *testing.T) {
	v := loadCUPMAC(t).Vectors[1]
	tmk := mustHex(t, v.TMK)
	tak := mustHex(t, v.TAKClear)
	s := openTest(t, t.TempDir(), Config{})
	if err := s.InstallTMK(tmk, kcvOf(t, AlgTDES, tmk)); err != nil {
		t.Fatal(err)
	}
	w := signOnKeys(t, AlgTDES, tmk, false)
	w.MAC = append(mustHex(t, v.TAKEncrypted), make([]byte, 8)...)
	w.MACKCV = kcvOf(t, AlgTDES, tak)
	if err := s.InstallWorkingKeys(w); err != nil {
		t.Fatal(err)
	}
	mab := mustHex(t, v.MAB)
	got, err := s.MAC(mab)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != v.SingleDESHelper {
		t.Fatalf("MAC %q, want %q", got, v.SingleDESHelper)
	}
}

func TestStoreDUKPT(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Config{PIN: PINDUKPT})
	ipek := mustHex(t, testIPEK)
	if err := s.InstallDUKPT(ipek, mustHex(t, testIKSN), []byte{1, 2, 3}); !errors.Is(err, ErrKCV) {
		t.Fatalf("IPEK with bad check value: %v", err)
	}
	if err := s.InstallDUKPT(ipek, mustHex(t, testIKSN), kcvOf(t, AlgTDES, ipek)); err != nil {
		t.Fatal(err)
	}
	blk, err := pinblock.Format0([]byte("1234"), "4012345678909")
	if err != nil {
		t.Fatal(err)
	}
	pc := s.PINCipher()
	for _, v := range dukptVectors[:2] {
		enc, err := pc.EncryptPINBlock(blk[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, mustHex(t, v.pin)) || !bytes.Equal(pc.KeySerial(), mustHex(t, v.ksn)) {
			t.Fatalf("KSN %X block %X, want %s %s", pc.KeySerial(), enc, v.ksn, v.pin)
		}
	}
	// A power cut now: the reopened store continues at the third key.
	s2 := openTest(t, dir, Config{PIN: PINDUKPT})
	st := s2.Status()
	if len(st) != 1 || st[0].Name != "DUKPT" || st[0].KSN != "FFFF9876543210E00003" {
		t.Fatalf("status after reopen: %+v", st)
	}
	pc2 := s2.PINCipher()
	for _, v := range dukptVectors[2:] {
		enc, err := pc2.EncryptPINBlock(blk[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, mustHex(t, v.pin)) || !bytes.Equal(pc2.KeySerial(), mustHex(t, v.ksn)) {
			t.Fatalf("after reopen: KSN %X block %X, want %s %s", pc2.KeySerial(), enc, v.ksn, v.pin)
		}
	}
	if err := s2.Wipe(); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.PINCipher().EncryptPINBlock(blk[:]); !errors.Is(err, ErrNoKey) {
		t.Fatalf("DUKPT after wipe: %v", err)
	}
}

func TestOpenRejectsDamagedFiles(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Config{})
	installAll(t, s)
	path := filepath.Join(dir, "keys.bin")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name string
		data []byte
		key  []byte
		want error
	}{
		{"truncated", good[:len(good)-1], testDeviceKey, ErrTampered},
		{"header only", good[:headerLen+nonceLen], testDeviceKey, ErrTampered},
		{"empty", nil, testDeviceKey, ErrTampered},
		{"ciphertext bit", flip(len(good) / 2), testDeviceKey, ErrTampered},
		{"tag bit", flip(len(good) - 1), testDeviceKey, ErrTampered},
		{"nonce bit", flip(headerLen), testDeviceKey, ErrTampered},
		{"magic", flip(0), testDeviceKey, ErrFormat},
		{"version", flip(8), testDeviceKey, ErrFormat},
		{"other device key", good, bytes.Repeat([]byte{0xA5}, 32), ErrTampered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "keys.bin")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Open(p, tc.key); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Open(path, make([]byte, 10)); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("short device key: %v", err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		cfg Config
		ok  bool
	}{
		{Config{}, true},
		{Config{Algorithm: AlgSM4}, true},
		{Config{MAC: MACAlgX919}, true},
		{Config{PIN: PINDUKPT}, true},
		{Config{Algorithm: AlgSM4, MAC: MACAlgUnionPayECB}, false},
		{Config{Algorithm: AlgTDES, MAC: MACAlgSM4ECB}, false},
		{Config{Algorithm: "AES"}, false},
		{Config{PIN: "plain"}, false},
	}
	for _, tc := range tests {
		_, err := OpenConfig(filepath.Join(t.TempDir(), "k"), testDeviceKey, tc.cfg)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrConfig)) {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
}

// TestSaveFailureKeepsState removes the key directory under the store: an
// install cannot be saved, fails, and the store keeps its previous keys.
func TestSaveFailureKeepsState(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sub")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dir, Config{})
	installAll(t, s)
	before := fmt.Sprint(s.Status())
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	tmk2 := mustHex(t, "33333333333333334444444444444444")
	if err := s.InstallTMK(tmk2, kcvOf(t, AlgTDES, tmk2)); err == nil {
		t.Fatal("install into a missing directory succeeded")
	}
	if err := s.InstallWorkingKeys(signOnKeys(t, AlgTDES, mustHex(t, testTMK), false)); err == nil {
		t.Fatal("working keys into a missing directory succeeded")
	}
	if fmt.Sprint(s.Status()) != before {
		t.Fatal("failed install changed the store")
	}
}

func FuzzOpenFile(f *testing.F) {
	dir := f.TempDir()
	s := openTest(f, dir, Config{PIN: PINDUKPT})
	installAll(f, s)
	good, err := os.ReadFile(filepath.Join(dir, "keys.bin"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte("KPOSKEYS\x01"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Every worker seals its own file with a fresh nonce, so only the
		// error kinds and the opened state's validity can be checked here;
		// TestOpenRejectsDamagedFiles covers specific damage.
		st, err := openFile(s.aead, raw)
		if err != nil {
			if !errors.Is(err, ErrTampered) && !errors.Is(err, ErrFormat) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if st.Version != stateVersion || st.TMK == nil {
			t.Fatalf("opened a key file without its keys")
		}
	})
}

func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"tmk":{"alg":"3DES","key":"ERERERERERERIiIiIiIiIiI=","loaded":"2026-11-22T08:00:00Z"}}`))
	f.Add([]byte(`{"version":1,"dukpt":{"ksn":"//+YdlQyEOAAAQ==","future":[]}}`))
	f.Add([]byte(`{"version":1,"pin":{"alg":"SM4","key":"AAAA"}}`))
	f.Fuzz(func(t *testing.T, plain []byte) {
		st, err := decodeState(plain)
		if err != nil {
			return
		}
		for _, r := range []*keyRecord{st.TMK, st.PIN, st.MAC, st.Data} {
			if r != nil {
				if _, err := blockCipher(r.Alg, r.Key); err != nil {
					t.Fatalf("accepted an unusable key: %v", err)
				}
			}
		}
	})
}
