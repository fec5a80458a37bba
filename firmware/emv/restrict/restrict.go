// Package restrict is processing restrictions as EMV 4.x Book 3 10.4
// defines them: application version, application usage control and the
// effective and expiry dates, checked over values and answered with the
// TVR bits to set. It knows nothing of the card or the kernel's session:
// the kernel passes what the card and the terminal hold.
package restrict

import (
	"bytes"

	"kpos/firmware/emv/status"
	"kpos/firmware/emv/tlv"
)

// Card is what the card sent for the checks: nil where absent, empty (not
// nil) where the card sent an element of no length.
type Card struct {
	Version       []byte // application version number (9F08)
	AUC           []byte // application usage control (9F07)
	IssuerCountry []byte // issuer country code (5F28)
	Effective     []byte // application effective date (5F25), YYMMDD
	Expiry        []byte // application expiration date (5F24), YYMMDD
}

// Terminal is what the terminal holds for the checks.
type Terminal struct {
	Versions [][2]byte // the terminal's application versions (9F09)
	Country  []byte    // terminal country code (9F1A)
	Today    []byte    // transaction date (9A), YYMMDD
	ATM      bool      // an ATM: terminal type x4 to x6 with cash capability
}

// Txn is what the transaction is.
type Txn struct {
	Cash     bool // cash
	Goods    bool // goods or services (purchase, pre-authorization)
	Cashback bool // with cashback
}

// AUC bits.
const (
	aucDomesticCash          = 0x80
	aucInternationalCash     = 0x40
	aucDomesticGoods         = 0x20
	aucInternationalGoods    = 0x10
	aucDomesticServices      = 0x08
	aucInternationalServices = 0x04
	aucATM                   = 0x02
	aucNonATM                = 0x01
	aucDomesticCashback      = 0x80 // byte 2
	aucInternationalCashback = 0x40 // byte 2
)

// Check returns the TVR bits processing restrictions set.
func Check(c Card, t Terminal, x Txn) []status.Bit {
	var out []status.Bit
	if c.Version != nil && !versionKnown(c.Version, t.Versions) {
		out = append(out, status.TVRDifferentApplicationVersions)
	}
	if len(c.AUC) == 2 && !usageAllowed(c, t, x) {
		out = append(out, status.TVRServiceNotAllowed)
	}
	today, _ := Date(t.Today)
	if eff, ok := Date(c.Effective); ok && today < eff {
		out = append(out, status.TVRApplicationNotYetEffective)
	}
	if exp, ok := Date(c.Expiry); ok && today > exp {
		out = append(out, status.TVRExpiredApplication)
	}
	return out
}

func versionKnown(v []byte, versions [][2]byte) bool {
	for _, tv := range versions {
		if bytes.Equal(v, tv[:]) {
			return true
		}
	}
	return false
}

// Date returns a YYMMDD value as YYYYMMDD (years below 50 are 20xx).
func Date(b []byte) (int, bool) {
	if len(b) != 3 {
		return 0, false
	}
	n, ok := tlv.FromBCD(b)
	if !ok {
		return 0, false
	}
	yy := int(n / 10000)
	if yy < 50 {
		yy += 2000
	} else {
		yy += 1900
	}
	return yy*10000 + int(n%10000), true
}

// usageAllowed checks the application usage control (Book 3 10.4.2).
func usageAllowed(c Card, t Terminal, x Txn) bool {
	auc := c.AUC
	if t.ATM && auc[0]&aucATM == 0 || !t.ATM && auc[0]&aucNonATM == 0 {
		return false
	}
	if c.IssuerCountry == nil {
		return true
	}
	domestic := bytes.Equal(c.IssuerCountry, t.Country)
	pick := func(dom, intl byte) byte {
		if domestic {
			return dom
		}
		return intl
	}
	if x.Cash && auc[0]&pick(aucDomesticCash, aucInternationalCash) == 0 {
		return false
	}
	if x.Goods && auc[0]&(pick(aucDomesticGoods, aucInternationalGoods)|pick(aucDomesticServices, aucInternationalServices)) == 0 {
		return false
	}
	if x.Cashback && auc[1]&pick(aucDomesticCashback, aucInternationalCashback) == 0 {
		return false
	}
	return true
}
