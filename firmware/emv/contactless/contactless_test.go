package contactless

import (
	"errors"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/genac"
)

func TestTTQ(t *testing.T) {
	cl := emvconfig.Contactless{TTQ: [4]byte{0x26, 0xC0, 0x00, 0x80}, FloorLimit: 1000, CVMLimit: 3000, TxnLimit: 10000}
	cases := []struct {
		name   string
		amount int64
		force  bool
		byte2  byte
		err    error
	}{
		{"under the floor limit", 500, false, 0x00, nil},
		{"forced online", 500, true, 0x80, nil},
		{"zero amount", 0, false, 0x80, nil},
		{"over the floor limit", 2000, false, 0x80, nil},
		{"at the CVM limit", 3000, false, 0xC0, nil},
		{"at the transaction limit", 10000, false, 0, ErrOverLimit},
	}
	for _, c := range cases {
		ttq, err := TTQ(cl, c.amount, c.force)
		if !errors.Is(err, c.err) || err == nil && (ttq[1] != c.byte2 || ttq[0] != 0x26 || ttq[3] != 0x80) {
			t.Errorf("%s: %X, %v", c.name, ttq, err)
		}
	}
}

func TestCID(t *testing.T) {
	cases := []struct {
		cid, iad []byte
		want     byte
	}{
		{[]byte{0x40}, nil, 0x40},
		{nil, []byte{0x06, 0x01, 0x0A, 0x03, 0x10}, genac.TC},
		{nil, []byte{0x06, 0x01, 0x0A, 0x03, 0x20}, genac.ARQC},
		{nil, []byte{0x06, 0x01, 0x0A, 0x03, 0x00}, genac.AAC},
		{nil, []byte{0x06}, genac.AAC},
	}
	for _, c := range cases {
		if got := CID(c.cid, c.iad); got != c.want {
			t.Errorf("CID(%X, %X) = %02X, want %02X", c.cid, c.iad, got, c.want)
		}
	}
}

func TestODAFailed(t *testing.T) {
	cases := []struct {
		ctq    []byte
		online bool
		want   Outcome
	}{
		{[]byte{0x20, 0x00}, true, Online},
		{[]byte{0x20, 0x00}, false, Decline},
		{[]byte{0x10, 0x00}, true, OtherInterface},
		{nil, true, Decline},
	}
	for _, c := range cases {
		if got := ODAFailed(c.ctq, c.online); got != c.want {
			t.Errorf("ODAFailed(%X, %t) = %d, want %d", c.ctq, c.online, got, c.want)
		}
	}
}

func TestChooseCVM(t *testing.T) {
	cvmReq := []byte{0x06, 0x40, 0x00, 0x00} // online PIN and signature supported, CVM required
	cases := []struct {
		name   string
		ttq    []byte
		ctq    []byte
		online bool
		want   CVM
		cvmr   [3]byte
	}{
		{"not required", []byte{0x06, 0x00, 0x00, 0x00}, nil, true, NoCVM, [3]byte{0x1F, 0x00, 0x02}},
		{"done on the phone", cvmReq, []byte{0x80, 0x80}, true, CDCVM, [3]byte{0x3F, 0x00, 0x00}},
		{"card asks online PIN", cvmReq, []byte{0x80, 0x00}, true, OnlinePIN, [3]byte{0x3F, 0x00, 0x00}},
		{"card asks signature", cvmReq, []byte{0x40, 0x00}, true, Signature, [3]byte{0x1E, 0x03, 0x00}},
		{"no CTQ, online", cvmReq, nil, true, OnlinePIN, [3]byte{0x3F, 0x00, 0x00}},
		{"no CTQ, offline", cvmReq, nil, false, Signature, [3]byte{0x1E, 0x03, 0x00}},
		{"nothing shared", []byte{0x00, 0x40, 0x00, 0x00}, nil, false, Failed, [3]byte{0x3F, 0x00, 0x00}},
	}
	for _, c := range cases {
		if got, cvmr := ChooseCVM(c.ttq, c.ctq, c.online); got != c.want || cvmr != c.cvmr {
			t.Errorf("%s: %d %X, want %d %X", c.name, got, cvmr, c.want, c.cvmr)
		}
	}
}
