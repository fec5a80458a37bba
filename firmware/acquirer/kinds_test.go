package acquirer

import (
	"testing"
	"time"

	"kpos/hal"
)

// TestCompletionVoidOnTheWire: 预授权完成撤销 is a 0200 with processing code
// 200000, condition 06, message type 21, and names the completion in 37,
// 38 and 61; the host side reads it back as the same kind.
func TestCompletionVoidOnTheWire(t *testing.T) {
	c := NewCodec()
	req := Request{Kind: KindCompletionVoid, Trace: 8, Batch: 1, Amount: 9000, Currency: 156,
		PAN: hal.MustPAN("6222021234567890128"), Expiry: "3012", Entry: EntryManual, OrigTrace: 6,
		OrigRRN: "120300000007", OrigAuth: "123456", OrigDate: "1203", Time: time.Date(2026, 12, 3, 10, 0, 0, 0, time.Local)}
	built, err := BuildRequest(c, req, Identity{TID: "12345678", MID: "898320154110001"}, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Pack(built, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Unpack(raw)
	if err != nil {
		t.Fatal(err)
	}
	mti, _ := m.GetMTI()
	f60, err := ParseField60(FieldString(m, 60))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"mti": mti, "3": FieldString(m, 3), "25": FieldString(m, 25), "60.1": f60.MsgType,
		"37": FieldString(m, 37), "38": FieldString(m, 38), "61": FieldString(m, 61)}
	want := map[string]string{"mti": "0200", "3": "200000", "25": "06", "60.1": "21", "37": "120300000007", "38": "123456",
		"61": "0000010000061203"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	back, _, err := ParseRequest(m)
	if err != nil || back.Kind != KindCompletionVoid || back.OrigTrace != 6 || back.Amount != 9000 {
		t.Fatalf("parsed back %+v %v", back, err)
	}
	if KindCompletionVoid.String() != "pre-authorization completion void" {
		t.Fatal(KindCompletionVoid.String())
	}
}
