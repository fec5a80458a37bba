// Package keys is the terminal's key hierarchy and the cryptography of the
// acquirer link: the transport key derived from the binding K code, the
// terminal master key (TMK) under it, the working keys (PIN, MAC, data)
// under the TMK, each verified by its check value on install; the key store
// that keeps them encrypted at rest; the MAC algorithms of the UnionPay POS
// dialect (the "ECB" MAC with DES/3DES keys, its SM4 variant, ANSI X9.19);
// PIN block encryption as hal.PINCipher (fixed 3DES or SM4 working key, or
// ANSI X9.24-1 DUKPT); and DUKPT for both the terminal and the host side.
//
// It knows nothing of ISO 8583 framing, transactions, PIN digits or where
// the device key comes from: the acquirer hands it the bytes to MAC and the
// key material from sign-on, the PIN pad hands it clear PIN blocks, the board
// hands it the device key. No key material ever appears in an error, a log
// line or Status; only check values do.
package keys
