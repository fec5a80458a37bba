// Package leak looks through the artefacts of a test run (logs, console
// transcripts, receipts, journal dumps, host records) for secrets in the
// clear: a test card's full PAN, track 2 data, a PIN or a clear PIN block,
// and the test keys. It reports where a secret was found and what kind it
// was, never the secret itself.
//
// It knows the secrets it is given (Secrets) and the shapes of card data;
// it knows nothing of the firmware or of how the artefacts were made.
package leak

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"kpos/firmware/pinblock"
	"kpos/hal"
)

// Card is a test card whose data must never appear in the clear.
type Card struct {
	Name string // profile name, used in reports
	PAN  string
	PIN  string
}

// Key is a test key (hex) that must never appear in the clear.
type Key struct {
	Name string
	Hex  string
}

// Secrets are what a scan looks for.
type Secrets struct {
	Cards []Card
	Keys  []Key
}

// Finding is one secret found in an artefact. What names the kind of
// secret and whose it is ("PAN of unionpay-debit"); it never holds the
// secret's value.
type Finding struct {
	File   string // path relative to the scanned root ("" for a buffer)
	Offset int
	What   string
}

func (f Finding) String() string {
	return fmt.Sprintf("%s@%d: %s", f.File, f.Offset, f.What)
}

// needle is one byte pattern and what it means.
type needle struct {
	b    []byte
	what string
	fold bool // match regardless of case (b is lower case)
}

// Scanner holds the patterns built from Secrets.
type Scanner struct {
	needles []needle
	bins    map[string]string // first six digits of a test PAN → card name
}

// ErrNoSecrets is returned by New when there is nothing to look for, which
// would make every scan pass.
var ErrNoSecrets = errors.New("leak: no secrets to look for")

// New builds a scanner. A PAN is looked for as digits (which also covers
// its BCD form in a hex dump) and as packed BCD bytes; track 2 as the PAN
// followed by a separator; a PIN as its ISO 9564 format 0 PIN field, the
// format 0 clear PIN block (hex and raw) and as a value labelled "pin=" or
// "pin:"; a key as hex in either case and as raw bytes.
func New(s Secrets) (*Scanner, error) {
	if len(s.Cards) == 0 && len(s.Keys) == 0 {
		return nil, ErrNoSecrets
	}
	sc := &Scanner{bins: map[string]string{}}
	for _, c := range s.Cards {
		if len(c.PAN) < 13 || len(c.PAN) > 19 || !digits(c.PAN) {
			return nil, fmt.Errorf("leak: card %s: the PAN is not 13 to 19 digits", c.Name)
		}
		sc.bins[c.PAN[:6]] = c.Name
		sc.add([]byte(c.PAN), "PAN of "+c.Name)
		if len(c.PAN)%2 == 0 {
			bcd, _ := hex.DecodeString(c.PAN)
			sc.add(bcd, "PAN of "+c.Name+" (BCD)")
		} else {
			// Packed left-justified with an F filler, or right-justified
			// with a leading zero, as ISO 8583 LLVAR numerics are.
			l, _ := hex.DecodeString(c.PAN + "F")
			r, _ := hex.DecodeString("0" + c.PAN)
			sc.add(l, "PAN of "+c.Name+" (BCD)")
			sc.add(r, "PAN of "+c.Name+" (BCD)")
		}
		if c.PIN == "" {
			continue
		}
		if len(c.PIN) < 4 || len(c.PIN) > 12 || !digits(c.PIN) {
			return nil, fmt.Errorf("leak: card %s: the PIN is not 4 to 12 digits", c.Name)
		}
		field := fmt.Sprintf("0%X%s", len(c.PIN), c.PIN)
		field += strings.Repeat("F", 16-len(field))
		sc.addHex(field, "PIN field (format 0) of "+c.Name)
		if blk, err := pinblock.Format0([]byte(c.PIN), c.PAN); err == nil {
			sc.add(blk[:], "clear PIN block of "+c.Name)
			sc.addHex(hex.EncodeToString(blk[:]), "clear PIN block of "+c.Name)
		}
		for _, label := range []string{"pin=", "pin: ", "pin:", "\"pin\":\"", "pin=\""} {
			sc.needles = append(sc.needles, needle{b: []byte(label + c.PIN), what: "PIN of " + c.Name, fold: true})
		}
	}
	for _, k := range s.Keys {
		raw, err := hex.DecodeString(k.Hex)
		if err != nil || len(raw) < 8 {
			return nil, fmt.Errorf("leak: key %s: not hex of at least 8 bytes", k.Name)
		}
		sc.add(raw, "key "+k.Name)
		sc.addHex(k.Hex, "key "+k.Name)
	}
	return sc, nil
}

