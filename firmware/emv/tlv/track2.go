package tlv

// Track2PAN returns the PAN of track 2 equivalent data (tag 57): the
// digits up to the separator D.
func Track2PAN(b []byte) string { return CNDigits(b) }

// Track2Expiry returns the expiry date (YYMM) after the separator of track
// 2 equivalent data, "" when there is none.
func Track2Expiry(b []byte) string {
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
