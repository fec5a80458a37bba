package cardsim

import (
	"bytes"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/hal"
)

// ErrProfile reports a profile file that cannot be used; the message names
// the field.
var ErrProfile = errors.New("cardsim: bad profile")

// Profile is a card personalisation: everything the simulated card knows.
// It is read-only once loaded; a Card keeps its changing state (ATC, PIN
// tries, blocks) to itself.
type Profile struct {
	Name       string
	PAN        hal.PAN
	PSN        string // two digits, "" when the card has none
	Expiry     string // YYMMDD
	Effective  string // YYMMDD
	Cardholder string
	// ServiceCode is the three-digit magnetic stripe service code.
	ServiceCode string
	Interfaces  []hal.CardInterface
	ATR         []byte // contact ATR
	ATRCL       []byte // contactless ATR (PC/SC form)
	PIN         string // offline PIN; "" when the card has none
	PINTries    int
	ATC         uint16
	LogFormat   []byte // 9F4F, nil when the card keeps no log

	issuerMK  []byte // issuer master key for AC (test key)
	keys      *cardKeys
	Behaviour Behaviour
	Apps      []*App
	track     *hal.Track
}

// Behaviour switches change how the card decides.
type Behaviour struct {
	Decline            bool   `toml:"decline"`              // AAC on every GENERATE AC
	Online             bool   `toml:"online"`               // card risk management asks for online: ARQC where TC was asked
	DeclineAfterOnline bool   `toml:"decline_after_online"` // AAC at the second GENERATE AC even after approval
	IssuerAuthRequired bool   `toml:"issuer_auth_required"` // AAC at the second GENERATE AC unless the ARPC verified
	ScriptStatus       string `toml:"script_status"`        // SW for issuer script commands, e.g. "6A80"; "" performs them
	Blocked            bool   `toml:"blocked"`              // every application answers SELECT with 6283
	CardBlocked        bool   `toml:"card_blocked"`         // SELECT answers 6A81
	CDCVM              bool   `toml:"cdcvm"`                // contactless: the phone verified the cardholder
	SeePhone           bool   `toml:"see_phone"`            // contactless: the first GPO answers 6986 (see phone), later ones CDCVM done
	OfflineApprove     bool   `toml:"offline_approve"`      // contactless: approve offline (TC) up to OfflineLimit when the reader allows
	OfflineLimit       int64  `toml:"offline_limit"`        // minor units
}

// App is one payment application on the card.
type App struct {
	AID      []byte
	Label    string
	Priority int
	CVN      byte              // the cryptogram version number as the IAD carries it
	Version  emvcrypto.Version // told by the AID's scheme and the CVN
	IAD      []byte            // 9F10 as personalised; the CVR (and counters) inside are updated per transaction
	Format   int               // GENERATE AC response format, 1 (tag 80) or 2 (tag 77)
	FCI      []byte            // extra FCI proprietary data (inside A5), encoded
	Contact  *Path
	CL       *Path // contactless path, nil when the application is contact only
	Records  map[recordID][]byte
	CDOL1    tlv.DOL
	CDOL2    tlv.DOL
	DDOL     tlv.DOL
	// CL9F69 is the card authentication related data for fDDA.
	CL9F69 []byte

	iccMK []byte // ICC master key for AC, derived as the version says
}

// Path is what an application shows on one interface.
type Path struct {
	PDOL    tlv.DOL
	rawPDOL []byte
	AIP     [2]byte
	AFL     []byte
	Kernel  string // "", "qpboc", "qvsdc" or "mchip"
	CTQ     []byte
}

type recordID struct{ sfi, rec byte }

// Track returns the magnetic stripe of the card (tracks 1 and 2 built from
// PAN, expiry and service code).
func (p *Profile) Track() *hal.Track { return p.track }

// HasChip reports whether the card has EMV applications.
func (p *Profile) HasChip() bool { return len(p.Apps) > 0 }

// Supports reports whether the card works on interface i.
func (p *Profile) Supports(i hal.CardInterface) bool {
	for _, x := range p.Interfaces {
		if x == i {
			return true
		}
	}
	return false
}

