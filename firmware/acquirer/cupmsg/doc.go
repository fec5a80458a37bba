// Package cupmsg is the China UnionPay POS dialect of ISO 8583 as both ends
// of the link speak it: the message spec (moov-io/iso8583) and its field
// encodings, the TPDU and header framing, the MAC block, the sub-fields of
// fields 44, 48, 54, 60 and 61, the private tags of fields 59 and 62, the
// typed messages of the financial path (messages.go) and of the management
// path (management.go), and what field 62 carries in the downloads
// (downloads.go), which the terminal (package acquirer) and the host
// simulator both fill and read, so that a field is declared in one place.
//
// It knows bytes and fields only: not transaction kinds, keys, the link or
// what a response code means to a merchant (package acquirer). It never logs
// or formats a PAN, track, PIN block or key in the clear.
package cupmsg
