package hostsim

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"kpos/firmware/acquirer"
	"kpos/firmware/emv/tlv"
	"kpos/firmware/emvcrypto"
	"kpos/firmware/emvcrypto/cvntest"
)

// vectorField55 is the field 55 a terminal would send for a vector: the
// vector's transaction data, ATC, AIP, IAD and cryptogram, and an AID of
// its scheme.
func vectorField55(v cvntest.Vector) []byte {
	d := v.Data()
	var out []byte
	for _, e := range []struct {
		tag tlv.Tag
		v   []byte
	}{{0x9F26, cvntest.MustHex(v.ARQC)}, {0x9F27, []byte{0x80}}, {0x9F10, v.IAD()}, {0x9F37, d.UN},
		{0x9F36, d.ATC}, {0x95, d.TVR}, {0x9A, d.Date}, {0x9C, d.Type}, {0x9F02, d.Amount},
		{0x5F2A, d.Currency}, {0x82, d.AIP}, {0x9F1A, d.Country}, {0x9F03, d.AmountOther}, {0x84, v.AID()}} {
		out = tlv.Append(out, e.tag, e.v)
	}
	return out
}

// TestIssuerVerifiesTheVectors verifies every vector of emv-cvn-vectors.json
// as the host does, from field 55 and the PAN and PSN alone, and answers it
// with the vector's ARPC. The Visa CVN 22 vectors carry a made-up 9F10 that
// names no version (its byte 2 is 4A, not 16), so they are verified by
// version, as the host does once the IAD has named it.
func TestIssuerVerifiesTheVectors(t *testing.T) {
	vs, err := cvntest.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		t.Run(v.Name(), func(t *testing.T) {
			imk := cvntest.MustHex(v.IMKAC)
			var cg *Cryptogram
			if v.Version() == emvcrypto.VisaCVN22 {
				cg, err = verifyVersion(v.Version(), imk, v.PAN, v.PSN, v.Data(), v.IAD(), cvntest.MustHex(v.ARQC))
			} else {
				cg, err = VerifyARQC(imk, v.PAN, v.PSN, bcdValue(v.Data().Amount), vectorField55(v))
			}
			if err != nil {
				t.Fatal(err)
			}
			if cg.Version != v.Version() {
				t.Fatalf("version %v, want %v", cg.Version, v.Version())
			}
			var ia []byte
			if cg.Version.ARPCMethod() == 2 {
				ia, err = cg.Version.IssuerAuthData(cg.iccMK, cg.acKey, cg.ARQC, nil, cvntest.MustHex(v.CSU))
			} else {
				ia, err = cg.IssuerAuthData("00") // the vectors' ARC 3030
			}
			if err != nil || !bytes.Equal(ia, v.IssuerAuthData()) {
				t.Fatalf("tag 91 %X (%v), want %X", ia, err, v.IssuerAuthData())
			}
			if v.Version() == emvcrypto.VisaCVN22 {
				return
			}
			// Wrong PSN, wrong amount: no longer the card's cryptogram.
			if _, err := VerifyARQC(imk, v.PAN, "02", bcdValue(v.Data().Amount), vectorField55(v)); !errors.Is(err, ErrARQC) {
				t.Fatalf("another PSN: %v", err)
			}
			if _, err := VerifyARQC(imk, v.PAN, v.PSN, bcdValue(v.Data().Amount)+1, vectorField55(v)); !errors.Is(err, ErrARQC) {
				t.Fatalf("another amount: %v", err)
			}
		})
	}
}

