package cardsim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"kpos/firmware/emv/tlv"
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

// CryptogramInput rebuilds, from the ICC data of an authorization (the
// field 55 tag set), the data the simulated card computed its application
// cryptogram over, so that a host can verify the ARQC: 9F02 9F03 9F1A 95
// 5F2A 9A 9C 9F37 (zeros where absent; TVR zeros when the CVR says the
// cryptogram came with a qPBOC/qVSDC GPO), then 82, 9F36 and the CVR from 9F10.
// The CVR is four bytes (with its length byte) at offset 3 of the IAD for
// UnionPay and Visa, six bytes at offset 2 for Mastercard (tag 84 or 4F
// says which).
func CryptogramInput(field55 []byte) ([]byte, error) {
	objs, err := tlv.Parse(field55)
	if err != nil {
		return nil, fmt.Errorf("cardsim: ICC data: %w", err)
	}
	vals := map[tlv.Tag][]byte{}
	_ = tlv.Walk(objs, func(o tlv.TLV) error { vals[o.Tag] = o.Value; return nil })
	aip, atc, iad := vals[0x82], vals[0x9F36], vals[0x9F10]
	if len(aip) != 2 || len(atc) != 2 {
		return nil, errors.New("cardsim: ICC data lacks AIP or ATC")
	}
	aid := vals[0x84]
	if aid == nil {
		aid = vals[0x4F]
	}
	var cvn byte = 0x01
	if bytes.HasPrefix(aid, []byte{0xA0, 0x00, 0x00, 0x00, 0x04}) {
		cvn = 0x10
	}
	off, n := cvrSpan(cvn)
	if len(iad) < off+n {
		return nil, errors.New("cardsim: ICC data: issuer application data too short")
	}
	return acData(aip, atc, iad[off:off+n], vals), nil
}
