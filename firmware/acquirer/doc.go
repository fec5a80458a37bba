// Package acquirer is the terminal's link to its acquirer's host: the China
// UnionPay POS dialect of ISO 8583 as one declarative spec (moov-io/iso8583),
// the TPDU and header framing, the MAC over each message, sign-on with
// working-key download, the message of every transaction kind, reversals,
// settlement and batch upload, the K-code activation exchange, and what the
// host's response codes mean to a merchant.
//
// It must not know the transaction state machine, the journal, the EMV
// kernel's internals or where keys are kept: it receives a hal.Link to
// dial, a key store to MAC and to install keys in, and requests in the
// terminal's terms (api.go). It never logs or formats a PAN, track, PIN block
// or key in the clear.
package acquirer
