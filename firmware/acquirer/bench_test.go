package acquirer

import (
	"encoding/hex"
	"testing"
	"time"

	"kpos/hal"
)

// BenchmarkPackUnpackSale packs a chip sale request with field 55 (the
// published wearapay 0200's ICC data) and unpacks it again: the cost of one
// request on the terminal, without MAC.
func BenchmarkPackUnpackSale(b *testing.B) {
	icc, _ := hex.DecodeString("9F2608DEAE676D1C4734119F2701809F101307020103A0A806010A01000000000098F01F529F3704AA0FBE659F360203499505008004E0009A031611159C01009F02060000000055885F2A02015682027C009F1A0201569F03060000000000009F3303E0E1C89F34034203009F3501229F1E0831323334353637388408A0000003330101019F090200309F410400000003")
	c := NewCodec()
	id := Identity{TID: "12345678", MID: "898320154110001"}
	req := Request{Kind: KindSale, Trace: 23, Batch: 1, Amount: 5588, Currency: 156, PAN: hal.MustPAN("6222021234567890128"),
		Expiry: "3012", PANSeq: "01", Entry: EntryChip, PIN: &hal.PINBlock{Block: make([]byte, 8)}, ICCData: icc,
		Time: time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)}
	b.ReportAllocs()
	var size int
	for b.Loop() {
		m, err := BuildRequest(c, req, id, "")
		if err != nil {
			b.Fatal(err)
		}
		body, err := c.Pack(m, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Unpack(body); err != nil {
			b.Fatal(err)
		}
		size = len(body)
	}
	b.ReportMetric(float64(size), "bytes/msg")
}
