package binding

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTestDataCodes checks every code in testdata/binding/kcodes.json against
// what its entry says a terminal of the test bank does with it.
func TestTestDataCodes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "binding", "kcodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Codes []struct {
			Name, Expect, Bank, Typed, QR string
			Serial                        uint32
		}
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	seen := map[string]int{}
	for _, c := range set.Codes {
		seen[c.Expect]++
		t.Run(c.Name, func(t *testing.T) {
			r := newRig(t)
			r.clock.now = now
			var errs []error
			if c.Typed != "" {
				k, err := ParseKCode(c.Typed)
				if err == nil && (k.Bank != c.Bank || k.Serial != c.Serial) {
					t.Errorf("typed form is bank %s serial %d", k.Bank, k.Serial)
				}
				if err == nil {
					r.host.codes[k.Text()] = true // the host simulator accepts it
				}
				_, err = r.b.EnterTyped(context.Background(), c.Typed)
				errs = append(errs, err)
				r.b.Cancel()
			}
			if c.QR != "" {
				_, err := r.b.EnterScanned(context.Background(), c.QR)
				errs = append(errs, err)
				r.b.Cancel()
			}
			if len(errs) == 0 {
				t.Fatal("entry with neither form")
			}
			for _, err := range errs {
				var want error
				switch c.Expect {
				case "valid", "host-expired", "host-unknown":
					want = nil // well formed: the terminal sends it, the host decides
				case "expired":
					want = ErrExpired
				case "typo":
					want = ErrKCodeCheck
				case "foreign-bank":
					want = ErrForeignBank
				default:
					t.Fatalf("unknown expectation %q", c.Expect)
				}
				if !errors.Is(err, want) {
					t.Errorf("err = %v, want %v", err, want)
				}
			}
		})
	}
	if seen["valid"]+seen["host-expired"] != 3 || seen["expired"] != 1 || seen["typo"] != 1 {
		t.Errorf("test set has %v", seen)
	}
}