// The TOML form of a profile.
type profileFile struct {
	Name            string     `toml:"name"`
	PAN             string     `toml:"pan"`
	PSN             string     `toml:"psn"`
	Expiry          string     `toml:"expiry"`
	Effective       string     `toml:"effective"`
	Cardholder      string     `toml:"cardholder"`
	ServiceCode     string     `toml:"service_code"`
	Interfaces      []string   `toml:"interfaces"`
	ATR             string     `toml:"atr"`
	ATRContactless  string     `toml:"atr_contactless"`
	IssuerMasterKey string     `toml:"issuer_master_key"`
	PIN             string     `toml:"pin"`
	PINTries        int        `toml:"pin_tries"`
	ATC             int        `toml:"atc"`
	LogFormat       string     `toml:"log_format"`
	Keys            *keysFile  `toml:"keys"`
	Behaviour       Behaviour  `toml:"behaviour"`
	Apps            []appFile  `toml:"app"`
	Track           *trackFile `toml:"magstripe"`
}

type keysFile struct {
	CA         string `toml:"ca"`          // CA private key file (TEST ONLY)
	CAIndex    string `toml:"ca_index"`    // 8F
	Issuer     string `toml:"issuer"`      // issuer private key file (TEST ONLY)
	ICC        string `toml:"icc"`         // ICC private key file (TEST ONLY), for DDA/CDA/fDDA
	CertExpiry string `toml:"cert_expiry"` // MMYY of both certificates
	DAC        string `toml:"dac"`         // data authentication code in the SSAD
	Algorithm  string `toml:"algorithm"`   // "rsa" (default) or "sm2": PBOC 3.0 SM certificates (keys_sm.go)
	Tamper     string `toml:"tamper"`      // SM only: "icc_cert" flips a bit of the ICC key in its certificate
}

type appFile struct {
	AID         string       `toml:"aid"`
	Label       string       `toml:"label"`
	Priority    int          `toml:"priority"`
	CVN         int          `toml:"cvn"`
	IAD         string       `toml:"iad"`
	Format      int          `toml:"format"`
	FCI         []string     `toml:"fci"`
	PDOL        string       `toml:"pdol"`
	AIP         string       `toml:"aip"`
	AFL         string       `toml:"afl"`
	Contactless *pathFile    `toml:"contactless"`
	Records     []recordFile `toml:"record"`
}

type pathFile struct {
	Kernel string `toml:"kernel"`
	PDOL   string `toml:"pdol"`
	AIP    string `toml:"aip"`
	AFL    string `toml:"afl"`
	CTQ    string `toml:"ctq"`
}

type recordFile struct {
	SFI  int      `toml:"sfi"`
	Rec  int      `toml:"rec"`
	Tags []string `toml:"tags"`
}

type trackFile struct {
	Discretionary string `toml:"discretionary"`
}

// LoadProfile reads a profile file. Key files it names are read relative to
// the profile's directory.
func LoadProfile(path string) (*Profile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cardsim: %w", err)
	}
	var f profileFile
	md, err := toml.Decode(string(raw), &f)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, filepath.Base(path), err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%w: %s: unknown field %s", ErrProfile, filepath.Base(path), und[0])
	}
	p, err := buildProfile(&f, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, filepath.Base(path), err)
	}
	return p, nil
}

func unhex(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		return nil, fmt.Errorf("%s: not hex", field)
	}
	return b, nil
}

