package tlv

// Numeric data element formats (EMV Book 3 4.3): n is BCD, right-justified
// and padded with leading zeros; cn is BCD, left-justified and padded with
// trailing F nibbles.

// BCD encodes n in format n, right-justified in size bytes.
func BCD(n uint64, size int) []byte {
	out := make([]byte, size)
	for i := size - 1; i >= 0; i-- {
		out[i] = byte(n%10) | byte(n/10%10)<<4
		n /= 100
	}
	return out
}

// FromBCD decodes format n digits; ok is false for non-decimal nibbles.
func FromBCD(b []byte) (uint64, bool) {
	var n uint64
	for _, c := range b {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0, false
		}
		n = n*100 + uint64(hi)*10 + uint64(lo)
	}
	return n, true
}

// CNDigits returns the digits of a format cn value (up to the first F
// nibble, or any other non-decimal one).
func CNDigits(b []byte) string {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		for _, nib := range []byte{c >> 4, c & 0x0F} {
			if nib > 9 {
				return string(out)
			}
			out = append(out, '0'+nib)
		}
	}
	return string(out)
}

// Printable keeps the printable ASCII of a format ans value (an
// application label, a cardholder name).
func Printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}
