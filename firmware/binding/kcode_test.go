package binding

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestCheckQuasigroup proves, exhaustively over its 32×32 table, the three
// properties the check character rests on (see docs/kcode.md):
//   - every row and every column is a permutation (a quasigroup), so a single
//     substitution anywhere changes the final interim value;
//   - total anti-symmetry: (c∘x)∘y ≠ (c∘y)∘x for every c and every x ≠ y, so
//     an adjacent transposition anywhere changes it too;
//   - x∘x = 0, so the check character is the interim value of the data.
func TestCheckQuasigroup(t *testing.T) {
	for x := byte(0); x < 32; x++ {
		var row, col [32]bool
		for y := byte(0); y < 32; y++ {
			r, c := checkOp(x, y), checkOp(y, x)
			if r > 31 || row[r] || col[c] {
				t.Fatalf("row or column %d is not a permutation", x)
			}
			row[r], col[c] = true, true
		}
		if checkOp(x, x) != 0 {
			t.Fatalf("%d∘%d = %d, want 0", x, x, checkOp(x, x))
		}
	}
	for c := byte(0); c < 32; c++ {
		for x := byte(0); x < 32; x++ {
			for y := byte(0); y < 32; y++ {
				if x != y && checkOp(checkOp(c, x), y) == checkOp(checkOp(c, y), x) {
					t.Fatalf("not totally anti-symmetric: c=%d x=%d y=%d", c, x, y)
				}
			}
		}
	}
}

// TestCheckDetectsAllShort runs the actual check over every 3-character data
// string with its check character and every single substitution and adjacent
// transposition of the 4 characters: all are caught.
func TestCheckDetectsAllShort(t *testing.T) {
	v := make([]byte, 4)
	for n := 0; n < 32*32*32; n++ {
		v[0], v[1], v[2] = byte(n>>10), byte(n>>5&31), byte(n&31)
		v[3] = checkValue(v[:3])
		if checkValue(v) != 0 {
			t.Fatalf("%v does not check", v)
		}
		for i := range v {
			orig := v[i]
			for e := byte(0); e < 32; e++ {
				if e == orig {
					continue
				}
				v[i] = e
				if checkValue(v) == 0 {
					t.Fatalf("substitution at %d to %d not caught in %v", i, e, v)
				}
			}
			v[i] = orig
		}
		for i := 0; i+1 < len(v); i++ {
			if v[i] == v[i+1] {
				continue
			}
			v[i], v[i+1] = v[i+1], v[i]
			if checkValue(v) == 0 {
				t.Fatalf("transposition at %d not caught in %v", i, v)
			}
			v[i], v[i+1] = v[i+1], v[i]
		}
	}
}

// TestParseCatchesTypos makes K codes and checks that ParseKCode refuses every
// single substitution and every adjacent transposition of each.
func TestParseCatchesTypos(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		k, err := NewKCode(fmt.Sprintf("%03d", rng.IntN(1000)), rng.Uint32N(MaxSerial+1), rng.Uint64N(1<<40))
		if err != nil {
			t.Fatal(err)
		}
		s := []byte(k.Text())
		for i := range s {
			orig := s[i]
			for j := 0; j < len(Alphabet); j++ {
				if Alphabet[j] == orig {
					continue
				}
				s[i] = Alphabet[j]
				if _, err := ParseKCode(string(s)); !errors.Is(err, ErrKCode) {
					t.Fatalf("substitution %d of %s accepted", i, k.Grouped())
				}
			}
			s[i] = orig
		}
		for i := 0; i+1 < len(s); i++ {
			if s[i] == s[i+1] {
				continue
			}
			s[i], s[i+1] = s[i+1], s[i]
			if _, err := ParseKCode(string(s)); !errors.Is(err, ErrKCodeCheck) && !errors.Is(err, ErrUnknownBank) {
				t.Fatalf("transposition %d of %s: err = %v", i, k.Grouped(), err)
			}
			s[i], s[i+1] = s[i+1], s[i]
		}
	}
}

func TestNewKCode(t *testing.T) {
	k, err := NewKCode("105", 12345678, 0xABCDE12345)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseKCode(k.Grouped())
	if err != nil {
		t.Fatalf("ParseKCode(Grouped()): %v", err)
	}
	if got.Bank != "105" || got.Serial != 12345678 || got.Text() != k.Text() {
		t.Errorf("round trip: %+v", got)
	}
	if len(k.Grouped()) != 19 || strings.Count(k.Grouped(), "-") != 3 {
		t.Errorf("Grouped() = %q", k.Grouped())
	}
	for _, verb := range []string{"%v", "%s", "%+v", "%#v", "%q"} {
		s := fmt.Sprintf(verb, k)
		if strings.Contains(s, k.Text()[7:]) {
			t.Errorf("%s shows the secret: %s", verb, s)
		}
	}
	if m := k.Masked(); m != k.Text()[:4]+"-"+k.Text()[4:7]+"*-****-****" {
		t.Errorf("Masked() = %q", m)
	}
	for _, bad := range []struct {
		bank   string
		serial uint32
		secret uint64
	}{{"10", 1, 1}, {"1x5", 1, 1}, {"105", MaxSerial + 1, 1}, {"105", 1, 1 << 40}} {
		if _, err := NewKCode(bad.bank, bad.serial, bad.secret); err == nil {
			t.Errorf("NewKCode(%q, %d, %d) accepted", bad.bank, bad.serial, bad.secret)
		}
	}
	g, err := GenerateKCode(TestBank, 7, nil)
	if err != nil || g.Bank != TestBank || g.Serial != 7 {
		t.Errorf("GenerateKCode = %v, %v", g, err)
	}
}

