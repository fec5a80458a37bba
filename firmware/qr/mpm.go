package qr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Initiation is the point of initiation method, data object 01.
type Initiation string

// The points of initiation.
const (
	Static  Initiation = "11" // the same code for many payments, the payer types the amount
	Dynamic Initiation = "12" // one code per payment, carrying its amount
)

// MaxPayloadLen is the longest merchant-presented payload, in characters.
const MaxPayloadLen = 512

// UnionPayAccountID is the data object this terminal uses for its merchant
// account information: ID 15, which EMVCo allocates to UnionPay. Its value is
// the acquirer's 8-digit institution identification number followed by the
// 15-digit merchant ID (see UnionPayAccount).
const UnionPayAccountID = "15"

// MerchantAccount is one merchant account information data object (IDs 02
// to 51). IDs 02 to 25 are primitive and carry Value; IDs 26 to 51 are
// templates with a globally unique identifier (sub-object 00) and further
// sub-objects in Data.
type MerchantAccount struct {
	ID    string
	Value string       // IDs 02–25
	GUID  string       // IDs 26–51: sub-object 00
	Data  []DataObject // IDs 26–51: sub-objects 01–99, in order
}

// UnionPayAccount returns the merchant account information this terminal
// puts into its merchant-presented codes: ID 15 carrying the acquirer's
// institution number (8 digits) and the merchant ID (15 digits).
func UnionPayAccount(acquirerIIN, mid string) MerchantAccount {
	return MerchantAccount{ID: UnionPayAccountID, Value: acquirerIIN + mid}
}

// AdditionalData is data object 62, the additional data field template.
// A value of "***" asks the payer's app to prompt for it.
type AdditionalData struct {
	Bill            string // 01 bill number
	Mobile          string // 02 mobile number
	Store           string // 03 store label
	Loyalty         string // 04 loyalty number
	Reference       string // 05 reference label
	Customer        string // 06 customer label
	Terminal        string // 07 terminal label
	Purpose         string // 08 purpose of transaction
	ConsumerRequest string // 09 additional consumer data request
	Other           []DataObject
}

// AltLanguage is data object 64, the merchant's name and city in another
// language (for this terminal: Chinese).
type AltLanguage struct {
	Language string // 00, ISO 639 two letters, e.g. "ZH"
	Name     string // 01
	City     string // 02
	Other    []DataObject
}

// MPM is an EMVCo merchant-presented payload. Build one and call Encode, or
// get one from ParseMPM.
type MPM struct {
	Initiation   Initiation // 01, optional
	Accounts     []MerchantAccount
	MCC          string          // 52, four digits
	Currency     string          // 53, ISO 4217 numeric, "156" for CNY
	Amount       string          // 54, as carried ("23.72"); empty in a static code
	TipIndicator string          // 55
	FeeFixed     string          // 56
	FeePercent   string          // 57
	Country      string          // 58, ISO 3166 alpha-2, "CN"
	Name         string          // 59, at most 25 characters
	City         string          // 60, at most 15 characters
	PostalCode   string          // 61
	Additional   *AdditionalData // 62
	AltLanguage  *AltLanguage    // 64
	Other        []DataObject    // 65–99 (RFU and unreserved templates), kept as carried
}

// CurrencyCNY is ISO 4217 numeric for the renminbi.
const CurrencyCNY = "156"

// FormatAmount returns an amount in fen (minor units, two decimals) in the
// form data object 54 carries: "23.72", "0.05", "100.00".
func FormatAmount(fen int64) string {
	return fmt.Sprintf("%d.%02d", fen/100, fen%100)
}

// AmountFen returns the transaction amount in fen. It fails on an absent
// amount, an amount with more than two decimals, or one too large.
func (m MPM) AmountFen() (int64, error) {
	if m.Amount == "" {
		return 0, fieldErr("54", malformed("no amount in the code"))
	}
	if !validAmount(m.Amount) {
		return 0, fieldErr("54", malformed("amount %q is not a decimal amount", m.Amount))
	}
	whole, frac, _ := strings.Cut(m.Amount, ".")
	if len(frac) > 2 {
		return 0, fieldErr("54", malformed("amount %q has more than two decimals", m.Amount))
	}
	for len(frac) < 2 {
		frac += "0"
	}
	if whole == "" {
		whole = "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, fieldErr("54", malformed("amount %q: %v", m.Amount, err))
	}
	return n, nil
}

