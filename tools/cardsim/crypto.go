package cardsim

import (
	"encoding/binary"

	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
)

// terminalData picks the transaction data an application cryptogram covers
// from the DOL data the terminal sent (the first map holding a tag of the
// right length wins; zeros stand in for a tag no DOL asked for), with the
// card's AIP and ATC. The TVR is the one the terminal sent: for qPBOC and
// qVSDC that is the TVR in the PDOL data of the GPO.
func terminalData(aip []byte, atc uint16, vals ...map[tlv.Tag][]byte) emvcrypto.TerminalData {
	return emvcrypto.TerminalData{
		Amount: lookup(0x9F02, 6, vals...), AmountOther: lookup(0x9F03, 6, vals...),
		Country: lookup(0x9F1A, 2, vals...), TVR: lookup(0x95, 5, vals...),
		Currency: lookup(0x5F2A, 2, vals...), Date: lookup(0x9A, 3, vals...),
		Type: lookup(0x9C, 1, vals...), UN: lookup(0x9F37, 4, vals...),
		AIP: aip, ATC: binary.BigEndian.AppendUint16(nil, atc),
	}
}

// lookup returns the first n-byte value of t in vals, or n zeros.
func lookup(t tlv.Tag, n int, vals ...map[tlv.Tag][]byte) []byte {
	for _, m := range vals {
		if x, found := m[t]; found && len(x) == n {
			return x
		}
	}
	return make([]byte, n)
}

// ac computes the application cryptogram of the current transaction the
// way the application's version defines it (emvcrypto.Version): its key,
// its input (the CVR and counters as the IAD holds them now) and its
// padding. The key of the first cryptogram is kept for the ARPC.
func (c *Card) ac(vals ...map[tlv.Tag][]byte) ([8]byte, error) {
	a := c.tx.app
	d := terminalData(c.tx.path.AIP[:], c.atc, vals...)
	key, err := a.Version.ACKey(a.iccMK, d.ATC, d.UN)
	if err != nil {
		return [8]byte{}, err
	}
	if c.tx.sk == nil {
		c.tx.sk = key
	}
	in, err := a.Version.Input(d, c.tx.iad)
	if err != nil {
		return [8]byte{}, err
	}
	return a.Version.Cryptogram(key, in)
}