func TestParseKCode(t *testing.T) {
	k, err := NewKCode(TestBank, 1001, 0x123456789A)
	if err != nil {
		t.Fatal(err)
	}
	text := k.Text()
	fullWidth := strings.Map(func(r rune) rune { return r + 0xFEE0 }, text)
	typo := []byte(text)
	typo[9] = Alphabet[(strings.IndexByte(Alphabet, typo[9])+1)%32]
	swap := []byte(text)
	for i := 0; i+1 < len(swap); i++ {
		if swap[i] != swap[i+1] {
			swap[i], swap[i+1] = swap[i+1], swap[i]
			break
		}
	}
	// A code whose check matches but whose bank field is over 999.
	vals := []byte{31, 31, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}
	vals = append(vals, checkValue(vals))
	var over strings.Builder
	for _, v := range vals {
		over.WriteByte(Alphabet[v])
	}
	tests := []struct {
		name  string
		typed string
		err   error
		says  string
	}{
		{"as printed", k.Grouped(), nil, ""},
		{"plain", text, nil, ""},
		{"lower case with spaces", strings.ToLower(text[:4] + " " + text[4:8] + "  " + text[8:]), nil, ""},
		{"full-width from an input method", fullWidth, nil, ""},
		{"empty", " - ", ErrKCodeLength, "nothing entered"},
		{"one short", text[:15], ErrKCodeLength, "has 15"},
		{"one long", text + "2", ErrKCodeLength, "has 17"},
		{"letter O", "O" + text[1:], ErrKCodeChar, "character 1 (K codes never use 0, O, 1 or I)"},
		{"digit 1", text[:5] + "1" + text[6:], ErrKCodeChar, "character 6"},
		{"punctuation", text[:15] + "!", ErrKCodeChar, "character 16"},
		{"typo", string(typo), ErrKCodeCheck, "typo?"},
		{"transposition", string(swap), ErrKCodeCheck, "typo?"},
		{"bank over 999", over.String(), ErrUnknownBank, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKCode(tt.typed)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("ParseKCode: %v", err)
				}
				if got.Text() != text || got.Bank != TestBank || got.Serial != 1001 {
					t.Errorf("got %v", got)
				}
				return
			}
			if !errors.Is(err, tt.err) || !errors.Is(err, ErrKCode) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.Contains(err.Error(), text[7:15]) {
				t.Errorf("error %q repeats the code", err)
			}
		})
	}
}

func TestParseKCodeQR(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, shanghai)
	k, _ := NewKCode(TestBank, 42, 0x0102030405)
	other, _ := NewKCode("105", 42, 0x0102030405)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, shanghai) }
	withCRC := func(body string) string { // for tests of the fields behind the CRC
		s := body + ":"
		return s + crcHex(s)
	}
	typo := []byte(k.Text())
	typo[3] = Alphabet[(strings.IndexByte(Alphabet, typo[3])+5)%32]
	good := EncodeKCodeQR(k, day(2026, 12, 31))
	tests := []struct {
		name string
		text string
		err  error
	}{
		{"valid", good, nil},
		{"valid with trailing newline", good + "\r\n", nil},
		{"last day", EncodeKCodeQR(k, day(2026, 11, 22)), nil},
		{"expired yesterday", EncodeKCodeQR(k, day(2026, 11, 21)), ErrExpired},
		{"expired long ago", EncodeKCodeQR(k, day(2025, 1, 1)), ErrExpired},
		{"QR bank differs from the code's", withCRC("KPOS1:105:" + k.Text() + ":20261231"), ErrForeignBank},
		{"other bank, consistent", EncodeKCodeQR(other, day(2026, 12, 31)), nil},
		{"unknown bank", withCRC("KPOS1:555:" + k.Text() + ":20261231"), ErrUnknownBank},
		{"damaged", strings.Replace(good, "20261231", "20261230", 1), ErrKCodeQR},
		{"truncated", good[:len(good)-6], ErrKCodeQR},
		{"typo in the code", withCRC("KPOS1:999:" + string(typo) + ":20261231"), ErrKCodeCheck},
		{"grouped code", withCRC("KPOS1:999:" + k.Grouped() + ":20261231"), ErrKCodeQR},
		{"bad date", withCRC("KPOS1:999:" + k.Text() + ":20261332"), ErrKCodeQR},
		{"short date", withCRC("KPOS1:999:" + k.Text() + ":261231"), ErrKCodeQR},
		{"extra field", withCRC("KPOS1:999:" + k.Text() + ":20261231:x"), ErrKCodeQR},
		{"bank not digits", withCRC("KPOS1:9A9:" + k.Text() + ":20261231"), ErrKCodeQR},
		{"not a K-code QR", "6225880123456789012", ErrKCodeQR},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKCodeQR(tt.text, now)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && (got.IsZero() || got.Expiry.IsZero()) {
				t.Errorf("got %v with expiry %v", got, got.Expiry)
			}
		})
	}
}
