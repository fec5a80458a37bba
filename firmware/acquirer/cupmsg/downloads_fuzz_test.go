package cupmsg

import (
	"bytes"
	"reflect"
	"testing"
)

func testCAKey() CAKey {
	return CAKey{RID: []byte{0xA0, 0, 0, 3, 0x33}, Index: 0xE1, Expiry: "20351231", Modulus: bytes.Repeat([]byte{0xC3}, 128),
		Exponent: []byte{3}, Checksum: bytes.Repeat([]byte{0x5A}, 20), Algorithm: 1}
}

// TestDownloadEntries: what the host writes in field 62 of the download
// sequence, the terminal reads back to the same values.
func TestDownloadEntries(t *testing.T) {
	for _, k := range []CAKey{testCAKey(), {RID: []byte{0xA0, 0, 0, 3, 0x33}, Index: 0x01, Expiry: "20301231",
		Modulus: bytes.Repeat([]byte{0x11}, 64), Checksum: []byte{1}, Algorithm: CAKeySM2}} {
		got, err := ParseCAKey(k.TLV())
		if err != nil || !reflect.DeepEqual(got, k) {
			t.Fatalf("CA key %+v read back as %+v %v", k, got, err)
		}
		id := CAKeyID{RID: k.RID, Index: k.Index, Expiry: k.Expiry}
		more, entries, err := ParseStatus(append([]byte{StatusLast}, id.TLV()...), CAKeyIDWidth)
		if err != nil || more || len(entries) != 1 {
			t.Fatalf("status %v %d %v", more, len(entries), err)
		}
		if back, err := CAKeyIDOf(entries[0]); err != nil || !reflect.DeepEqual(back, id) {
			t.Fatalf("CA key ID %+v read back as %+v %v", id, back, err)
		}
		rid, idx, err := ParseCAKeyQuery(id.Query())
		if err != nil || !bytes.Equal(rid, k.RID) || !bytes.Equal(idx, []byte{k.Index}) {
			t.Fatalf("query %X %X %v", rid, idx, err)
		}
	}
	aid := []byte{0xA0, 0, 0, 3, 0x33, 1, 1, 1}
	if got, err := ParseAIDQuery(AIDQuery(aid)); err != nil || !bytes.Equal(got, aid) {
		t.Fatalf("AID query %X %v", got, err)
	}
	if got, err := ParseDownloaded(Downloaded([]byte{1, 2})); err != nil || !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("downloaded %X %v", got, err)
	}
	if _, err := ParseDownloaded(Downloaded(nil)); err != ErrNotHeld {
		t.Fatalf("nothing downloaded: %v", err)
	}
	p := Params{TxnLimit: 2000000, DailyLimit: 5000000, FeeBP: map[string]int{"qr": 30, "card": 60}, SettlementTime: "23:00",
		HostAddr: "127.0.0.1:5800", APN: "cmnet", Methods: []string{"card", "qr"}, MCC: "5411", City: "上海", AcquirerIIN: "48020000"}
	if got := ParamsOf(p.Tags()); !reflect.DeepEqual(got, p) {
		t.Fatalf("parameters %+v read back as %+v", p, got)
	}
}

// FuzzDownloadEntries feeds the readers of field 62 of the download
// sequence (status pages, downloaded entries, CA keys, IC parameters and
// the requests naming them) arbitrary bytes: no panic, and what is
// accepted encodes back to something that reads the same.
func FuzzDownloadEntries(f *testing.F) {
	f.Add(append([]byte{StatusLast}, testCAKey().TLV()...))
	f.Add(CAKeyID{RID: []byte{0xA0, 0, 0, 3, 0x33}, Index: 2}.Query())
	f.Add(AIDQuery([]byte{0xA0, 0, 0, 3, 0x33, 1, 1, 1}))
	f.Add([]byte("105"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if entry, err := ParseDownloaded(b); err == nil {
			if k, err := ParseCAKey(entry); err == nil {
				if back, err := ParseCAKey(k.TLV()); err != nil || back.Index != k.Index || !bytes.Equal(back.Modulus, k.Modulus) {
					t.Fatalf("CA key %+v re-reads as %+v %v", k, back, err)
				}
			}
			if p, err := ParseICParams(entry); err == nil {
				if _, err := ParseICParams(p.TLV()); err != nil {
					t.Fatalf("IC parameters' own encoding refused: %v", err)
				}
			}
		}
		if rid, idx, err := ParseCAKeyQuery(b); err == nil && len(idx) == 1 {
			back, backIdx, err := ParseCAKeyQuery(CAKeyID{RID: rid, Index: idx[0]}.Query())
			if err != nil || !bytes.Equal(back, rid) || !bytes.Equal(backIdx, idx) {
				t.Fatalf("CA key query %X/%X re-reads as %X/%X %v", rid, idx, back, backIdx, err)
			}
		}
		if aid, err := ParseAIDQuery(b); err == nil {
			if back, err := ParseAIDQuery(AIDQuery(aid)); err != nil || !bytes.Equal(back, aid) {
				t.Fatalf("AID query %X re-reads as %X %v", aid, back, err)
			}
		}
		if page, ok := StatusPage(b, [][]byte{b, b}); ok && (len(page) == 0 || page[0] < StatusNone || page[0] > StatusMore) {
			t.Fatalf("status page %q", page)
		}
		if tags, err := ParseTags(b); err == nil {
			p := ParamsOf(tags)
			if again := ParamsOf(p.Tags()); again.TxnLimit != p.TxnLimit || again.MCC != p.MCC {
				t.Fatalf("parameters %+v re-read as %+v", p, again)
			}
		}
	})
}