func digitsOnly(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func buildProfile(f *profileFile, dir string) (*Profile, error) {
	p := &Profile{
		Name: f.Name, PSN: f.PSN, Expiry: f.Expiry, Effective: f.Effective,
		Cardholder: f.Cardholder, ServiceCode: f.ServiceCode, PIN: f.PIN,
		PINTries: f.PINTries, Behaviour: f.Behaviour,
	}
	var err error
	if p.PAN, err = hal.ParsePAN(f.PAN); err != nil {
		return nil, errors.New("pan: must be 12 to 19 digits")
	}
	if err := p.checkNumbers(); err != nil {
		return nil, err
	}
	if err := p.checkPIN(); err != nil {
		return nil, err
	}
	if f.ATC < 0 || f.ATC > 0xFFFE {
		return nil, errors.New("atc: out of range")
	}
	p.ATC = uint16(f.ATC)
	if p.Interfaces, err = parseInterfaces(f.Interfaces); err != nil {
		return nil, err
	}
	if err := p.readBytes(f); err != nil {
		return nil, err
	}
	p.track = buildTrack(p, f.Track)
	if err := p.buildChip(f, dir); err != nil {
		return nil, err
	}
	return p, nil
}

// digitField is a field of the card that must be digits of one length.
type digitField struct {
	value    string
	n        int
	optional bool
	err      string
}

// checkNumbers checks the dates, the PAN sequence number and the service
// code (201, an ICC international card, when none is given).
func (p *Profile) checkNumbers() error {
	for _, d := range []digitField{
		{p.Expiry, 6, false, "expiry: must be YYMMDD"},
		{p.Effective, 6, true, "effective: must be YYMMDD"},
		{p.PSN, 2, true, "psn: must be two digits"},
	} {
		if d.optional && d.value == "" {
			continue
		}
		if len(d.value) != d.n || !digitsOnly(d.value) {
			return errors.New(d.err)
		}
	}
	if p.ServiceCode == "" {
		p.ServiceCode = "201"
	}
	if len(p.ServiceCode) != 3 || !digitsOnly(p.ServiceCode) {
		return errors.New("service_code: must be three digits")
	}
	return nil
}

// checkPIN checks the offline PIN and its try limit (3 when none is given).
func (p *Profile) checkPIN() error {
	if p.PIN != "" && (len(p.PIN) < 4 || len(p.PIN) > 12 || !digitsOnly(p.PIN)) {
		return errors.New("pin: must be 4 to 12 digits")
	}
	if p.PINTries == 0 {
		p.PINTries = 3
	}
	if p.PINTries < 0 || p.PINTries > 15 {
		return errors.New("pin_tries: must be 1 to 15")
	}
	return nil
}

// parseInterfaces reads the interfaces list; "stripe" is implied by the
// magnetic stripe every card has.
func parseInterfaces(names []string) ([]hal.CardInterface, error) {
	var out []hal.CardInterface
	for _, s := range names {
		switch s {
		case "contact":
			out = append(out, hal.Contact)
		case "contactless":
			out = append(out, hal.Contactless)
		case "stripe":
		default:
			return nil, fmt.Errorf("interfaces: unknown %q", s)
		}
	}
	return out, nil
}

// readBytes reads the hex fields: the answers to reset (with defaults), the
// log format and the status word scripts end with.
func (p *Profile) readBytes(f *profileFile) error {
	var err error
	if p.ATR, err = unhex("atr", f.ATR); err != nil {
		return err
	}
	if len(p.ATR) == 0 {
		p.ATR = []byte{0x3B, 0x02, 0x14, 0x50} // T=0, two historical bytes
	}
	if p.ATRCL, err = unhex("atr_contactless", f.ATRContactless); err != nil {
		return err
	}
	if len(p.ATRCL) == 0 {
		p.ATRCL = []byte{0x3B, 0x80, 0x80, 0x01, 0x01} // PC/SC contactless, T=1
	}
	if p.LogFormat, err = unhex("log_format", f.LogFormat); err != nil {
		return err
	}
	if p.Behaviour.ScriptStatus != "" {
		if b, err := unhex("behaviour.script_status", p.Behaviour.ScriptStatus); err != nil || len(b) != 2 {
			return errors.New("behaviour.script_status: must be a two-byte status word")
		}
	}
	return nil
}

// buildChip builds the chip: the issuer key, the certificate keys and the
// applications. A card without applications has none, and no chip
// interface.
func (p *Profile) buildChip(f *profileFile, dir string) error {
	if len(f.Apps) == 0 {
		if len(p.Interfaces) > 0 {
			return errors.New("interfaces: a card without applications has no chip")
		}
		return nil
	}
	if len(p.Interfaces) == 0 {
		return errors.New("interfaces: a chip card needs contact or contactless")
	}
	var err error
	if p.issuerMK, err = unhex("issuer_master_key", f.IssuerMasterKey); err != nil || len(p.issuerMK) != 16 {
		return errors.New("issuer_master_key: must be 16 bytes of hex")
	}
	if f.Keys != nil {
		if p.keys, err = loadKeys(f.Keys, dir, p); err != nil {
			return err
		}
	}
	for i := range f.Apps {
		a, err := buildApp(p, &f.Apps[i])
		if err != nil {
			return fmt.Errorf("app %d: %w", i+1, err)
		}
		p.Apps = append(p.Apps, a)
	}
	return nil
}

func buildTrack(p *Profile, t *trackFile) *hal.Track {
	disc := "0000000000"
	if t != nil && t.Discretionary != "" {
		disc = t.Discretionary
	}
	yymm := p.Expiry[:4]
	t2 := p.PAN.Digits() + "=" + yymm + p.ServiceCode + disc
	name := p.Cardholder
	if name == "" {
		name = "TEST/CARD"
	}
	t1 := "B" + p.PAN.Digits() + "^" + name + "^" + yymm + p.ServiceCode + disc
	return &hal.Track{Track1: []byte(t1), Track2: []byte(t2)}
}

// track2 returns tag 57: the track 2 equivalent data in BCD, D as separator,
// padded with F.
func (p *Profile) track2() []byte {
	s := strings.ReplaceAll(string(p.track.Track2), "=", "D")
	if len(s)%2 == 1 {
		s += "F"
	}
	b, _ := hex.DecodeString(s) // digits and D only, so always hex
	return b
}

func buildApp(p *Profile, f *appFile) (*App, error) {
	a := &App{Label: f.Label, Priority: f.Priority, CVN: byte(f.CVN), Format: f.Format, Records: map[recordID][]byte{}}
	var err error
	if a.AID, err = unhex("aid", f.AID); err != nil || len(a.AID) < 5 || len(a.AID) > 16 {
		return nil, errors.New("aid: must be 5 to 16 bytes of hex")
	}
	if f.Priority < 0 || f.Priority > 15 {
		return nil, errors.New("priority: must be 0 to 15")
	}
	if a.Format == 0 {
		a.Format = 2
	}
	if a.Format != 1 && a.Format != 2 {
		return nil, errors.New("format: must be 1 or 2")
	}
	if a.IAD, err = unhex("iad", f.IAD); err != nil {
		return nil, err
	}
	if f.CVN < 0 || f.CVN > 0xFF {
		return nil, errors.New("cvn: must be 0 to 255")
	}
	scheme := emvcrypto.SchemeOf(a.AID)
	if a.Version = emvcrypto.VersionFor(scheme, a.CVN); a.Version == emvcrypto.VersionUnknown {
		return nil, fmt.Errorf("cvn: %d is no cryptogram version of the AID's scheme", f.CVN)
	}
	if v, err := emvcrypto.VersionOf(scheme, a.IAD); err != nil || v != a.Version {
		return nil, fmt.Errorf("iad: does not name %v with room for its CVR", a.Version)
	}
	if a.iccMK, err = a.Version.MasterKey(p.issuerMK, p.PAN.Digits(), p.PSN); err != nil {
		return nil, fmt.Errorf("issuer_master_key: %w", err)
	}
	for _, s := range f.FCI {
		t, v, err := p.tagValue(s, nil)
		if err != nil {
			return nil, fmt.Errorf("fci: %w", err)
		}
		a.FCI = tlv.Append(a.FCI, t, v)
	}
	if a.Contact, err = buildPath(&pathFile{PDOL: f.PDOL, AIP: f.AIP, AFL: f.AFL}); err != nil {
		return nil, err
	}
	if f.Contactless != nil {
		if a.CL, err = buildPath(f.Contactless); err != nil {
			return nil, fmt.Errorf("contactless: %w", err)
		}
		switch a.CL.Kernel {
		case "qpboc", "qvsdc", "mchip":
		default:
			return nil, errors.New(`contactless.kernel: must be "qpboc", "qvsdc" or "mchip"`)
		}
	}
	// Records come in two passes: plain data first, then the ODA objects
	// that sign over it.
	type pending struct {
		id   recordID
		tags []string
	}
	var recs []pending
	for _, r := range f.Records {
		if r.SFI < 1 || r.SFI > 30 || r.Rec < 1 || r.Rec > 255 {
			return nil, fmt.Errorf("record %d/%d: SFI must be 1 to 30 and record 1 to 255", r.SFI, r.Rec)
		}
		id := recordID{byte(r.SFI), byte(r.Rec)}
		if _, dup := a.Records[id]; dup {
			return nil, fmt.Errorf("record %d/%d: defined twice", r.SFI, r.Rec)
		}
		a.Records[id] = nil
		recs = append(recs, pending{id, r.Tags})
	}
	build := func(oda bool) error {
		for _, r := range recs {
			if isODARecord(r.tags) != oda {
				continue
			}
			var body []byte
			for _, s := range r.tags {
				t, v, err := p.tagValue(s, a)
				if err != nil {
					return fmt.Errorf("record %d/%d: %w", r.id.sfi, r.id.rec, err)
				}
				if v == nil {
					continue // an empty certificate remainder
				}
				body = tlv.Append(body, t, v)
				if err := a.learn(t, v); err != nil {
					return fmt.Errorf("record %d/%d: %w", r.id.sfi, r.id.rec, err)
				}
			}
			a.Records[r.id] = tlv.Encode(0x70, body)
		}
		return nil
	}
	if err := build(false); err != nil {
		return nil, err
	}
	for _, path := range []*Path{a.Contact, a.CL} {
		if path == nil {
			continue
		}
		if err := a.checkAFL(path.AFL); err != nil {
			return nil, err
		}
	}
	if err := a.checkODA(); err != nil {
		return nil, err
	}
	if err := build(true); err != nil {
		return nil, err
	}
	return a, nil
}

// isODARecord reports whether a record holds objects computed from the
// other records (certificates, signed static data).
func isODARecord(tags []string) bool {
	for _, s := range tags {
		if strings.Contains(s, "@icc_cert") || strings.Contains(s, "@ssad") {
			return true
		}
	}
	return false
}

// learn keeps the objects the card itself needs from its records.
func (a *App) learn(t tlv.Tag, v []byte) error {
	var err error
	switch t {
	case 0x8C:
		a.CDOL1, err = tlv.ParseDOL(v)
	case 0x8D:
		a.CDOL2, err = tlv.ParseDOL(v)
	case 0x9F49:
		a.DDOL, err = tlv.ParseDOL(v)
	case 0x9F69:
		a.CL9F69 = v
	}
	if err != nil {
		return fmt.Errorf("tag %v: %w", t, err)
	}
	return nil
}

func (a *App) checkAFL(afl []byte) error {
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi := afl[i] >> 3
		for r := afl[i+1]; r <= afl[i+2]; r++ {
			if _, ok := a.Records[recordID{sfi, r}]; !ok {
				return fmt.Errorf("afl: names record %d/%d that is not defined", sfi, r)
			}
			if r == 255 {
				break
			}
		}
	}
	return nil
}