// validAmount checks the EMVCo amount format: digits with at most one '.'.
func validAmount(s string) bool {
	if s == "" || len(s) > 13 || s == "." {
		return false
	}
	dot := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.':
			if dot {
				return false
			}
			dot = true
		case c < '0' || c > '9':
			return false
		}
	}
	return true
}

// Encode validates m and returns the payload text with its CRC: objects in
// ascending ID order after 00 and 01, and 63 last.
func (m MPM) Encode() (string, error) {
	if err := m.validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	put := func(id, v string) error {
		if v == "" {
			return nil
		}
		return encodeObject(&b, id, v)
	}
	if err := put("00", "01"); err != nil {
		return "", err
	}
	if err := put("01", string(m.Initiation)); err != nil {
		return "", err
	}
	accts := append([]MerchantAccount(nil), m.Accounts...)
	sort.SliceStable(accts, func(i, j int) bool { return accts[i].ID < accts[j].ID })
	for _, a := range accts {
		v, err := a.value()
		if err != nil {
			return "", fieldErr(a.ID, err)
		}
		if err := put(a.ID, v); err != nil {
			return "", err
		}
	}
	for _, o := range []DataObject{
		{"52", m.MCC}, {"53", m.Currency}, {"54", m.Amount}, {"55", m.TipIndicator},
		{"56", m.FeeFixed}, {"57", m.FeePercent}, {"58", m.Country}, {"59", m.Name},
		{"60", m.City}, {"61", m.PostalCode},
	} {
		if err := put(o.ID, o.Value); err != nil {
			return "", err
		}
	}
	if m.Additional != nil {
		v, err := encodeObjects(m.Additional.objects())
		if err != nil {
			return "", fieldErr("62", err)
		}
		if err := put("62", v); err != nil {
			return "", err
		}
	}
	if m.AltLanguage != nil {
		v, err := encodeObjects(m.AltLanguage.objects())
		if err != nil {
			return "", fieldErr("64", err)
		}
		if err := put("64", v); err != nil {
			return "", err
		}
	}
	other := append([]DataObject(nil), m.Other...)
	sort.SliceStable(other, func(i, j int) bool { return other[i].ID < other[j].ID })
	for _, o := range other {
		if err := put(o.ID, o.Value); err != nil {
			return "", err
		}
	}
	b.WriteString("6304")
	s := b.String()
	s += CRC16Hex(s)
	if n := utf8.RuneCountInString(s); n > MaxPayloadLen {
		return "", malformed("payload is %d characters, at most %d fit", n, MaxPayloadLen)
	}
	return s, nil
}

func (a MerchantAccount) value() (string, error) {
	if isPrimitiveAccount(a.ID) {
		if a.GUID != "" || len(a.Data) > 0 {
			return "", malformed("IDs 02 to 25 are primitive: no GUID or sub-objects")
		}
		return a.Value, nil
	}
	if a.Value != "" {
		return "", malformed("IDs 26 to 51 are templates: use GUID and Data, not Value")
	}
	objs := append([]DataObject{{"00", a.GUID}}, a.Data...)
	return encodeObjects(objs)
}

func (d *AdditionalData) objects() []DataObject {
	var out []DataObject
	for _, o := range []DataObject{
		{"01", d.Bill}, {"02", d.Mobile}, {"03", d.Store}, {"04", d.Loyalty},
		{"05", d.Reference}, {"06", d.Customer}, {"07", d.Terminal}, {"08", d.Purpose},
		{"09", d.ConsumerRequest},
	} {
		if o.Value != "" {
			out = append(out, o)
		}
	}
	return append(out, d.Other...)
}

func (a *AltLanguage) objects() []DataObject {
	out := []DataObject{{"00", a.Language}, {"01", a.Name}}
	if a.City != "" {
		out = append(out, DataObject{"02", a.City})
	}
	return append(out, a.Other...)
}

func isPrimitiveAccount(id string) bool { return id >= "02" && id <= "25" }
func isAccountID(id string) bool        { return len(id) == 2 && id >= "02" && id <= "51" }

