package cupmsg

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// goldenBodies are the message bodies of the golden files of the financial
// and the management paths.
func goldenBodies(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	raw, err := os.ReadFile("../testdata/typed-messages.json")
	if err != nil {
		t.Fatal(err)
	}
	var fin map[string]string
	if err := json.Unmarshal(raw, &fin); err != nil {
		t.Fatal(err)
	}
	for _, h := range fin {
		b, _ := hex.DecodeString(h)
		out = append(out, b)
	}
	raw, err = os.ReadFile("../../../tools/hostsim/testdata/management-wire.json")
	if err != nil {
		t.Fatal(err)
	}
	var mgmt []struct{ Request, Answer string }
	if err := json.Unmarshal(raw, &mgmt); err != nil {
		t.Fatal(err)
	}
	for _, x := range mgmt {
		for _, h := range []string{x.Request, x.Answer} {
			b, _ := hex.DecodeString(h)
			out = append(out, b)
		}
	}
	return out
}

// typedKinds makes an empty value of every typed message.
var typedKinds = []func() any{
	func() any { return &Request{} }, func() any { return &Reversal{} }, func() any { return &Response{} },
	func() any { return &Management{} }, func() any { return &Settlement{} }, func() any { return &ManagementResponse{} },
}

// planAgrees checks that body reads into every typed message through its
// plan as through the library's Unmarshal, and marshals back through the
// plan to the bytes the library's Marshal makes.
func planAgrees(t *testing.T, c *Codec, body []byte) {
	m, err := c.Unpack(body)
	if err != nil {
		return
	}
	for _, mk := range typedKinds {
		byPlan, byLib := mk(), mk()
		done, err := unmarshal(m, byPlan)
		if !done || err != nil {
			t.Fatalf("%T: plan %v %v", byPlan, done, err)
		}
		if err := m.Unmarshal(byLib); err != nil {
			t.Fatalf("%T: library %v", byLib, err)
		}
		if !reflect.DeepEqual(byPlan, byLib) {
			t.Fatalf("%X into %T:\nplan    %+v\nlibrary %+v", body, byPlan, byPlan, byLib)
		}
		mp, ml := c.NewMessage(), c.NewMessage()
		done, errP := marshal(mp, byPlan)
		errL := ml.Marshal(byLib)
		if !done || (errP == nil) != (errL == nil) {
			t.Fatalf("%T: marshal plan %v, library %v", byPlan, errP, errL)
		}
		if errP != nil {
			continue
		}
		pp, errP := mp.Pack()
		pl, errL := ml.Pack()
		if (errP == nil) != (errL == nil) || !bytes.Equal(pp, pl) {
			t.Fatalf("%T packs through its plan as %X (%v), through the library as %X (%v)", byPlan, pp, errP, pl, errL)
		}
	}
}

// TestPlansAgreeWithTheLibrary: for every golden message and every typed
// message, the cached plans read and write exactly what moov-io's own
// Unmarshal and Marshal do.
func TestPlansAgreeWithTheLibrary(t *testing.T) {
	c := NewCodec()
	for _, body := range goldenBodies(t) {
		planAgrees(t, c, body)
	}
	// keepzero: an empty TID is present (and fails to pack) both ways.
	var lib, plan = c.NewMessage(), c.NewMessage()
	if err := lib.Marshal(&Request{MTI: "0200"}); err != nil {
		t.Fatal(err)
	}
	if _, err := marshal(plan, &Request{MTI: "0200"}); err != nil {
		t.Fatal(err)
	}
	if _, errL := lib.Pack(); errL == nil {
		t.Fatal("library packed an empty TID")
	}
	if _, errP := plan.Pack(); errP == nil {
		t.Fatal("plan packed an empty TID")
	}
}

// FuzzPlans: for any body that unpacks, the plans agree with the library.
func FuzzPlans(f *testing.F) {
	for _, b := range goldenBodies(f) {
		f.Add(b)
	}
	c := NewCodec()
	f.Fuzz(func(t *testing.T, body []byte) { planAgrees(t, c, body) })
}
