package emv

import "kpos/firmware/emv/tlv"

// Helpers for the data the card sends.

func be32(n uint32) []byte { return []byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)} }

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// track2PAN returns the PAN of track 2 equivalent data (digits up to D).
func track2PAN(b []byte) string { return tlv.CNDigits(b) }

// track2Expiry returns YYMM after the separator of track 2 equivalent data.
func track2Expiry(b []byte) string {
	var nibs []byte
	for _, c := range b {
		nibs = append(nibs, c>>4, c&0x0F)
	}
	for i, n := range nibs {
		if n == 0x0D {
			if len(nibs) < i+5 {
				return ""
			}
			out := make([]byte, 4)
			for j := 0; j < 4; j++ {
				if nibs[i+1+j] > 9 {
					return ""
				}
				out[j] = '0' + nibs[i+1+j]
			}
			return string(out)
		}
	}
	return ""
}
