// Command kcodegen makes K codes for tests and demonstrations: the typed form
// and the QR form of codes for a bank, from a seed (reproducible) or from
// crypto/rand. With -testdata it writes the project's test set
// (testdata/binding/kcodes.json): valid codes, an expired QR, a typo and a
// code of a foreign bank.
//
// It must not be used to issue production codes: a bank issues those from
// its own systems.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"kpos/firmware/binding"
)

func main() {
	bank := flag.String("bank", binding.TestBank, "three-digit bank code")
	serial := flag.Uint("serial", 1, "serial number of the first code")
	n := flag.Int("n", 1, "how many codes")
	expiry := flag.String("expiry", time.Now().AddDate(0, 1, 0).Format("20060102"), "last day of the QR form, YYYYMMDD")
	seed := flag.Uint64("seed", 0, "seed for reproducible codes; 0 takes crypto/rand")
	testdata := flag.Bool("testdata", false, "write the project's test set as JSON and exit")
	flag.Parse()
	var err error
	if *testdata {
		err = writeTestSet(os.Stdout)
	} else {
		err = generate(os.Stdout, *bank, uint32(*serial), *n, *expiry, *seed)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kcodegen:", err)
		os.Exit(1)
	}
}

func generate(w io.Writer, bank string, serial uint32, n int, expiry string, seed uint64) error {
	exp, err := time.Parse("20060102", expiry)
	if err != nil {
		return fmt.Errorf("expiry %q is not YYYYMMDD", expiry)
	}
	var random io.Reader // nil: crypto/rand
	if seed != 0 {
		random = rand.NewChaCha8(seedBytes(seed))
	}
	for i := 0; i < n; i++ {
		k, err := binding.GenerateKCode(bank, serial+uint32(i), random)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "bank %s serial %d\ntyped: %s\nqr:    %s\n\n", k.Bank, k.Serial, k.Grouped(), binding.EncodeKCodeQR(k, exp)); err != nil {
			return err
		}
	}
	return nil
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := 0; i < 8; i++ {
		s[i] = byte(seed >> (8 * i))
	}
	copy(s[8:], "kcodegen TEST ONLY seed")
	return s
}

// Entry is one code of the test set.
type Entry struct {
	Name   string `json:"name"`
	Expect string `json:"expect"` // valid, expired, typo, foreign-bank
	Bank   string `json:"bank"`
	Serial uint32 `json:"serial"`
	Typed  string `json:"typed,omitempty"`
	QR     string `json:"qr,omitempty"`
	Expiry string `json:"expiry,omitempty"`
	Note   string `json:"note,omitempty"`
}

// TestSet is testdata/binding/kcodes.json.
type TestSet struct {
	Note  string  `json:"note"`
	Codes []Entry `json:"codes"`
}

// testSet builds the test set from a fixed seed, so that it is reproducible.
func testSet() (TestSet, error) {
	random := rand.NewChaCha8(seedBytes(2026))
	far := time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)
	past := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	set := TestSet{Note: "TEST ONLY K codes of the KPOS Test Bank (999), made by firmware/binding/cmd/kcodegen -testdata. " +
		"The host simulator accepts the valid ones; never use them outside tests."}
	var first binding.KCode
	for i := uint32(0); i < 3; i++ {
		k, err := binding.GenerateKCode(binding.TestBank, 1001+i, random)
		if err != nil {
			return set, err
		}
		if i == 0 {
			first = k
		}
		set.Codes = append(set.Codes, Entry{
			Name: fmt.Sprintf("valid-%d", i+1), Expect: "valid", Bank: k.Bank, Serial: k.Serial,
			Typed: k.Grouped(), QR: binding.EncodeKCodeQR(k, far), Expiry: far.Format("20060102"),
		})
	}
	exp, err := binding.GenerateKCode(binding.TestBank, 1004, random)
	if err != nil {
		return set, err
	}
	set.Codes = append(set.Codes, Entry{
		Name: "expired-qr", Expect: "expired", Bank: exp.Bank, Serial: exp.Serial,
		QR: binding.EncodeKCodeQR(exp, past), Expiry: past.Format("20060102"),
		Note: "the code itself is well formed; its QR letter expired",
	})
	set.Codes = append(set.Codes, Entry{
		Name: "typo", Expect: "typo", Bank: first.Bank, Serial: first.Serial, Typed: typo(first.Grouped(), 11),
		Note: "valid-1 with its 10th code character mistyped: the check character catches it",
	})
	foreign, err := binding.GenerateKCode("105", 1, random)
	if err != nil {
		return set, err
	}
	set.Codes = append(set.Codes, Entry{
		Name: "foreign-bank", Expect: "foreign-bank", Bank: foreign.Bank, Serial: foreign.Serial,
		Typed: foreign.Grouped(), QR: binding.EncodeKCodeQR(foreign, far), Expiry: far.Format("20060102"),
		Note: "a well-formed code of bank 105, which a terminal of the test bank refuses",
	})
	return set, nil
}

// typo replaces the character at index i of a grouped code with the next
// one in the alphabet.
func typo(grouped string, i int) string {
	b := []byte(grouped)
	b[i] = binding.Alphabet[(strings.IndexByte(binding.Alphabet, b[i])+1)%len(binding.Alphabet)]
	return string(b)
}

func writeTestSet(w io.Writer) error {
	set, err := testSet()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(set)
}
