package leak

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var manyDigits = regexp.MustCompile(`[0-9]{4}`)

// The test cards and keys of docs/test-cards.md (TEST DATA ONLY).
var testSecrets = Secrets{
	Cards: []Card{
		{Name: "unionpay-debit", PAN: "6222021234567890128", PIN: "123456"},
		{Name: "visa-credit", PAN: "4761739001010119", PIN: "1234"},
	},
	Keys: []Key{{Name: "TMK", Hex: "11111111111111112222222222222222"}},
}

func mustScanner(t testing.TB) *Scanner {
	t.Helper()
	s, err := New(testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScan(t *testing.T) {
	bcd, _ := hex.DecodeString("4761739001010119")
	key, _ := hex.DecodeString("11111111111111112222222222222222")
	tests := []struct {
		name string
		in   string
		want []string // What of each finding, in order; nil: clean
	}{
		{"masked PAN", "card 622202*********0128 approved", nil},
		{"amount and RRN", "amount=000000001234 rrn=123456789012 stan=000042", nil},
		{"full PAN", "pan=6222021234567890128 ok", []string{"PAN of unionpay-debit"}},
		{"PAN in a hex dump", "02 10 19 62 22 02 12 34 56 78 90 12 8F", nil},
		{"PAN as packed hex", "F2:196222021234567890128F", []string{"PAN of unionpay-debit"}},
		{"PAN as raw BCD", "x" + string(bcd) + "y", []string{"PAN of visa-credit (BCD)"}},
		{"track 2", "t2=6222021234567890128=30121010000", []string{"PAN of unionpay-debit"}},
		{"track 2 of another card of a test BIN", "6222020000000000000D3012101", []string{"track 2 data of a unionpay-debit BIN"}},
		{"another Luhn-valid PAN of a test BIN", "4761730000000003 here", []string{"full PAN with the BIN of visa-credit"}},
		{"Luhn-invalid run of a test BIN", "4761730000000004 here", nil},
		{"long number containing a BIN", "12347617300000000030000", nil},
		{"labelled PIN", `level=DEBUG PIN=123456 entered`, []string{"PIN of unionpay-debit"}},
		{"PIN in JSON", `{"pin":"1234"}`, []string{"PIN of visa-credit"}},
		{"PIN-like amount", "CNY 12.34 keys 1234 ENTER", nil},
		{"format 0 PIN field", "pinfield 06123456FFFFFFFF", []string{"PIN field (format 0) of unionpay-debit"}},
		{"clear PIN block", "block " + strings.ToLower(clearBlock(t)), []string{"clear PIN block of unionpay-debit"}},
		{"key in hex", "tmk 11111111111111112222222222222222", []string{"key TMK"}},
		{"key in lower-case hex", "Z" + strings.ToLower("11111111111111112222222222222222"), []string{"key TMK"}},
		{"raw key", "k=" + string(key), []string{"key TMK"}},
		{"private key", "-----BEGIN RSA PRIVATE KEY-----", []string{"private key (PEM)", "private key (PEM)"}},
	}
	s := mustScanner(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.Scan([]byte(tc.in))
			var whats []string
			for _, f := range got {
				whats = append(whats, f.What)
				if strings.Contains(f.String(), "6222021234567890128") || strings.Contains(f.String(), "1111111111111111") {
					t.Fatalf("a finding repeats the secret: %s", f)
				}
			}
			if strings.Join(whats, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %q, want %q", whats, tc.want)
			}
		})
	}
}

func clearBlock(t *testing.T) string {
	t.Helper()
	// ISO 9564 format 0: PIN field XOR account field (TEST PIN and PAN).
	pin, _ := hex.DecodeString("06123456FFFFFFFF")
	acct, _ := hex.DecodeString("0000123456789012")
	out := make([]byte, 8)
	for i := range out {
		out[i] = pin[i] ^ acct[i]
	}
	return hex.EncodeToString(out)
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		s    Secrets
	}{
		{"nothing", Secrets{}},
		{"short PAN", Secrets{Cards: []Card{{Name: "x", PAN: "123456"}}}},
		{"letters in the PAN", Secrets{Cards: []Card{{Name: "x", PAN: "62220212345678901A"}}}},
		{"bad PIN", Secrets{Cards: []Card{{Name: "x", PAN: "6222021234567890128", PIN: "12"}}}},
		{"bad key", Secrets{Keys: []Key{{Name: "k", Hex: "zz"}}}},
	}
	for _, tc := range tests {
		if _, err := New(tc.s); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestScanDir(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"logs/kpos.log":         "msg=approved pan=622202*********0128\n",
		"receipts/0001.txt":     "CARD 6222021234567890128\n",
		"data/journal.db":       "6222021234567890128",
		"data/device.key":       "11111111111111112222222222222222",
		"scripts/sale.txt":      "pin 123456\npin=123456\n",
		"host/records.json":     `[{"pan":"622202*********0128"}]`,
		"console/session.txt":   "key 11111111111111112222222222222222",
		"logs/kpos-second.log":  "nothing here",
		"receipts/0002.txt":     "CNY 12.34",
		"deeper/more/trace.txt": "ok",
	}
	for name, body := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, n, err := mustScanner(t).ScanDir(root, func(rel string) bool { return rel == "scripts" })
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("read %d files, want 8 (the device key and scripts skipped, the databases read raw)", n)
	}
	var where []string
	for _, f := range got {
		where = append(where, f.File+": "+f.What)
	}
	want := []string{"console/session.txt: key TMK", "data/journal.db: PAN of unionpay-debit", "receipts/0001.txt: PAN of unionpay-debit"}
	if strings.Join(where, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", where, want)
	}
}

// FuzzScan: any bytes scan without panicking, findings lie inside the
// input and never repeat a secret.
func FuzzScan(f *testing.F) {
	f.Add([]byte("pan=6222021234567890128=3012"))
	f.Add([]byte("4761730000000006D2912"))
	f.Add([]byte{0x47, 0x61, 0x73, 0x90, 0x01, 0x01, 0x01, 0x19})
	s := mustScanner(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fd := range s.Scan(b) {
			if fd.Offset < 0 || fd.Offset >= len(b) {
				t.Fatalf("offset %d outside %d bytes", fd.Offset, len(b))
			}
			if manyDigits.MatchString(fd.What) {
				t.Fatalf("a finding carries digits: %q", fd.What)
			}
		}
	})
}

// TestScanSparse: in a file of mostly empty pages, a secret is found at its
// offset, also when it ends at the edge of an empty page; the empty pages
// are not scanned.
func TestScanSparse(t *testing.T) {
	s := mustScanner(t)
	b := make([]byte, 64<<10)
	pan := []byte("6222021234567890128")
	copy(b[3*4096+100:], pan)
	copy(b[9*4096-len(pan):], pan) // ends where an empty page begins
	copy(b[14*4096:], []byte("no secret here"))
	got := s.ScanSparse(b)
	want := s.Scan(b)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("sparse %v, full %v: want 2 findings each", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("finding %d: sparse %v, full %v", i, got[i], want[i])
		}
	}
}