func (s *Scanner) add(b []byte, what string) {
	s.needles = append(s.needles, needle{b: b, what: what})
}

// addHex adds the upper- and lower-case spellings of a hex string.
func (s *Scanner) addHex(h, what string) {
	s.add([]byte(strings.ToUpper(h)), what)
	if l := strings.ToLower(h); l != strings.ToUpper(h) {
		s.add([]byte(l), what)
	}
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// digitRun is a maximal run of 13 to 19 digits, maybe followed by a track 2
// separator and four more digits (the expiry).
var digitRun = regexp.MustCompile(`[0-9]{13,19}([=D][0-9]{4})?`)

// Scan looks through b and returns what it found, in order of offset.
// Besides the known secrets it flags any Luhn-valid 13 to 19 digit run that
// starts with a test card's BIN (another card of a test issuer), and any
// such run followed by "=YYMM" or "DYYMM" as track 2 data.
func (s *Scanner) Scan(b []byte) []Finding {
	var out []Finding
	lower := bytes.ToLower(b)
	for _, n := range s.needles {
		in := b
		if n.fold {
			in = lower
		}
		for off := 0; ; {
			i := bytes.Index(in[off:], n.b)
			if i < 0 {
				break
			}
			out = append(out, Finding{Offset: off + i, What: n.what})
			off += i + 1
		}
	}
	for _, loc := range digitRun.FindAllSubmatchIndex(b, -1) {
		start, end := loc[0], loc[1]
		if loc[2] >= 0 {
			end = loc[2]
		}
		// A run flanked by more digits is part of a longer number.
		if start > 0 && isDigit(b[start-1]) || loc[1] < len(b) && isDigit(b[loc[1]]) && loc[2] < 0 {
			continue
		}
		run := string(b[start:end])
		name, test := s.bins[run[:6]]
		if !test || !hal.LuhnValid(run) {
			continue
		}
		if loc[2] >= 0 {
			out = append(out, Finding{Offset: start, What: "track 2 data of a " + name + " BIN"})
		} else {
			out = append(out, Finding{Offset: start, What: "full PAN with the BIN of " + name})
		}
	}
	for _, marker := range []string{"PRIVATE KEY-----", "BEGIN RSA PRIVATE"} {
		for off := 0; ; {
			i := bytes.Index(b[off:], []byte(marker))
			if i < 0 {
				break
			}
			out = append(out, Finding{Offset: off + i, What: "private key (PEM)"})
			off += i + 1
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return dedupe(out)
}

// ScanSparse is Scan of a file that may be mostly empty pages (a database:
// bbolt sizes journal.db at 8 MiB from the start): pages of zero bytes are
// skipped, and each stretch between them is scanned with a margin of the
// zeros around it, so that a secret reaching into one would still be found
// whole. Offsets are those of b.
func (s *Scanner) ScanSparse(b []byte) []Finding {
	const page, margin = 4096, 512
	if len(b) < 4*page {
		return s.Scan(b)
	}
	var zero [page]byte
	var out []Finding
	start := -1
	flush := func(end int) {
		lo, hi := max(0, start-margin), min(len(b), end+margin)
		for _, f := range s.Scan(b[lo:hi]) {
			f.Offset += lo
			out = append(out, f)
		}
		start = -1
	}
	for off := 0; off < len(b); off += page {
		end := min(off+page, len(b))
		if bytes.Equal(b[off:end], zero[:end-off]) {
			if start >= 0 {
				flush(off)
			}
			continue
		}
		if start < 0 {
			start = off
		}
	}
	if start >= 0 {
		flush(len(b))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	return dedupe(out)
}

// dedupe drops a finding at the same offset as an earlier one (a PAN found
// both as a known needle and by shape).
func dedupe(fs []Finding) []Finding {
	var out []Finding
	seen := map[int]bool{}
	for _, f := range fs {
		if seen[f.Offset] {
			continue
		}
		seen[f.Offset] = true
		out = append(out, f)
	}
	return out
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SkipFile reports whether a file is the device key, the one file that is
// a secret by design. The databases (journal.db, keys.db) are read raw
// like any other artefact: what they seal must not be found in them.
func SkipFile(name string) bool {
	return filepath.Base(name) == "device.key"
}

// ScanDir scans every regular file under root except the device key
// and those skip names (by path relative to root; skip may be nil), and
// returns the findings with File set relative to root, and how many files
// were read.
func (s *Scanner) ScanDir(root string, skip func(rel string) bool) ([]Finding, int, error) {
	var out []Finding
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || SkipFile(path) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, f := range s.ScanSparse(b) {
			f.File = rel
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return out, files, fmt.Errorf("leak: %w", err)
	}
	return out, files, nil
}
