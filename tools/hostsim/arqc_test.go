package hostsim

import (
	"bytes"
	"testing"

	"kpos/firmware/emv/tlv"
	"kpos/tools/cardsim"
)

// TestARQCInputAgreesWithTheCardSimulator checks the host's ARQC input
// against the card simulator's own rebuild of what its cards MAC, for a
// UnionPay contact card, a qPBOC card (TVR left out) and a Mastercard.
func TestARQCInputAgreesWithTheCardSimulator(t *testing.T) {
	data, err := LoadData("../../testdata/host")
	if err != nil {
		t.Fatal(err)
	}
	base := func(aid, iad, tvr string) []byte {
		var b []byte
		for _, e := range []struct {
			tag tlv.Tag
			hex string
		}{{0x9F26, "0102030405060708"}, {0x9F27, "80"}, {0x9F10, iad}, {0x9F37, "12345678"}, {0x9F36, "0042"},
			{0x95, tvr}, {0x9A, "261122"}, {0x9C, "00"}, {0x9F02, "000000012345"}, {0x5F2A, "0156"},
			{0x82, "7C00"}, {0x9F1A, "0156"}, {0x9F03, "000000000000"}, {0x84, aid}} {
			b = tlv.Append(b, e.tag, mustHex(t, e.hex))
		}
		return b
	}
	tests := []struct {
		name, pan, aid, iad, tvr string
		quick                    bool
	}{
		{"UnionPay contact", debitPAN, "A000000333010101", "07010103A00000010A01000000000000", "0000008000", false},
		{"UnionPay qPBOC", debitPAN, "A000000333010101", "07010103A00100000A01000000000000", "0000008000", true},
		{"Mastercard M/Chip", "5413330089010434", "A0000000041010", "0110A00003220000000000000000000000FF", "0000000000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f55 := base(tt.aid, tt.iad, tt.tvr)
			want, err := cardsim.CryptogramInput(f55)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := tlv.Parse(f55)
			if err != nil {
				t.Fatal(err)
			}
			got := arqcData(data.issuerFor(tt.pan), objs)
			if tvrZero := bytes.Equal(got[14:19], make([]byte, 5)); tvrZero != (tt.quick || tt.tvr == "0000000000") {
				t.Fatalf("TVR in the input %X, quick path %v", got[14:19], tt.quick)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("host ARQC input\n %X\ncard simulator\n %X", got, want)
			}
		})
	}
}