func buildPath(f *pathFile) (*Path, error) {
	p := &Path{Kernel: f.Kernel}
	var err error
	if p.rawPDOL, err = unhex("pdol", f.PDOL); err != nil {
		return nil, err
	}
	if p.PDOL, err = tlv.ParseDOL(p.rawPDOL); err != nil {
		return nil, fmt.Errorf("pdol: %w", err)
	}
	aip, err := unhex("aip", f.AIP)
	if err != nil || len(aip) != 2 {
		return nil, errors.New("aip: must be two bytes of hex")
	}
	copy(p.AIP[:], aip)
	if p.AFL, err = unhex("afl", f.AFL); err != nil {
		return nil, err
	}
	if len(p.AFL)%4 != 0 {
		return nil, errors.New("afl: must be a multiple of four bytes")
	}
	for i := 0; i < len(p.AFL); i += 4 {
		e := p.AFL[i : i+4]
		if e[0]&7 != 0 || e[0]>>3 == 0 || e[1] == 0 || e[2] < e[1] || int(e[3]) > int(e[2]-e[1])+1 {
			return nil, fmt.Errorf("afl: bad entry %X", e)
		}
	}
	if p.CTQ, err = unhex("ctq", f.CTQ); err != nil {
		return nil, err
	}
	return p, nil
}