// TestIssuerDeclinesField55ChangedInOneByte sends a chip sale whose field 55
// differs from what the card signed in one byte of each covered element in
// turn (and of the IAD): the host declines it with CodeIssuerAuthFailed and
// counts it, and approves the unchanged one.
func TestIssuerDeclinesField55ChangedInOneByte(t *testing.T) {
	r := newRig(t, nil)
	r.signOn()
	good := r.chipSale(100).ICCData
	objs, err := tlv.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	tags := []tlv.Tag{0x9F26, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x5F2A, 0x82, 0x9F1A, 0x9F03}
	for i, tag := range tags {
		if _, ok := tlv.Find(objs, tag); !ok {
			t.Fatalf("no %v in field 55", tag)
		}
		// The one changed byte: the last of the element's value (inside
		// the CVR for the IAD).
		var bad []byte
		for _, o := range objs {
			v := o.Value
			if o.Tag == tag {
				v = bytes.Clone(v)
				at := len(v) - 1
				if tag == 0x9F10 {
					at = 4
				}
				v[at] ^= 0x01
			}
			bad = tlv.Append(bad, o.Tag, v)
		}
		if len(bad) != len(good) {
			t.Fatal("re-encoded field 55 changed length")
		}
		q := r.chipSale(100)
		q.ICCData = bad
		resp, err := r.client.Do(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != CodeIssuerAuthFailed || resp.Approved() {
			t.Fatalf("%v changed: answered %s", tag, resp.Code)
		}
		if n := r.host.IssuerAuthFailures(); n != i+1 {
			t.Fatalf("%d failures counted after %d", n, i+1)
		}
		if _, has := tlv.Find(mustParse(t, resp.ICCData), 0x91); has {
			t.Fatal("an ARPC for a cryptogram that did not verify")
		}
	}
	q := r.chipSale(100)
	if resp, err := r.client.Do(context.Background(), q); err != nil || resp.Code != "00" {
		t.Fatalf("the unchanged field 55: %+v %v", resp, err)
	}
	if n := r.host.IssuerAuthFailures(); n != len(tags) {
		t.Fatalf("%d failures counted, want %d", n, len(tags))
	}
	if _, _, action := acquirer.Describe(CodeIssuerAuthFailed); action != acquirer.ActionDecline {
		t.Fatalf("the terminal reads %s as %q", CodeIssuerAuthFailed, action)
	}
}

func mustParse(t *testing.T, b []byte) []tlv.TLV {
	t.Helper()
	objs, err := tlv.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestVerifyARQCRefusesIncompleteData: field 55 that lacks an element the
// cryptogram covers, or names no version, is refused before any key work.
func TestVerifyARQCRefusesIncompleteData(t *testing.T) {
	icc, _, _ := iccData(t, upIMK, debitPAN, "01", 100, 0x42, false)
	objs := mustParse(t, icc)
	var without []byte
	for _, o := range objs {
		if o.Tag != 0x9F37 {
			without = tlv.Append(without, o.Tag, o.Value)
		}
	}
	if _, err := VerifyARQC(mustHex(t, upIMK), debitPAN, "01", 100, without); !errors.Is(err, ErrICCData) {
		t.Fatalf("no 9F37: %v", err)
	}
	var unknown []byte
	for _, o := range objs {
		v := o.Value
		if o.Tag == 0x9F10 {
			v = bytes.Clone(v)
			v[2] = 0x07
		}
		unknown = tlv.Append(unknown, o.Tag, v)
	}
	if _, err := VerifyARQC(mustHex(t, upIMK), debitPAN, "01", 100, unknown); !errors.Is(err, ErrICCData) {
		t.Fatalf("unknown CVN: %v", err)
	}
	if _, err := VerifyARQC(mustHex(t, upIMK), debitPAN, "01", 100, icc); err != nil {
		t.Fatalf("the complete data: %v", err)
	}
}

// FuzzVerifyARQC feeds the host's field 55 reader arbitrary ICC data.
func FuzzVerifyARQC(f *testing.F) {
	icc, _, _ := iccData(f, upIMK, debitPAN, "01", 100, 0x42, false)
	f.Add(icc)
	f.Add([]byte{0x9F, 0x10, 0x01})
	imk := mustHex(f, upIMK)
	f.Fuzz(func(t *testing.T, b []byte) {
		cg, err := VerifyARQC(imk, debitPAN, "01", 100, b)
		if (err == nil) != (cg != nil) {
			t.Fatalf("result %v with error %v", cg, err)
		}
	})
}
