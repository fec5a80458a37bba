package tlv

import (
	"fmt"
	"strings"
)

// Format is the EMV data element format (Book 3 Annex A).
type Format int

// The formats.
const (
	FormatB   Format = iota // binary
	FormatN                 // numeric BCD, right-justified
	FormatCN                // compressed numeric, left-justified, F-padded
	FormatAN                // alphanumeric
	FormatANS               // alphanumeric special
)

// Info describes a tag for logs and DOL padding.
type Info struct {
	Name      string
	Format    Format
	Sensitive bool // cardholder data: masked in every dump
}

// dictionary is the EMV tag dictionary: Book 3 Annex A and the tags of the
// contactless kernels the terminal runs. It is read-only.
var dictionary = map[Tag]Info{
	0x42:   {"Issuer Identification Number", FormatN, false},
	0x4F:   {"Application Identifier (ADF Name)", FormatB, false},
	0x50:   {"Application Label", FormatANS, false},
	0x56:   {"Track 1 Data", FormatANS, true},
	0x57:   {"Track 2 Equivalent Data", FormatB, true},
	0x5A:   {"Application PAN", FormatCN, true},
	0x5F20: {"Cardholder Name", FormatANS, true},
	0x5F24: {"Application Expiration Date", FormatN, false},
	0x5F25: {"Application Effective Date", FormatN, false},
	0x5F28: {"Issuer Country Code", FormatN, false},
	0x5F2A: {"Transaction Currency Code", FormatN, false},
	0x5F2D: {"Language Preference", FormatAN, false},
	0x5F30: {"Service Code", FormatN, false},
	0x5F34: {"PAN Sequence Number", FormatN, false},
	0x5F36: {"Transaction Currency Exponent", FormatN, false},
	0x61:   {"Application Template", FormatB, false},
	0x6F:   {"FCI Template", FormatB, false},
	0x70:   {"READ RECORD Response Template", FormatB, false},
	0x71:   {"Issuer Script Template 1", FormatB, false},
	0x72:   {"Issuer Script Template 2", FormatB, false},
	0x77:   {"Response Message Template Format 2", FormatB, false},
	0x80:   {"Response Message Template Format 1", FormatB, false},
	0x81:   {"Amount, Authorised (Binary)", FormatB, false},
	0x82:   {"Application Interchange Profile", FormatB, false},
	0x83:   {"Command Template", FormatB, false},
	0x84:   {"Dedicated File (DF) Name", FormatB, false},
	0x86:   {"Issuer Script Command", FormatB, false},
	0x87:   {"Application Priority Indicator", FormatB, false},
	0x88:   {"Short File Identifier (SFI)", FormatB, false},
	0x89:   {"Authorisation Code", FormatANS, false},
	0x8A:   {"Authorisation Response Code", FormatAN, false},
	0x8C:   {"CDOL1", FormatB, false},
	0x8D:   {"CDOL2", FormatB, false},
	0x8E:   {"CVM List", FormatB, false},
	0x8F:   {"CA Public Key Index", FormatB, false},
	0x90:   {"Issuer Public Key Certificate", FormatB, false},
	0x91:   {"Issuer Authentication Data", FormatB, false},
	0x92:   {"Issuer Public Key Remainder", FormatB, false},
	0x93:   {"Signed Static Application Data", FormatB, false},
	0x94:   {"Application File Locator", FormatB, false},
	0x95:   {"Terminal Verification Results", FormatB, false},
	0x97:   {"TDOL", FormatB, false},
	0x98:   {"TC Hash Value", FormatB, false},
	0x99:   {"Transaction PIN Data", FormatB, true},
	0x9A:   {"Transaction Date", FormatN, false},
	0x9B:   {"Transaction Status Information", FormatB, false},
	0x9C:   {"Transaction Type", FormatN, false},
	0x9D:   {"DDF Name", FormatB, false},
	0xA5:   {"FCI Proprietary Template", FormatB, false},
	0x9F01: {"Acquirer Identifier", FormatN, false},
	0x9F02: {"Amount, Authorised (Numeric)", FormatN, false},
	0x9F03: {"Amount, Other (Numeric)", FormatN, false},
	0x9F06: {"Application Identifier (Terminal)", FormatB, false},
	0x9F07: {"Application Usage Control", FormatB, false},
	0x9F08: {"Application Version Number (ICC)", FormatB, false},
	0x9F09: {"Application Version Number (Terminal)", FormatB, false},
	0x9F0B: {"Cardholder Name Extended", FormatANS, true},
	0x9F0D: {"IAC - Default", FormatB, false},
	0x9F0E: {"IAC - Denial", FormatB, false},
	0x9F0F: {"IAC - Online", FormatB, false},
	0x9F10: {"Issuer Application Data", FormatB, false},
	0x9F11: {"Issuer Code Table Index", FormatN, false},
	0x9F12: {"Application Preferred Name", FormatANS, false},
	0x9F13: {"Last Online ATC Register", FormatB, false},
	0x9F14: {"Lower Consecutive Offline Limit", FormatB, false},
	0x9F15: {"Merchant Category Code", FormatN, false},
	0x9F16: {"Merchant Identifier", FormatANS, false},
	0x9F17: {"PIN Try Counter", FormatB, false},
	0x9F18: {"Issuer Script Identifier", FormatB, false},
	0x9F1A: {"Terminal Country Code", FormatN, false},
	0x9F1B: {"Terminal Floor Limit", FormatB, false},
	0x9F1C: {"Terminal Identification", FormatAN, false},
	0x9F1E: {"IFD Serial Number", FormatAN, false},
	0x9F1F: {"Track 1 Discretionary Data", FormatANS, true},
	0x9F20: {"Track 2 Discretionary Data", FormatCN, true},
	0x9F21: {"Transaction Time", FormatN, false},
	0x9F23: {"Upper Consecutive Offline Limit", FormatB, false},
	0x9F26: {"Application Cryptogram", FormatB, false},
	0x9F27: {"Cryptogram Information Data", FormatB, false},
	0x9F32: {"Issuer Public Key Exponent", FormatB, false},
	0x9F33: {"Terminal Capabilities", FormatB, false},
	0x9F34: {"CVM Results", FormatB, false},
	0x9F35: {"Terminal Type", FormatN, false},
	0x9F36: {"Application Transaction Counter", FormatB, false},
	0x9F37: {"Unpredictable Number", FormatB, false},
	0x9F38: {"PDOL", FormatB, false},
	0x9F39: {"POS Entry Mode", FormatN, false},
	0x9F40: {"Additional Terminal Capabilities", FormatB, false},
	0x9F41: {"Transaction Sequence Counter", FormatN, false},
	0x9F42: {"Application Currency Code", FormatN, false},
	0x9F44: {"Application Currency Exponent", FormatN, false},
	0x9F45: {"Data Authentication Code", FormatB, false},
	0x9F46: {"ICC Public Key Certificate", FormatB, false},
	0x9F47: {"ICC Public Key Exponent", FormatB, false},
	0x9F48: {"ICC Public Key Remainder", FormatB, false},
	0x9F49: {"DDOL", FormatB, false},
	0x9F4A: {"Static Data Authentication Tag List", FormatB, false},
	0x9F4B: {"Signed Dynamic Application Data", FormatB, false},
	0x9F4C: {"ICC Dynamic Number", FormatB, false},
	0x9F4D: {"Log Entry", FormatB, false},
	0x9F4E: {"Merchant Name and Location", FormatANS, false},
	0x9F51: {"Application Currency Code (qPBOC)", FormatN, false},
	0x9F53: {"Transaction Category Code", FormatAN, false},
	0x9F5B: {"Issuer Script Results", FormatB, false},
	0x9F5D: {"Available Offline Spending Amount", FormatN, false},
	0x9F63: {"Card Product Identification Information", FormatB, false},
	0x9F66: {"Terminal Transaction Qualifiers", FormatB, false},
	0x9F69: {"Card Authentication Related Data", FormatB, false},
	0x9F6B: {"Track 2 Data (contactless)", FormatB, true},
	0x9F6C: {"Card Transaction Qualifiers", FormatB, false},
	0x9F6E: {"Form Factor Indicator / Third Party Data", FormatB, false},
	0x9F74: {"VLP Issuer Authorisation Code", FormatAN, false},
	0x9F7C: {"Customer Exclusive Data", FormatB, false},
	0xBF0C: {"FCI Issuer Discretionary Data", FormatB, false},
	0xDF31: {"Issuer Script Results (UnionPay)", FormatB, false},
}

