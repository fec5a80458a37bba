package emv

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"kpos/firmware/emv/tlv"
	"kpos/hal"
	"kpos/hal/fake"
)

// fuzzCard answers every command with the next chunk of the fuzz input
// (two-byte length, then the response), and "6A82" once the input is used
// up; it ignores what the kernel sends.
type fuzzCard struct {
	data  []byte
	iface hal.CardInterface
	n     int
}

func (c *fuzzCard) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	c.n++
	if c.n > 200 {
		return nil, errors.New("fuzz: too many commands")
	}
	if len(c.data) < 2 {
		return []byte{0x6A, 0x82}, nil
	}
	l := int(binary.BigEndian.Uint16(c.data))
	c.data = c.data[2:]
	if l > len(c.data) {
		l = len(c.data)
	}
	r := c.data[:l]
	c.data = c.data[l:]
	return append([]byte(nil), r...), nil
}

func (c *fuzzCard) ATR() []byte                  { return []byte{0x3B, 0x00} }
func (c *fuzzCard) Interface() hal.CardInterface { return c.iface }

// chunks encodes a script's responses in fuzzCard form, as a seed that
// takes the fuzzer through a whole transaction.
func chunks(script []fake.Exchange) []byte {
	var out []byte
	for _, e := range script {
		out = binary.BigEndian.AppendUint16(out, uint16(len(e.Response)))
		out = append(out, e.Response...)
	}
	return out
}

// FuzzKernel feeds arbitrary card responses to a whole transaction and
// its completion: the kernel must end with a result or an error, never a
// panic.
func FuzzKernel(f *testing.F) {
	cfg := testConfig(f)
	k, err := NewKernel(cfg, WithRandom(fixedRand{mustHex("12345678")}))
	if err != nil {
		f.Fatal(err)
	}
	tail := []fake.Exchange{x("00", sw("9000")), x("00", ok(T(0x80, "40 0001 8877665544332211 07010103600000")))}
	f.Add(chunks(append(upOnlineStart("1C00"), tail...)), false, []byte{})
	f.Add(chunks(append(upOnlineStart("1C00"), tail...)), false, T(0x71, T(0x86, "8418000000")))
	r1, r2 := odaRecords(f, "7D00", "cda", cvmOnline, "7E")
	f.Add(chunks(append(odaStart(r1, r2, "7D00"), x("00", cdaResponse(f, "80", "1122334455667788", false, cdol1Online)))), false, []byte{})
	r1, r2 = odaRecords(f, "7C00", "dda", cvmOnline, "7E")
	f.Add(chunks(append(odaStart(r1, r2, "7C00"), x("00", ok(T(0x80, thePKI(f).sdad(mustHex(idn), mustHex("12345678"))))))), false, []byte{})
	f.Add(chunks([]fake.Exchange{
		x("00", ppseFCI(dirEntry(upAID, "UnionPay Debit", "01"))),
		x("00", appFCI(upAID, "UnionPay Debit", clPDOL)),
		x("00", ok(T(0x77, T(0x82, "2000"), T(0x94, "08010201"), T(0x57, upTrack2), T(0x9F10, "07010103900000"), T(0x9F26, "1122334455667788"), T(0x9F36, "0007")))),
		x("00", qpbocRecord()), x("00", qpbocKeys(f)),
	}), true, []byte{})
	f.Fuzz(func(t *testing.T, data []byte, contactless bool, scripts []byte) {
		iface := hal.Contact
		if contactless {
			iface = hal.Contactless
		}
		card := &fuzzCard{data: data, iface: iface}
		res, on, err := k.Start(context.Background(), card, sale(10000), &cardholder{})
		if err != nil {
			if on != nil {
				t.Fatal("online state returned with an error")
			}
			return
		}
		if _, err := tlv.Parse(res.ICCData); err != nil {
			t.Fatalf("kernel built bad ICC data: %v", err)
		}
		if on == nil {
			return
		}
		fin, err := on.Complete(context.Background(), HostResponse{Answered: true, Approved: true, ResponseCode: "00", IssuerAuthData: mustHex("AABBCCDDEEFF3030"), Scripts: scripts})
		if err != nil && !fin.Reverse {
			t.Fatalf("completion failed after a host approval without asking for a reversal: %v", err)
		}
		if err == nil && fin.Decision != Approved && !fin.Reverse {
			t.Fatalf("host approved, card %v, no reversal", fin.Decision)
		}
	})
}
