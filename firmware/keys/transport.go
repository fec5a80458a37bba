package keys

import "crypto/sha256"

// transportLabel separates the transport key derivation from any other use
// of SHA-256 over the same inputs.
const transportLabel = "KPOS transport key v1"

// DeriveTransportKey derives the 16-byte transport key that protects the TMK
// during binding from the K code and the terminal serial number. Both sides
// of the binding compute it the same way:
//
//	TK = first 16 bytes of SHA-256("KPOS transport key v1" || 0x00 || kcode || 0x00 || serial)
//
// kcode is the K code as the host issued it (digits and letters, without
// separators or the check character); serial is the terminal's serial
// number. The result is a double-length 3DES key (parity bits are not
// adjusted; DES ignores them) or an SM4 key.
func DeriveTransportKey(kcode string, serial string) []byte {
	h := sha256.New()
	h.Write([]byte(transportLabel))
	h.Write([]byte{0})
	h.Write([]byte(kcode))
	h.Write([]byte{0})
	h.Write([]byte(serial))
	sum := h.Sum(nil)
	out := make([]byte, 16)
	copy(out, sum[:16])
	clear(sum)
	return out
}
