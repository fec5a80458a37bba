package hostsim

import (
	"bytes"
	"testing"

	"kpos/firmware/acquirer"
)

// FuzzHostRequest feeds the host arbitrary request bodies from a signed-on
// terminal (seeded with real, MAC'd requests): it must never panic, and
// whatever it answers is a frame that unpacks with the dialect.
func FuzzHostRequest(f *testing.F) {
	r := newRigTB(f)
	if err := r.client.SignOn(f.Context(), r.nextTrace(), 1); err != nil {
		f.Fatal(err)
	}
	tk := r.host.terms[testTID]
	mac := hostMAC{key: tk.macKey, alg: tk.alg}
	codec := acquirer.NewCodec()
	id := acquirer.Identity{TID: testTID, MID: testMID}
	for _, req := range []acquirer.Request{r.chipSale(100), r.chipSale(151), {Kind: acquirer.KindQRSale, Trace: 90, Batch: 1, Amount: 5}} {
		m, err := acquirer.BuildRequest(codec, req, id, "")
		if err != nil {
			f.Fatal(err)
		}
		body, err := codec.Pack(m, mac)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	tpdu, _ := acquirer.ParseTPDU("6000030000")
	hdr, _ := acquirer.ParseHeader("603100310100")
	f.Fuzz(func(t *testing.T, body []byte) {
		out, _ := r.host.handle(acquirer.Frame{TPDU: tpdu, Header: hdr, Body: body})
		if out == nil {
			return
		}
		fr, err := acquirer.ReadFrame(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("host wrote a bad frame: %v", err)
		}
		if _, err := codec.Unpack(fr.Body); err != nil {
			t.Fatalf("host answer does not unpack: %v", err)
		}
	})
}
