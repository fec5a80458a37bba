// Package gpo is the data of GET PROCESSING OPTIONS as EMV 4.x Book 3
// 6.5.8 and 10.2 define it: the parsing of the card's response (format 1
// or 2) and of the Application File Locator it carries. It knows nothing
// of the card's I/O or the kernel's session.
package gpo

import (
	"errors"
	"fmt"

	"kpos/firmware/emv/apdu"
	"kpos/firmware/emv/tlv"
)

// ErrAFL reports an Application File Locator that breaks Book 3 10.2.
var ErrAFL = errors.New("gpo: AFL invalid")

// ParseResponse parses the response data of GET PROCESSING OPTIONS:
// format 1 (tag 80: the AIP, then the AFL) is returned as the data
// elements 82 and 94, format 2 (tag 77) as its primitive data elements.
// Errors wrap apdu.ErrCardResponse.
func ParseResponse(data []byte) ([]tlv.TLV, error) {
	obj, err := tlv.ParseOne(data)
	if err != nil {
		return nil, fmt.Errorf("gpo: %w: %w", apdu.ErrCardResponse, err)
	}
	switch obj.Tag {
	case 0x80:
		if len(obj.Value) < 2 {
			return nil, fmt.Errorf("gpo: %w: format 1 too short", apdu.ErrCardResponse)
		}
		return []tlv.TLV{{Tag: 0x82, Value: obj.Value[:2]}, {Tag: 0x94, Value: obj.Value[2:]}}, nil
	case 0x77:
		return tlv.Primitives(obj.Children), nil
	}
	return nil, fmt.Errorf("gpo: %w: template %v", apdu.ErrCardResponse, obj.Tag)
}

// Entry is one entry of the AFL: records First to Last of file SFI, of
// which the first ODA take part in offline data authentication.
type Entry struct{ SFI, First, Last, ODA byte }

// ParseAFL checks and splits an AFL (tag 94).
func ParseAFL(afl []byte) ([]Entry, error) {
	if len(afl)%4 != 0 {
		return nil, fmt.Errorf("%w: length %d", ErrAFL, len(afl))
	}
	var out []Entry
	for i := 0; i < len(afl); i += 4 {
		e := Entry{SFI: afl[i] >> 3, First: afl[i+1], Last: afl[i+2], ODA: afl[i+3]}
		if afl[i]&7 != 0 || e.SFI == 0 || e.SFI == 31 || e.First == 0 || e.Last < e.First || int(e.ODA) > int(e.Last-e.First)+1 {
			return nil, fmt.Errorf("%w: entry %X", ErrAFL, afl[i:i+4])
		}
		out = append(out, e)
	}
	return out, nil
}
