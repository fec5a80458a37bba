// Package emvconfig is the EMV kernel's configuration: the terminal's own
// data, the applications it accepts with their action codes and limits, the
// CA public keys and the exception file, read from TOML parameter files and
// joined with what the acquirer downloaded (CA keys and IC card
// parameters), kept durably beside them.
//
// It knows nothing of cards or transactions: the kernel (package emv) runs
// with the Config it returns.
package emvconfig

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/tlv"
)

// KernelKind says which path an application runs on.
type KernelKind int

// The kernel kinds. Contact applications always run the contact path; the
// kind matters for contactless.
const (
	KindContact    KernelKind = iota // EMV contact only
	KindQPBOC                        // UnionPay qPBOC
	KindVisa                         // Visa qVSDC-style
	KindMastercard                   // Mastercard M/Chip-style
)

// String names the kernel kind as the parameter files do.
func (k KernelKind) String() string {
	switch k {
	case KindContact:
		return "contact"
	case KindQPBOC:
		return "qpboc"
	case KindVisa:
		return "visa"
	case KindMastercard:
		return "mastercard"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// TerminalConfig is the terminal's own EMV data.
type TerminalConfig struct {
	// ODAAlgorithms picks RSA, SM2 or both for offline data authentication
	// (algs.go); the zero value is both.
	ODAAlgorithms          ODAAlgorithms
	Capabilities           [3]byte // 9F33
	AdditionalCapabilities [5]byte // 9F40
	Type                   byte    // 9F35, e.g. 0x22 attended, online with offline capability
	Country                uint16  // 9F1A
	Currency               uint16  // 5F2A
	CurrencyExponent       byte    // 5F36
	IFDSerial              string  // 9F1E, 8 characters
	MerchantCategory       uint16  // 9F15
	TerminalID             string  // 9F1C, 8 characters, optional
	MerchantID             string  // 9F16, 15 characters, optional
	POSEntryMode           byte    // 9F39 for contact, 05; contactless uses 07
}

// Contactless holds an application's contactless limits, in minor units.
type Contactless struct {
	Enabled    bool
	TTQ        [4]byte // 9F66 as configured, before per-transaction bits
	CVMLimit   int64   // at or above: cardholder verification required
	TxnLimit   int64   // above: not contactless, insert the card
	FloorLimit int64   // above: online cryptogram required
	// CVMCapability is 9F33 byte 2 above the CVM limit (Mastercard path);
	// below it the terminal offers "no CVM" only.
	CVMCapability byte
}

// AIDConfig is one application the terminal accepts.
type AIDConfig struct {
	AID              []byte
	Label            string
	Partial          bool      // partial-name selection allowed
	Versions         [][2]byte // 9F09, the first one is sent to the card
	TACDefault       [5]byte
	TACDenial        [5]byte
	TACOnline        [5]byte
	FloorLimit       int64 // minor units
	RandomThreshold  int64
	RandomTarget     int // percent
	RandomMax        int // percent
	DefaultDDOL      tlv.DOL
	DefaultTDOL      tlv.DOL
	Kind             KernelKind
	Contactless      Contactless
	ConfirmationNone bool // never ask the cardholder to confirm (unattended)
}

// Config is everything the kernel needs: terminal data, accepted
// applications and CA public keys.
type Config struct {
	Terminal TerminalConfig
	AIDs     []AIDConfig
	CAPKs    *capk.Store
	// Exceptions is the terminal exception file (hot list): SHA-256 of
	// PAN digits, so the file never holds a PAN in the clear.
	Exceptions map[[32]byte]bool
}

// fileConfig is the TOML form of a parameter file. Every file may hold any
// of its sections; LoadConfig merges them.
type fileConfig struct {
	Terminal  *terminalFile `toml:"terminal"`
	AID       []aidFile     `toml:"aid"`
	CAPK      []capkEntry   `toml:"capk"`
	Exception []struct {
		PANSHA256 string `toml:"pan_sha256"`
	} `toml:"exception"`
}

// terminalFile is the [terminal] table.
type terminalFile struct {
	Capabilities           string `toml:"capabilities"`
	AdditionalCapabilities string `toml:"additional_capabilities"`
	Type                   string `toml:"type"`
	Country                uint16 `toml:"country"`
	Currency               uint16 `toml:"currency"`
	CurrencyExponent       byte   `toml:"currency_exponent"`
	IFDSerial              string `toml:"ifd_serial"`
	MerchantCategory       uint16 `toml:"merchant_category"`
	TerminalID             string `toml:"terminal_id"`
	MerchantID             string `toml:"merchant_id"`
}

// aidFile is one [[aid]] entry.
type aidFile struct {
	AID             string           `toml:"aid"`
	Label           string           `toml:"label"`
	Partial         bool             `toml:"partial"`
	Versions        []string         `toml:"app_versions"`
	TACDefault      string           `toml:"tac_default"`
	TACDenial       string           `toml:"tac_denial"`
	TACOnline       string           `toml:"tac_online"`
	FloorLimit      int64            `toml:"floor_limit"`
	RandomThreshold int64            `toml:"random_threshold"`
	RandomTarget    int              `toml:"random_target_percent"`
	RandomMax       int              `toml:"random_max_percent"`
	DDOL            string           `toml:"default_ddol"`
	TDOL            string           `toml:"default_tdol"`
	Kernel          string           `toml:"kernel"`
	Contactless     *contactlessFile `toml:"contactless"`
}

// contactlessFile is an [aid.contactless] table.
type contactlessFile struct {
	TTQ           string `toml:"ttq"`
	CVMLimit      int64  `toml:"cvm_limit"`
	TxnLimit      int64  `toml:"txn_limit"`
	FloorLimit    int64  `toml:"floor_limit"`
	CVMCapability string `toml:"cvm_capability"`
}

// LoadConfig reads TOML parameter files and merges them. A path that is a
// directory stands for every *.toml file in it, in name order. Exactly one
// file must hold the [terminal] table; [[aid]], [[capk]] and [[exception]]
// entries may be spread over several files. CA public keys are checked (SHA-1 checksum)
// as they load.
func LoadConfig(paths ...string) (Config, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return Config{}, fmt.Errorf("emv: config: %w", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(filepath.Join(p, "*.toml"))
		if err != nil {
			return Config{}, fmt.Errorf("emv: config: %w", err)
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	cfg := Config{CAPKs: capk.NewStore()}
	haveTerminal := false
	for _, f := range files {
		var fc fileConfig
		md, err := toml.DecodeFile(f, &fc)
		if err != nil {
			return Config{}, fmt.Errorf("emv: config %s: %w", filepath.Base(f), err)
		}
		if und := md.Undecoded(); len(und) > 0 {
			return Config{}, fmt.Errorf("emv: config %s: unknown key %s", filepath.Base(f), und[0])
		}
		if err := cfg.merge(&fc, &haveTerminal); err != nil {
			return Config{}, fmt.Errorf("emv: config %s: %w", filepath.Base(f), err)
		}
	}
	if !haveTerminal {
		return Config{}, fmt.Errorf("emv: config: no [terminal] table in %d files", len(files))
	}
	if len(cfg.AIDs) == 0 {
		return Config{}, fmt.Errorf("emv: config: no [[aid]] entries")
	}
	return cfg, nil
}

// merge adds one file's sections to c.
func (c *Config) merge(fc *fileConfig, haveTerminal *bool) error {
	if t := fc.Terminal; t != nil {
		if *haveTerminal {
			return fmt.Errorf("second [terminal] table")
		}
		*haveTerminal = true
		if err := t.into(&c.Terminal); err != nil {
			return err
		}
	}
	for i, a := range fc.AID {
		ac, err := a.config(i)
		if err != nil {
			return err
		}
		c.AIDs = append(c.AIDs, ac)
	}
	for i, e := range fc.Exception {
		var h [32]byte
		if err := hexInto(h[:], e.PANSHA256, fmt.Sprintf("exception %d pan_sha256", i)); err != nil {
			return err
		}
		if c.Exceptions == nil {
			c.Exceptions = map[[32]byte]bool{}
		}
		c.Exceptions[h] = true
	}
	for _, e := range fc.CAPK {
		k, err := e.key()
		if err != nil {
			return err
		}
		if err := c.CAPKs.Add(k); err != nil {
			return err
		}
	}
	return nil
}

// hexField is one fixed-length hex value of a table: where it goes, what
// the file says, and its key for errors.
type hexField struct {
	dst  []byte
	s    string
	name string
}

// hexFields fills each field, stopping at the first bad one.
func hexFields(fields ...hexField) error {
	for _, f := range fields {
		if err := hexInto(f.dst, f.s, f.name); err != nil {
			return err
		}
	}
	return nil
}

// into checks the [terminal] table and fills tc with it.
func (t *terminalFile) into(tc *TerminalConfig) error {
	var typ [1]byte
	if err := hexFields(
		hexField{tc.Capabilities[:], t.Capabilities, "capabilities"},
		hexField{tc.AdditionalCapabilities[:], t.AdditionalCapabilities, "additional_capabilities"},
		hexField{typ[:], t.Type, "type"},
	); err != nil {
		return err
	}
	tc.Type = typ[0]
	tc.Country, tc.Currency, tc.CurrencyExponent = t.Country, t.Currency, t.CurrencyExponent
	if t.Country == 0 || t.Country > 999 || t.Currency == 0 || t.Currency > 999 {
		return fmt.Errorf("country and currency must be ISO numeric codes")
	}
	if len(t.IFDSerial) != 8 {
		return fmt.Errorf("ifd_serial must be 8 characters")
	}
	tc.IFDSerial, tc.MerchantCategory = t.IFDSerial, t.MerchantCategory
	tc.TerminalID, tc.MerchantID = t.TerminalID, t.MerchantID
	tc.POSEntryMode = 0x05
	return nil
}

// kernelKinds are the kernel = values of an [[aid]] entry.
var kernelKinds = map[string]KernelKind{
	"": KindContact, "contact": KindContact, "qpboc": KindQPBOC, "visa": KindVisa, "mastercard": KindMastercard,
}

// config checks the i-th [[aid]] entry and returns it as an AIDConfig.
func (a *aidFile) config(i int) (AIDConfig, error) {
	var ac AIDConfig
	aid, err := hex.DecodeString(a.AID)
	if err != nil || len(aid) < 5 || len(aid) > 16 {
		return ac, fmt.Errorf("aid %d: AID must be 5 to 16 bytes of hex", i)
	}
	ac.AID, ac.Label, ac.Partial = aid, a.Label, a.Partial
	if err := a.fill(&ac); err != nil {
		return ac, fmt.Errorf("aid %X: %w", aid, err)
	}
	return ac, nil
}

// fill sets everything of ac but its AID, label and partial flag.
func (a *aidFile) fill(ac *AIDConfig) error {
	for _, v := range a.Versions {
		var vv [2]byte
		if err := hexInto(vv[:], v, "app_versions"); err != nil {
			return err
		}
		ac.Versions = append(ac.Versions, vv)
	}
	if len(ac.Versions) == 0 {
		return fmt.Errorf("app_versions missing")
	}
	if err := hexFields(
		hexField{ac.TACDefault[:], a.TACDefault, "tac_default"},
		hexField{ac.TACDenial[:], a.TACDenial, "tac_denial"},
		hexField{ac.TACOnline[:], a.TACOnline, "tac_online"},
	); err != nil {
		return err
	}
	ac.FloorLimit, ac.RandomThreshold = a.FloorLimit, a.RandomThreshold
	ac.RandomTarget, ac.RandomMax = a.RandomTarget, a.RandomMax
	if a.RandomTarget < 0 || a.RandomTarget > 99 || a.RandomMax < a.RandomTarget || a.RandomMax > 99 || a.RandomThreshold > a.FloorLimit && a.FloorLimit > 0 {
		return fmt.Errorf("random selection parameters out of range")
	}
	var err error
	if ac.DefaultDDOL, err = dolFromHex(a.DDOL); err != nil {
		return fmt.Errorf("default_ddol: %w", err)
	}
	if ac.DefaultTDOL, err = dolFromHex(a.TDOL); err != nil {
		return fmt.Errorf("default_tdol: %w", err)
	}
	kind, ok := kernelKinds[strings.ToLower(a.Kernel)]
	if !ok {
		return fmt.Errorf("unknown kernel %q", a.Kernel)
	}
	ac.Kind = kind
	if a.Contactless != nil {
		return a.Contactless.into(ac)
	}
	return nil
}

// into sets ac's contactless limits.
func (cl *contactlessFile) into(ac *AIDConfig) error {
	if ac.Kind == KindContact {
		return fmt.Errorf("contactless limits need a contactless kernel")
	}
	ac.Contactless.Enabled = true
	if err := hexInto(ac.Contactless.TTQ[:], cl.TTQ, "ttq"); err != nil {
		return err
	}
	ac.Contactless.CVMLimit, ac.Contactless.TxnLimit, ac.Contactless.FloorLimit = cl.CVMLimit, cl.TxnLimit, cl.FloorLimit
	if cl.CVMCapability != "" {
		var b [1]byte
		if err := hexInto(b[:], cl.CVMCapability, "cvm_capability"); err != nil {
			return err
		}
		ac.Contactless.CVMCapability = b[0]
	}
	return nil
}

func hexInto(dst []byte, s, name string) error {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil || len(b) != len(dst) {
		return fmt.Errorf("%s must be %d bytes of hex", name, len(dst))
	}
	copy(dst, b)
	return nil
}

func dolFromHex(s string) (tlv.DOL, error) {
	if s == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		return nil, err
	}
	return tlv.ParseDOL(b)
}
