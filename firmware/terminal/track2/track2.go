// Package track2 splits ISO/IEC 7813 track 2 ("PAN=YYMMSSS…", or "D" for
// the separator as a chip's tag 57 has it) into the card number, the expiry
// and the service code, for the sale of a swiped card and the merchant's own
// card swiped as a settlement account. Its errors never carry the track.
package track2

import (
	"errors"
	"fmt"
	"strings"

	"kpos/hal"
)

// Parse splits track 2 into the PAN, the expiry (YYMM) and the service
// code. Errors never carry the track.
func Parse(t2 []byte) (pan hal.PAN, expiry, service string, err error) {
	i := strings.IndexAny(string(t2), "=D")
	if i < 0 || len(t2) < i+8 {
		return hal.PAN{}, "", "", errors.New("terminal: malformed track 2")
	}
	pan, err = hal.ParsePAN(string(t2[:i]))
	if err != nil {
		return hal.PAN{}, "", "", fmt.Errorf("terminal: track 2: %w", err)
	}
	return pan, string(t2[i+1 : i+5]), string(t2[i+5 : i+8]), nil
}
