package hostsim

import (
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"kpos/hal"
)

// Data is everything the host knows before the first message: issuers,
// card accounts and terminals, as read from testdata/host/*.toml.
type Data struct {
	Issuers   []Issuer   `toml:"issuer"`
	Cards     []Card     `toml:"card"`
	Terminals []Terminal `toml:"terminal"`
}

// Issuer holds the application cryptogram master key of one issuer. The
// cryptogram version, and with it how keys are derived and what the
// cryptogram covers, comes from each authorization's IAD (issuer.go).
type Issuer struct {
	Name  string   `toml:"name"`
	Code  string   `toml:"code"`   // institution code, answered in field 44 for the slip's 发卡行
	BINs  []string `toml:"bins"`   // PAN prefixes the issuer owns
	IMKAC string   `toml:"imk_ac"` // hex, double-length 3DES (test keys only)

	imk []byte
}

// Card is one card account.
type Card struct {
	Profile string `toml:"profile"`
	PAN     string `toml:"pan"`
	PSN     string `toml:"psn"`
	Expiry  string `toml:"expiry"` // YYMM
	PIN     string `toml:"pin"`
	Type    string `toml:"type"`    // debit or credit
	Balance int64  `toml:"balance"` // fen: the balance, or the credit limit
	Holder  string `toml:"holder"`  // account holder's name, for settlement account checks
	// Script71 and Script72 are issuer script templates (hex, tag 71 or 72
	// included) appended to field 55 of an online answer, optional.
	Script71 string `toml:"script71"`
	Script72 string `toml:"script72"`
}

// Params are what a binding delivers to the terminal.
type Params struct {
	PerTxnLimit int64          `toml:"per_txn_limit"` // fen
	DailyLimit  int64          `toml:"daily_limit"`   // fen
	FeeBP       map[string]int `toml:"fee_bp"`        // basis points per payment method
	SettleTime  string         `toml:"settle_time"`   // HH:MM
	Host        string         `toml:"host"`          // host:port
	APN         string         `toml:"apn"`
	Methods     []string       `toml:"methods"`
	MCC         string         `toml:"mcc"`
	City        string         `toml:"city"`
	AcquirerIIN string         `toml:"acquirer_iin"`
}

// Terminal is one terminal record.
type Terminal struct {
	Serial       string    `toml:"serial"`
	KCode        string    `toml:"kcode"`
	KCodeExpires time.Time `toml:"kcode_expires"`
	Status       string    `toml:"status"` // valid or revoked
	Phone        string    `toml:"phone"`
	TID          string    `toml:"tid"`
	MID          string    `toml:"mid"`
	Name         string    `toml:"name"`
	TMK          string    `toml:"tmk"`       // hex; empty: generated at activation
	Algorithm    string    `toml:"algorithm"` // 3DES or SM4
	Params       Params    `toml:"params"`
}

// LoadData reads issuers.toml, cards.toml and terminals.toml from dir.
func LoadData(dir string) (*Data, error) {
	var d Data
	for _, name := range []string{"issuers.toml", "cards.toml", "terminals.toml"} {
		var part Data
		if _, err := toml.DecodeFile(filepath.Join(dir, name), &part); err != nil {
			return nil, fmt.Errorf("hostsim: %s: %w", name, err)
		}
		d.Issuers = append(d.Issuers, part.Issuers...)
		d.Cards = append(d.Cards, part.Cards...)
		d.Terminals = append(d.Terminals, part.Terminals...)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

// check validates the data and prepares decoded keys. Errors name the
// record, never its keys or PAN digits.
func (d *Data) check() error {
	for i := range d.Issuers {
		is := &d.Issuers[i]
		k, err := hex.DecodeString(is.IMKAC)
		if err != nil || len(k) != 16 {
			return fmt.Errorf("hostsim: issuer %q: imk_ac must be 32 hex digits", is.Name)
		}
		is.imk = k
	}
	for i, c := range d.Cards {
		if _, err := hal.ParsePAN(c.PAN); err != nil {
			return fmt.Errorf("hostsim: card %d (%s): %w", i, c.Profile, err)
		}
		if len(c.Expiry) != 4 {
			return fmt.Errorf("hostsim: card %d (%s): expiry must be YYMM", i, c.Profile)
		}
		if d.issuerFor(c.PAN) == nil {
			return fmt.Errorf("hostsim: card %d (%s): no issuer owns its BIN", i, c.Profile)
		}
	}
	for i, t := range d.Terminals {
		if len(t.TID) != 8 || len(t.MID) != 15 {
			return fmt.Errorf("hostsim: terminal %d: TID must be 8 and MID 15 characters", i)
		}
		if t.TMK != "" {
			if k, err := hex.DecodeString(t.TMK); err != nil || len(k) != 16 {
				return fmt.Errorf("hostsim: terminal %s: tmk must be 32 hex digits", t.TID)
			}
		}
		switch strings.ToUpper(t.Algorithm) {
		case "", "3DES", "SM4":
		default:
			return fmt.Errorf("hostsim: terminal %s: algorithm must be 3DES or SM4", t.TID)
		}
	}
	return nil
}

// issuerFor returns the issuer with the longest BIN prefix of pan.
func (d *Data) issuerFor(pan string) *Issuer {
	var best *Issuer
	bestLen := 0
	for i := range d.Issuers {
		for _, b := range d.Issuers[i].BINs {
			if strings.HasPrefix(pan, b) && len(b) > bestLen {
				best, bestLen = &d.Issuers[i], len(b)
			}
		}
	}
	return best
}
