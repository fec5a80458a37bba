package qr

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
)

// CPMFormat is the value of the payload format indicator (tag 85) that opens
// every EMVCo consumer-presented payload.
const CPMFormat = "CPV01"

// CPMApp is one application template (tag 61) of a consumer-presented code.
type CPMApp struct {
	AID   []byte  // 4F, application definition file name
	Label string  // 50, application label
	PAN   hal.PAN // 5A, or the PAN part of 57 (track 2 equivalent); masks itself
	Last4 string  // 9F25, last four digits of the PAN, when a token hides it
}

// CPM is what the terminal reads from an EMVCo consumer-presented payload:
// the applications offered and the account (usually a payment token), masked.
// The cryptogram and the rest of the data travel to the host untouched in the
// original text.
type CPM struct {
	Apps []CPMApp
	PAN  hal.PAN // from the common data template (62), when there
}

// Account returns the account to show: the first PAN found, masked, or the
// last four digits a token names.
func (c CPM) Account() string {
	if !c.PAN.IsZero() {
		return c.PAN.Masked()
	}
	for _, a := range c.Apps {
		if !a.PAN.IsZero() {
			return a.PAN.Masked()
		}
	}
	for _, a := range c.Apps {
		if a.Last4 != "" {
			return "****" + a.Last4
		}
	}
	return ""
}

// String describes the code without any clear account number.
func (c CPM) String() string {
	labels := make([]string, 0, len(c.Apps))
	for _, a := range c.Apps {
		l := a.Label
		if l == "" {
			l = strings.ToUpper(hex.EncodeToString(a.AID))
		}
		labels = append(labels, l)
	}
	return fmt.Sprintf("EMV CPM [%s] %s", strings.Join(labels, ", "), c.Account())
}

// GoString hides the account from %#v.
func (c CPM) GoString() string { return c.String() }

// maxCPMLen bounds the decoded payload; a QR code cannot carry more.
const maxCPMLen = 2048

// ParseCPMText decodes the base64 text of a consumer-presented QR code and
// parses it with ParseCPM.
func ParseCPMText(text string) (CPM, error) {
	if len(text) > maxCPMLen*4/3+4 {
		return CPM{}, malformed("consumer-presented code too long")
	}
	raw, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(text)
	}
	if err != nil {
		return CPM{}, malformed("consumer-presented code is not base64: %v", err)
	}
	return ParseCPM(raw)
}

// ParseCPM parses an EMVCo consumer-presented payload (BER-TLV): the payload
// format indicator 85 "CPV01" first, then one or more application templates
// (61), an optional common data template (62) and other data objects. It
// extracts the AIDs, labels and the (masked) account.
func ParseCPM(raw []byte) (CPM, error) {
	var c CPM
	if len(raw) > maxCPMLen {
		return c, malformed("consumer-presented payload is %d bytes, at most %d", len(raw), maxCPMLen)
	}
	objs, err := parseBER(raw)
	if err != nil {
		return c, err
	}
	if len(objs) == 0 || objs[0].Tag != 0x85 {
		return c, fieldErr("85", malformed("payload format indicator must come first"))
	}
	if string(objs[0].Value) != CPMFormat {
		return c, fieldErr("85", malformed("payload format indicator %q is not %s", objs[0].Value, CPMFormat))
	}
	for _, o := range objs[1:] {
		switch o.Tag {
		case 0x85:
			return CPM{}, fieldErr("85", malformed("appears twice"))
		case 0x61:
			app, err := parseCPMApp(o.Children)
			if err != nil {
				return CPM{}, fieldErr("61", err)
			}
			c.Apps = append(c.Apps, app)
		case 0x62:
			common, err := parseCPMApp(o.Children)
			if err != nil {
				return CPM{}, fieldErr("62", err)
			}
			c.PAN = common.PAN
		}
	}
	if len(c.Apps) == 0 {
		return CPM{}, fieldErr("61", malformed("no application template"))
	}
	return c, nil
}

func parseCPMApp(objs []tlv.TLV) (CPMApp, error) {
	var a CPMApp
	for _, o := range objs {
		switch o.Tag {
		case 0x4F:
			if len(o.Value) < 5 || len(o.Value) > 16 {
				return a, fieldErr("4F", malformed("AID of %d bytes, want 5 to 16", len(o.Value)))
			}
			a.AID = o.Value
		case 0x50:
			a.Label = string(o.Value)
		case 0x5A:
			p, err := bcdPAN(o.Value)
			if err != nil {
				return a, fieldErr("5A", err)
			}
			a.PAN = p
		case 0x57:
			if !a.PAN.IsZero() {
				continue
			}
			d := strings.ToUpper(hex.EncodeToString(o.Value))
			pan, _, ok := strings.Cut(d, "D")
			if !ok {
				return a, fieldErr("57", malformed("track 2 equivalent data without separator"))
			}
			p, err := hal.ParsePAN(pan)
			if err != nil {
				return a, fieldErr("57", malformed("track 2 equivalent data: PAN is not 12 to 19 digits"))
			}
			a.PAN = p
		case 0x9F25:
			if len(o.Value) != 2 {
				return a, fieldErr("9F25", malformed("last 4 digits of PAN must be 2 bytes"))
			}
			d := hex.EncodeToString(o.Value)
			if !isDigits(d) {
				return a, fieldErr("9F25", malformed("last 4 digits of PAN are not digits"))
			}
			a.Last4 = d
		}
	}
	return a, nil
}

// bcdPAN decodes a compressed-numeric PAN, right-padded with F.
func bcdPAN(b []byte) (hal.PAN, error) {
	d := strings.ToUpper(hex.EncodeToString(b))
	d = strings.TrimRight(d, "F")
	p, err := hal.ParsePAN(d)
	if err != nil {
		return hal.PAN{}, malformed("PAN is not 12 to 19 digits")
	}
	return p, nil
}

// maxBERDepth bounds template nesting; EMVCo CPM nests three deep.
const maxBERDepth = 4

// parseBER parses raw as a sequence of BER-TLV data objects with the EMV
// parser (firmware/emv/tlv, EMV Book 3 Annex B) and refuses templates nested
// deeper than a consumer-presented payload needs.
func parseBER(raw []byte) ([]tlv.TLV, error) {
	objs, err := tlv.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if d := templateDepth(objs); d > maxBERDepth {
		return nil, malformed("templates nested %d deep, at most %d", d, maxBERDepth)
	}
	return objs, nil
}

// templateDepth is the longest chain of constructed objects in objs.
func templateDepth(objs []tlv.TLV) int {
	d := 0
	for _, o := range objs {
		if o.Tag.Constructed() {
			d = max(d, 1+templateDepth(o.Children))
		}
	}
	return d
}
