// Package genac is the GENERATE AC command's data as EMV 4.x Book 3 6.5.5
// and 9.3 define it: the cryptogram types a terminal asks for and a card
// returns, the parsing of the card's response (format 1 or 2), the check
// of the returned type against the requested one, and the authorisation
// response code sent back to the card. It is pure: it knows nothing of the
// card, of CDA signatures or of the kernel's session.
package genac

import (
	"fmt"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/tlv"
)

// Cryptogram types requested in P1 and returned in CID (9F27) bits 8-7.
const (
	AAC  byte = 0x00 // declined
	TC   byte = 0x40 // approved offline
	ARQC byte = 0x80 // go online
	RFU  byte = 0xC0 // the mask of the type bits, and the reserved value
	// P1CDA asks for a CDA signature in P1.
	P1CDA byte = 0x10
)

// Command returns the GENERATE AC command for P1 and the CDOL data.
func Command(p1 byte, data []byte) []byte { return apdu.Command(0x80, 0xAE, p1, 0x00, data, true) }

// ParseResponse parses the response data of GENERATE AC: format 1 (tag 80:
// CID, ATC, AC, issuer application data) is returned as the data elements
// 9F27, 9F36, 9F26 and 9F10 it holds, format 2 (tag 77) as its primitive
// data elements. The template is returned for CDA. Errors wrap
// apdu.ErrCardResponse.
func ParseResponse(data []byte) (tlv.TLV, []tlv.TLV, error) {
	obj, err := tlv.ParseOne(data)
	if err != nil {
		return tlv.TLV{}, nil, fmt.Errorf("genac: %w: %w", apdu.ErrCardResponse, err)
	}
	switch obj.Tag {
	case 0x80:
		v := obj.Value
		if len(v) < 11 || len(v) > 11+32 {
			return tlv.TLV{}, nil, fmt.Errorf("genac: %w: format 1 of %d bytes", apdu.ErrCardResponse, len(v))
		}
		elems := []tlv.TLV{{Tag: 0x9F27, Value: v[0:1]}, {Tag: 0x9F36, Value: v[1:3]}, {Tag: 0x9F26, Value: v[3:11]}}
		if len(v) > 11 {
			elems = append(elems, tlv.TLV{Tag: 0x9F10, Value: v[11:]})
		}
		return obj, elems, nil
	case 0x77:
		return obj, tlv.Primitives(obj.Children), nil
	}
	return tlv.TLV{}, nil, fmt.Errorf("genac: %w: template %v", apdu.ErrCardResponse, obj.Tag)
}

// Check checks what the card returned against what P1 asked for, Book 3
// 9.3: the CID and the ATC must be there, the type may be lower than asked
// (never higher, never RFU), and the cryptogram must be there unless a CDA
// signature carries it. It returns the CID.
func Check(p1 byte, cid, atc []byte, hasAC bool) (byte, error) {
	if len(cid) != 1 || len(atc) != 2 {
		return 0, fmt.Errorf("genac: %w: CID or ATC missing", apdu.ErrCardResponse)
	}
	got, want := cid[0]&RFU, p1&RFU
	if got == RFU || want == AAC && got != AAC || want == ARQC && got == TC {
		return 0, fmt.Errorf("genac: %w: cryptogram %02X for request %02X", apdu.ErrCardResponse, got, want)
	}
	if !hasAC && !(p1&P1CDA != 0 && got != AAC) {
		return 0, fmt.Errorf("genac: %w: cryptogram missing", apdu.ErrCardResponse)
	}
	return cid[0], nil
}

// ARC makes the two-character authorisation response code (8A) of a host
// response code, printable characters only.
func ARC(code string) []byte {
	b := []byte(code + "  ")[:2]
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			b[i] = ' '
		}
	}
	return b
}
