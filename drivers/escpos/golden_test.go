package escpos

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"kpos/firmware/receipt"
	"kpos/firmware/receipt/receipttest"
)

var update = flag.Bool("update", false, "rewrite the golden slips in testdata/receipts")

// goldenDir holds, for every slip kind, its text (.txt, 32 columns as the
// simulated printer saves it) and its ESC/POS bytes for a 58 mm printer with
// the GB18030 font (.bin).
const goldenDir = "../../testdata/receipts"

// goldenConfig is the printer the golden bytes are for: 58 mm paper, 32
// columns, Chinese in GB18030.
var goldenConfig = Config{Width58or80: 58, ChineseGB18030: true}

// TestSlipsMatchTheirGoldenFiles renders every slip kind as text and as the
// printer's bytes and compares both with testdata/receipts; -update rewrites
// them.
func TestSlipsMatchTheirGoldenFiles(t *testing.T) {
	enc := NewEncoder(goldenConfig)
	seen := map[string]bool{}
	for _, s := range receipttest.Slips() {
		t.Run(s.Name, func(t *testing.T) {
			var text strings.Builder
			var bin []byte
			for _, d := range s.Docs {
				text.WriteString(receipt.Text(d, receipt.NarrowColumns))
				b, err := enc.Encode(d)
				if err != nil {
					t.Fatal(err)
				}
				bin = append(bin, b...)
			}
			for ext, got := range map[string][]byte{".txt": []byte(text.String()), ".bin": bin} {
				path := filepath.Join(goldenDir, s.Name+ext)
				seen[s.Name+ext] = true
				if *update {
					if err := os.MkdirAll(goldenDir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (go test ./drivers/escpos -run Golden -update writes it)", err)
				}
				if !bytes.Equal(got, want) {
					if ext == ".txt" {
						t.Errorf("%s differs from what is printed now:\n%s", path, got)
					} else {
						i := 0
						for i < len(got) && i < len(want) && got[i] == want[i] {
							i++
						}
						t.Errorf("%s differs from the printer's bytes at offset %d (%d bytes now, %d golden)", path, i, len(got), len(want))
					}
				}
			}
		})
	}
	// A golden file of a kind no longer printed is stale.
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] && !*update {
			t.Errorf("%s: no slip kind renders it", f)
		}
	}
}

var digitRun = regexp.MustCompile(`[0-9]+`)

// luhn reports whether the digits s pass the Luhn check (ISO/IEC 7812-1).
func luhn(s string) bool {
	sum := 0
	for i := 0; i < len(s); i++ {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// TestNoGoldenSlipHoldsACardNumber: a run of 13 to 19 digits that passes the
// Luhn check could be a PAN in the clear; no golden file may hold one.
func TestNoGoldenSlipHoldsACardNumber(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(goldenDir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden slips in %s: %v", goldenDir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, run := range digitRun.FindAll(b, -1) {
			if n := len(run); n >= 13 && n <= 19 && luhn(string(run)) {
				t.Errorf("%s holds %d digits that pass the Luhn check", f, n)
			}
		}
	}
}

func TestLuhnFindsTestCardNumbers(t *testing.T) {
	for s, want := range map[string]bool{"6222021234567890128": true, "4761739001010119": true, "6222021234567890127": false} {
		if luhn(s) != want {
			t.Errorf("luhn(%s) = %v", s, !want)
		}
	}
}