// tagValue parses one "TAG:VALUE" entry: VALUE is hex, 'text' in quotes, or
// @name for a value the card computes (see docs/cardsim.md).
func (p *Profile) tagValue(s string, a *App) (tlv.Tag, []byte, error) {
	ts, vs, ok := strings.Cut(s, ":")
	if !ok {
		return 0, nil, fmt.Errorf("%q: want TAG:VALUE", s)
	}
	tb, err := unhex("tag", ts)
	if err != nil || len(tb) == 0 || len(tb) > 3 {
		return 0, nil, fmt.Errorf("%q: bad tag", ts)
	}
	t, n, err := tlv.ReadTag(tb)
	if err != nil || n != len(tb) {
		return 0, nil, fmt.Errorf("%q: bad tag", ts)
	}
	vs = strings.TrimSpace(vs)
	switch {
	case strings.HasPrefix(vs, "'") && strings.HasSuffix(vs, "'") && len(vs) >= 2:
		return t, []byte(vs[1 : len(vs)-1]), nil
	case strings.HasPrefix(vs, "@"):
		v, err := p.computed(vs[1:], a)
		if err != nil {
			return 0, nil, fmt.Errorf("tag %v: %w", t, err)
		}
		return t, v, nil
	}
	v, err := unhex("value of "+ts, vs)
	if err != nil {
		return 0, nil, err
	}
	return t, v, nil
}

