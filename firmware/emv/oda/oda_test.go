package oda

import (
	"bytes"
	"errors"
	"testing"

	"kpos/firmware/emv/capk"
	"kpos/firmware/emv/tlv"
)

func TestSignatureFrom(t *testing.T) {
	cases := []struct {
		name string
		resp []byte
		want []byte
		err  error
	}{
		{"format 1", []byte{0x80, 0x02, 0xAA, 0xBB}, []byte{0xAA, 0xBB}, nil},
		{"format 2", tlv.Encode(0x77, tlv.Encode(0x9F4B, []byte{0xCC})), []byte{0xCC}, nil},
		{"format 2 without 9F4B", tlv.Encode(0x77, tlv.Encode(0x9F36, []byte{0, 1})), nil, capk.ErrMissing},
		{"not TLV", []byte{0x80, 0x05}, nil, capk.ErrFormat},
	}
	for _, c := range cases {
		got, err := SignatureFrom(c.resp)
		if !bytes.Equal(got, c.want) || !errors.Is(err, c.err) {
			t.Errorf("%s: %X, %v", c.name, got, err)
		}
	}
}

func TestDynamicNumber(t *testing.T) {
	if idn, ok := DynamicNumber([]byte{0x02, 0x11, 0x22, 0x33}); !ok || !bytes.Equal(idn, []byte{0x11, 0x22}) {
		t.Errorf("IDN %X %t", idn, ok)
	}
	if _, ok := DynamicNumber([]byte{0x05, 0x11}); ok {
		t.Error("IDN longer than the data")
	}
}

func TestStaticData(t *testing.T) {
	d := &Data{ICC: map[tlv.Tag][]byte{0x9F4A: {0x82}}, AIP: [2]byte{0x7C, 0x00}, Records: []byte{0x5A, 0x01, 0x12}}
	if got, err := d.StaticData(); err != nil || !bytes.Equal(got, []byte{0x5A, 0x01, 0x12, 0x7C, 0x00}) {
		t.Errorf("static data %X, %v", got, err)
	}
	d.ICC[0x9F4A] = []byte{0x5A}
	if _, err := d.StaticData(); !errors.Is(err, capk.ErrFormat) {
		t.Errorf("tag list other than 82: %v", err)
	}
	d.RecordsBad = true
	if _, err := d.SDA(); !errors.Is(err, capk.ErrFormat) {
		t.Errorf("SDA over a bad record: %v", err)
	}
	if _, err := (&Data{ICC: map[tlv.Tag][]byte{}}).IssuerKey(); !errors.Is(err, capk.ErrMissing) {
		t.Errorf("no CA key index: %v", err)
	}
}
