package acquirer

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestICParamsRoundTrip(t *testing.T) {
	p := ICParams{AID: []byte{0xA0, 0, 0, 3, 0x33, 1, 1, 1}, Partial: true, Version: []byte{0x00, 0x30},
		TACDefault: []byte{0xD8, 0x40, 0, 0xA8, 0}, TACOnline: []byte{0xD8, 0x40, 4, 0xF8, 0}, TACDenial: []byte{0, 0x10, 0, 0, 0},
		FloorLimit: 20000, RandomThreshold: 5000, RandomMax: 50, RandomTarget: 20, DDOL: []byte{0x9F, 0x37, 0x04},
		OnlinePIN: true, CLFloorLimit: 50000, CLTxnLimit: 500000, CLCVMLimit: 100000}
	got, err := ParseICParams(p.TLV())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("read back %+v\nwant %+v", got, p)
	}
	if !bytes.Contains(p.TLV(), []byte{0xDF, 0x19, 0x06, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00}) {
		t.Fatal("contactless floor limit is not n 12 in DF19")
	}
	for _, bad := range [][]byte{
		nil,
		{0x9F, 0x06, 0x02, 0xA0, 0x00},          // short AID, nothing else
		append(p.TLV(), 0xDF, 0x19, 0x01, 0xAA), // a second DF19, not n 12
	} {
		if _, err := ParseICParams(bad); !errors.Is(err, ErrNoAnswer) {
			t.Errorf("ParseICParams(%X): %v", bad, err)
		}
	}
}

// FuzzParseICParams feeds the host's IC parameter reader arbitrary bytes.
func FuzzParseICParams(f *testing.F) {
	f.Add(ICParams{AID: []byte{0xA0, 0, 0, 0, 3, 0x10, 0x10}, Version: []byte{0, 0x8C}, TACDefault: make([]byte, 5),
		TACOnline: make([]byte, 5), TACDenial: make([]byte, 5)}.TLV())
	f.Add([]byte{0xDF, 0x19, 0x06, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseICParams(b)
		if err != nil {
			return
		}
		if len(p.AID) < 5 || p.CLFloorLimit < 0 || p.CLTxnLimit < 0 || p.CLCVMLimit < 0 {
			t.Fatalf("accepted %+v", p)
		}
		if _, err := ParseICParams(p.TLV()); err != nil {
			t.Fatalf("its own encoding refused: %v", err)
		}
	})
}