// computed returns the value of a named computed object. A certificate
// remainder that is empty comes back nil, so the tag is left out.
func (p *Profile) computed(name string, a *App) ([]byte, error) {
	switch name {
	case "pan":
		s := p.PAN.Digits()
		if len(s)%2 == 1 {
			s += "F"
		}
		return hex.DecodeString(s)
	case "track2":
		return p.track2(), nil
	case "expiry":
		return hex.DecodeString(p.Expiry)
	case "effective":
		return hex.DecodeString(p.Effective)
	case "psn":
		return hex.DecodeString(p.PSN)
	case "service_code":
		return hex.DecodeString("0" + p.ServiceCode)
	case "cardholder":
		return []byte(p.Cardholder), nil
	}
	if p.keys == nil {
		return nil, fmt.Errorf("@%s needs the [keys] section", name)
	}
	k := p.keys
	if k.sm != nil {
		return k.sm.computed(name, p, a)
	}
	switch name {
	case "capk_index":
		return []byte{k.caIndex}, nil
	case "issuer_cert":
		return k.issuerCert, nil
	case "issuer_remainder":
		return nilIfEmpty(k.issuerRem), nil
	case "issuer_exponent":
		return exponentBytes(&k.issuer.PublicKey), nil
	}
	if a == nil {
		return nil, fmt.Errorf("@%s only in records", name)
	}
	sda, err := a.staticData(p)
	if err != nil {
		return nil, err
	}
	switch name {
	case "ssad":
		return k.signSSAD(sda)
	case "icc_cert", "icc_remainder", "icc_exponent":
		if k.icc == nil {
			return nil, fmt.Errorf("@%s needs keys.icc", name)
		}
		cert, rem, err := k.iccCert(p, sda)
		switch {
		case err != nil:
			return nil, err
		case name == "icc_cert":
			return cert, nil
		case name == "icc_remainder":
			return nilIfEmpty(rem), nil
		}
		return exponentBytes(&k.icc.PublicKey), nil
	}
	return nil, fmt.Errorf("unknown computed value @%s", name)
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func exponentBytes(k *rsa.PublicKey) []byte {
	e := k.E
	var b []byte
	for e > 0 {
		b = append([]byte{byte(e)}, b...)
		e >>= 8
	}
	return b
}

// staticData returns the static data to be authenticated (Book 3 10.3): the
// records the contact AFL marks for ODA, followed by the AIP when the SDA
// tag list (9F4A) names it. The contactless path must mark the same records
// and, with 9F4A, carry the same AIP (checked by checkODA), so one set of
// certificates serves both interfaces.
func (a *App) staticData(p *Profile) ([]byte, error) {
	var out []byte
	for _, id := range odaRecords(a.Contact.AFL) {
		rec := a.Records[id]
		if rec == nil {
			return nil, fmt.Errorf("record %d/%d is signed for ODA but holds certificates", id.sfi, id.rec)
		}
		if id.sfi <= 10 {
			o, err := tlv.ParseOne(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, o.Value...)
		} else {
			out = append(out, rec...)
		}
	}
	if a.aipSigned() {
		out = append(out, a.Contact.AIP[:]...)
	}
	return out, nil
}

// aipSigned reports whether the SDA tag list names the AIP.
func (a *App) aipSigned() bool {
	for _, rec := range a.Records {
		objs, err := tlv.Parse(rec)
		if err != nil {
			continue
		}
		if t, ok := tlv.Find(objs, 0x9F4A); ok && bytes.Equal(t.Value, []byte{0x82}) {
			return true
		}
	}
	return false
}

// odaRecords lists the records an AFL marks for offline data authentication.
func odaRecords(afl []byte) []recordID {
	var ids []recordID
	for i := 0; i+4 <= len(afl); i += 4 {
		sfi, first, n := afl[i]>>3, afl[i+1], afl[i+3]
		for r := 0; r < int(n); r++ {
			ids = append(ids, recordID{sfi, first + byte(r)})
		}
	}
	return ids
}

// checkODA makes sure the contactless path signs what the contact path signs.
func (a *App) checkODA() error {
	if a.CL == nil {
		return nil
	}
	c, l := odaRecords(a.Contact.AFL), odaRecords(a.CL.AFL)
	if len(l) > 0 && fmt.Sprint(c) != fmt.Sprint(l) {
		return errors.New("contactless.afl: must mark the same ODA records as the contact AFL")
	}
	if a.aipSigned() && a.Contact.AIP != a.CL.AIP {
		return errors.New("contactless.aip: must equal the contact AIP when 9F4A signs the AIP")
	}
	return nil
}
