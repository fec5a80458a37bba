package cardsim

import (
	"encoding/binary"

	"kpos/firmware/emvcrypto"
)

// sessionKey derives the EMV common session key for the ATC.
func sessionKey(iccMK []byte, atc uint16) ([]byte, error) {
	return emvcrypto.SessionKeyCommon(iccMK, binary.BigEndian.AppendUint16(nil, atc))
}

// arqc computes an application cryptogram.
func arqc(sk, data []byte) ([8]byte, error) { return emvcrypto.ARQC(sk, data) }

// arpc computes an ARPC with method 1.
func arpc(key, ac, arc []byte) ([8]byte, error) { return emvcrypto.ARPCMethod1(key, ac, arc) }
