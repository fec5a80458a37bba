// Command kcodegen makes K codes for tests and demonstrations: the typed form
// and the QR form of codes for a bank, from a seed (reproducible) or from
// crypto/rand. With -testdata it writes the project's test set
// (testdata/binding/kcodes.json): the host simulator's valid codes, an
// expired QR, a typo, a code the host never issued and one of a foreign bank.
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
	Name         string `json:"name"`
	Expect       string `json:"expect"` // valid, host-expired, host-unknown, expired, typo, foreign-bank
	Bank         string `json:"bank"`
	Serial       uint32 `json:"serial"`
	DeviceSerial string `json:"device_serial,omitempty"` // the terminal the host simulator binds with it
	Typed        string `json:"typed,omitempty"`
	QR           string `json:"qr,omitempty"`
	Expiry       string `json:"expiry,omitempty"`
	Note         string `json:"note,omitempty"`
}

// TestSet is testdata/binding/kcodes.json.
type TestSet struct {
	Note  string  `json:"note"`
	Codes []Entry `json:"codes"`
}

// hostCodes are the K codes the host simulator's terminals are issued
// (testdata/host/terminals.toml): the test set uses them so that scenarios
// bind against the simulator.
func hostCodes() []hostCode {
	return []hostCode{
		{"Z9222ZB4AU7EY6J5", "KPOS-SIM-0001", time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), "valid", ""},
		{"Z9222ZC3ZQWRCE9F", "KPOS-SIM-0002", time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC), "valid", ""},
		{"Z9222ZDCQP7DCLPD", "KPOS-SIM-0003", time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC), "host-expired",
			"well formed, so the terminal sends it; the host refuses it as expired (its binding code expired on 2020-01-31)"},
	}
}

type hostCode struct {
	code, device string
	expiry       time.Time
	expect, note string
}

// testSet builds the test set: the host simulator's codes, and further codes
// from a fixed seed, so that it is reproducible.
func testSet() (TestSet, error) {
	random := rand.NewChaCha8(seedBytes(2026))
	far := time.Date(2030, 12, 31, 0, 0, 0, 0, time.UTC)
	set := TestSet{Note: "TEST ONLY K codes of the KPOS Test Bank (999), made by firmware/binding/cmd/kcodegen -testdata. " +
		"The valid ones are those the host simulator issues to its terminals (testdata/host/terminals.toml); never use them outside tests."}
	var codes []binding.KCode
	hosts := hostCodes()
	for i, h := range hosts {
		k, err := binding.ParseKCode(h.code)
		if err != nil {
			return set, fmt.Errorf("host code %d: %w", i+1, err)
		}
		codes = append(codes, k)
		e := Entry{
			Name: fmt.Sprintf("valid-%d", i+1), Expect: h.expect, Bank: k.Bank, Serial: k.Serial, DeviceSerial: h.device,
			Typed: k.Grouped(), Note: h.note,
		}
		if h.expect == "valid" {
			e.QR, e.Expiry = binding.EncodeKCodeQR(k, h.expiry), h.expiry.Format("20060102")
		}
		set.Codes = append(set.Codes, e)
	}
	exp := hosts[2]
	set.Codes = append(set.Codes, Entry{
		Name: "expired-qr", Expect: "expired", Bank: codes[2].Bank, Serial: codes[2].Serial, DeviceSerial: exp.device,
		QR: binding.EncodeKCodeQR(codes[2], exp.expiry), Expiry: exp.expiry.Format("20060102"),
		Note: "the QR letter of valid-3, past its expiry: refused before anything is sent",
	})
	set.Codes = append(set.Codes, Entry{
		Name: "typo", Expect: "typo", Bank: codes[0].Bank, Serial: codes[0].Serial, DeviceSerial: hosts[0].device,
		Typed: typo(codes[0].Grouped(), 11),
		Note:  "valid-1 with its 10th character mistyped: the check character catches it",
	})
	unknown, err := binding.GenerateKCode(binding.TestBank, 1999, random)
	if err != nil {
		return set, err
	}
	set.Codes = append(set.Codes, Entry{
		Name: "unknown", Expect: "host-unknown", Bank: unknown.Bank, Serial: unknown.Serial,
		Typed: unknown.Grouped(), QR: binding.EncodeKCodeQR(unknown, far), Expiry: far.Format("20060102"),
		Note: "well formed, but the bank never issued it: the host refuses it",
	})
	foreign, err := binding.GenerateKCode("105", 1, random)
	if err != nil {
		return set, err
	}
	set.Codes = append(set.Codes, Entry{
		Name: "foreign-bank", Expect: "foreign-bank", Bank: foreign.Bank, Serial: foreign.Serial,
		Typed: foreign.Grouped(), QR: binding.EncodeKCodeQR(foreign, far), Expiry: far.Format("20060102"),
		Note: "a well-formed code of bank 105, which a terminal of the test bank refuses before sending",
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