// validate checks the data objects' meaning; ParseMPM and Encode share it.
// The checks run in the order of the IDs, so that the first error names the
// lowest data object at fault.
func (m MPM) validate() error {
	if m.Initiation != "" && m.Initiation != Static && m.Initiation != Dynamic {
		return fieldErr("01", malformed("point of initiation %q is neither 11 (static) nor 12 (dynamic)", m.Initiation))
	}
	for _, check := range []func() error{m.validateAccounts, m.validateTransaction, m.validateFee, m.validateMerchant, m.validateRest} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateAccounts checks the merchant account information (02 to 51).
func (m MPM) validateAccounts() error {
	if len(m.Accounts) == 0 {
		return fieldErr("02-51", malformed("no merchant account information"))
	}
	seen := map[string]bool{}
	for _, a := range m.Accounts {
		if !isAccountID(a.ID) {
			return malformed("merchant account ID %q is not 02 to 51", a.ID)
		}
		if seen[a.ID] {
			return fieldErr(a.ID, malformed("appears twice"))
		}
		seen[a.ID] = true
		if isPrimitiveAccount(a.ID) {
			if a.Value == "" {
				return fieldErr(a.ID, malformed("empty merchant account"))
			}
		} else if a.GUID == "" {
			return fieldErr(a.ID, malformed("template without its globally unique identifier (00)"))
		}
	}
	return nil
}

// validateTransaction checks the category code, currency and amount (52 to 54).
func (m MPM) validateTransaction() error {
	if len(m.MCC) != 4 || !isDigits(m.MCC) {
		return fieldErr("52", malformed("merchant category code %q is not four digits", m.MCC))
	}
	if len(m.Currency) != 3 || !isDigits(m.Currency) {
		return fieldErr("53", malformed("currency %q is not three digits", m.Currency))
	}
	if m.Amount != "" && !validAmount(m.Amount) {
		return fieldErr("54", malformed("amount %q is not a decimal amount of at most 13 characters", m.Amount))
	}
	return nil
}

// validateFee checks the tip or convenience indicator and its fee (55 to 57).
func (m MPM) validateFee() error {
	switch m.TipIndicator {
	case "", "01":
		if m.FeeFixed != "" || m.FeePercent != "" {
			return fieldErr("55", malformed("convenience fee without indicator 02 or 03"))
		}
	case "02":
		if !validAmount(m.FeeFixed) || m.FeePercent != "" {
			return fieldErr("56", malformed("indicator 02 needs a fixed fee amount and no percentage"))
		}
	case "03":
		if !validAmount(m.FeePercent) || m.FeeFixed != "" {
			return fieldErr("57", malformed("indicator 03 needs a fee percentage and no fixed fee"))
		}
	default:
		return fieldErr("55", malformed("tip or convenience indicator %q is not 01, 02 or 03", m.TipIndicator))
	}
	return nil
}

// validateMerchant checks the country, name, city and postal code (58 to 61).
func (m MPM) validateMerchant() error {
	if len(m.Country) != 2 || strings.ToUpper(m.Country) != m.Country || !isLetters(m.Country) {
		return fieldErr("58", malformed("country %q is not two upper-case letters", m.Country))
	}
	if n := utf8.RuneCountInString(m.Name); n == 0 || n > 25 {
		return fieldErr("59", malformed("merchant name must be 1 to 25 characters, is %d", n))
	}
	if n := utf8.RuneCountInString(m.City); n == 0 || n > 15 {
		return fieldErr("60", malformed("merchant city must be 1 to 15 characters, is %d", n))
	}
	if n := utf8.RuneCountInString(m.PostalCode); n > 10 {
		return fieldErr("61", malformed("postal code is %d characters, at most 10", n))
	}
	return nil
}

// validateRest checks the alternate language template (64) and the free IDs
// (65 to 99).
func (m MPM) validateRest() error {
	if a := m.AltLanguage; a != nil {
		if len(a.Language) != 2 {
			return fieldErr("64", malformed("language %q is not two letters", a.Language))
		}
		if a.Name == "" {
			return fieldErr("64", malformed("alternate merchant name missing"))
		}
	}
	for _, o := range m.Other {
		if o.ID < "65" || !isDigits(o.ID) || len(o.ID) != 2 {
			return malformed("data object %q is not a free ID (65 to 99)", o.ID)
		}
	}
	return nil
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// ParseMPM parses and checks an EMVCo merchant-presented payload: the
// ID-length-value structure, 00 first and 63 last, the CRC, each data
// object's format and the mandatory objects. Errors wrap ErrMalformed or
// ErrCRC and name the data object.
func ParseMPM(payload string) (MPM, error) {
	var m MPM
	if n := utf8.RuneCountInString(payload); n > MaxPayloadLen {
		return m, malformed("payload is %d characters, at most %d allowed", n, MaxPayloadLen)
	}
	objs, err := parseObjects(payload)
	if err != nil {
		return m, err
	}
	if len(objs) == 0 || objs[0].ID != "00" {
		return m, fieldErr("00", malformed("payload format indicator must come first"))
	}
	if objs[0].Value != "01" {
		return m, fieldErr("00", malformed("payload format indicator %q is not 01", objs[0].Value))
	}
	last := objs[len(objs)-1]
	if last.ID != "63" {
		return m, fieldErr("63", malformed("CRC must come last (truncated?)"))
	}
	if len(last.Value) != 4 || !isUpperHex(strings.ToUpper(last.Value)) {
		return m, fieldErr("63", malformed("CRC %q is not four hexadecimal digits", last.Value))
	}
	body := payload[:len(payload)-4]
	if want := CRC16Hex(body); !strings.EqualFold(want, last.Value) {
		return m, fieldErr("63", fmt.Errorf("%w: payload says %s, contents give %s", ErrCRC, strings.ToUpper(last.Value), want))
	}
	seen := map[string]bool{}
	for _, o := range objs[1 : len(objs)-1] {
		if seen[o.ID] {
			return m, fieldErr(o.ID, malformed("appears twice"))
		}
		seen[o.ID] = true
		if err := m.set(o); err != nil {
			return MPM{}, err
		}
	}
	if err := m.validate(); err != nil {
		return MPM{}, err
	}
	// Order is free on the wire; keep the canonical order Encode writes.
	sort.SliceStable(m.Accounts, func(i, j int) bool { return m.Accounts[i].ID < m.Accounts[j].ID })
	sort.SliceStable(m.Other, func(i, j int) bool { return m.Other[i].ID < m.Other[j].ID })
	return m, nil
}

func (m *MPM) set(o DataObject) error {
	switch id := o.ID; {
	case id == "00" || id == "63":
		return fieldErr(id, malformed("out of place"))
	case id == "01":
		m.Initiation = Initiation(o.Value)
	case isPrimitiveAccount(id):
		m.Accounts = append(m.Accounts, MerchantAccount{ID: id, Value: o.Value})
	case isAccountID(id):
		subs, err := parseObjects(o.Value)
		if err != nil {
			return fieldErr(id, err)
		}
		a := MerchantAccount{ID: id}
		for i, s := range subs {
			if i == 0 && s.ID == "00" {
				a.GUID = s.Value
				continue
			}
			a.Data = append(a.Data, s)
		}
		m.Accounts = append(m.Accounts, a)
	case id == "52":
		m.MCC = o.Value
	case id == "53":
		m.Currency = o.Value
	case id == "54":
		m.Amount = o.Value
	case id == "55":
		m.TipIndicator = o.Value
	case id == "56":
		m.FeeFixed = o.Value
	case id == "57":
		m.FeePercent = o.Value
	case id == "58":
		m.Country = o.Value
	case id == "59":
		m.Name = o.Value
	case id == "60":
		m.City = o.Value
	case id == "61":
		m.PostalCode = o.Value
	case id == "62":
		subs, err := parseObjects(o.Value)
		if err != nil {
			return fieldErr(id, err)
		}
		d := &AdditionalData{}
		for _, s := range subs {
			dst := map[string]*string{
				"01": &d.Bill, "02": &d.Mobile, "03": &d.Store, "04": &d.Loyalty, "05": &d.Reference,
				"06": &d.Customer, "07": &d.Terminal, "08": &d.Purpose, "09": &d.ConsumerRequest,
			}[s.ID]
			if dst == nil {
				d.Other = append(d.Other, s)
				continue
			}
			if *dst != "" {
				return fieldErr(id, fieldErr(s.ID, malformed("appears twice")))
			}
			*dst = s.Value
		}
		m.Additional = d
	case id == "64":
		subs, err := parseObjects(o.Value)
		if err != nil {
			return fieldErr(id, err)
		}
		a := &AltLanguage{}
		for _, s := range subs {
			switch s.ID {
			case "00":
				a.Language = s.Value
			case "01":
				a.Name = s.Value
			case "02":
				a.City = s.Value
			default:
				a.Other = append(a.Other, s)
			}
		}
		m.AltLanguage = a
	default:
		m.Other = append(m.Other, o)
	}
	return nil
}