// Lookup returns what the dictionary knows of t; unknown tags are binary and
// named by their hex.
func Lookup(t Tag) Info {
	if i, ok := dictionary[t]; ok {
		return i
	}
	return Info{Name: "tag " + t.String(), Format: FormatB}
}

// Sensitive reports whether t carries cardholder data.
func Sensitive(t Tag) bool { return dictionary[t].Sensitive }

// Dump renders objects as an indented list for debug logs, masking the
// values of sensitive tags (only their length shows).
func Dump(objs []TLV) string {
	var sb strings.Builder
	dump(&sb, objs, 0)
	return sb.String()
}

func dump(sb *strings.Builder, objs []TLV, depth int) {
	for _, o := range objs {
		info := Lookup(o.Tag)
		fmt.Fprintf(sb, "%s%v %s", strings.Repeat("  ", depth), o.Tag, info.Name)
		switch {
		case o.Tag.Constructed():
			sb.WriteString("\n")
			dump(sb, o.Children, depth+1)
		case info.Sensitive:
			fmt.Fprintf(sb, ": <%d bytes masked>\n", len(o.Value))
		default:
			fmt.Fprintf(sb, ": %X\n", o.Value)
		}
	}
}

// DumpBytes parses b and dumps it; unparsable data is shown only by length.
func DumpBytes(b []byte) string {
	objs, err := Parse(b)
	if err != nil {
		return fmt.Sprintf("<%d bytes, not TLV: %v>", len(b), err)
	}
	return Dump(objs)
}
