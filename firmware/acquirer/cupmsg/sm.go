package cupmsg

import "github.com/moov-io/iso8583"

// PINBlockLenSM4 is field 52's length in the SM mode of the dialect
// (docs/acquirer.md, "SM mode"): the 16-byte SM4 PIN block, where the 3DES
// mode carries 8 bytes.
const PINBlockLenSM4 = 16

// newSMSpec is the dialect with field 52 sized for the SM4 PIN block.
func newSMSpec() *iso8583.MessageSpec {
	s := newSpec()
	s.Name = "China UnionPay POS, SM mode"
	s.Fields[52] = b(PINBlockLenSM4, "PIN Data (SM4 PIN block)")
	return s
}

// NewSMCodec returns a codec for the dialect's SM mode.
func NewSMCodec() *Codec { return &Codec{spec: newSMSpec()} }
