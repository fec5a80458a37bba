// Package cardsim is a simulated EMV card built from a profile file
// (testdata/cards/*.toml, described in docs/cardsim.md): applications and
// their records, PDOL and CDOLs, issuer master key for application
// cryptograms, RSA keys and certificates for SDA, DDA, CDA and fDDA signed by
// the project's test CA, offline PIN with its try counter, the ATC, and
// behaviour switches (decline, ask for online, blocked application, issuer
// script results, CDCVM).
//
// A Card answers command APDUs as a card would: SELECT (PSE, PPSE, AIDs,
// partial names), GET PROCESSING OPTIONS, READ RECORD, GET DATA, INTERNAL
// AUTHENTICATE, VERIFY, GET CHALLENGE, GENERATE AC (first and second, with
// CDA), EXTERNAL AUTHENTICATE and issuer script commands, with the status
// words of EMV Book 3 for everything else. It serves as a hal.Card in
// process, and as a virtual card of pcscd's vpcd reader driver (ServeVPCD),
// so that the real PC/SC driver can be tested against it.
//
// cardsim is test equipment: its keys are test keys. It must not be linked
// into the terminal firmware, and it must not know anything about the
// terminal's kernel beyond what crosses the card interface.
package cardsim
