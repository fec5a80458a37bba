package cardsim

import (
	"bytes"
	"context"
	"testing"

	"kpos/hal"
)

// FuzzTransmit feeds the card arbitrary commands after a valid opening (so
// that GPO, GENERATE AC and scripts are reachable) and checks that it never
// panics and always answers with a status word.
func FuzzTransmit(f *testing.F) {
	for _, s := range []string{
		"80A800000B83099F7A0100000000012300",
		"80AE80001D" + "000000012345000000000000015600000000000156261122001122334422420300" + "00",
		"00B2010C00", "0088000004DEADBEEF00", "0020008008241234FFFFFFFFFF",
		"841E00000401020304", "04DA9F580501020304", "008200000A0000000000000000303000",
		"00A404000E315041592E5359532E4444463031", "00A4040205A000000333", "80CA9F1700",
	} {
		f.Add(mustHex(s), false)
		f.Add(mustHex(s), true)
	}
	p := load(f, "unionpay-debit")
	f.Fuzz(func(t *testing.T, cmd []byte, contactless bool) {
		iface := hal.Contact
		if contactless {
			iface = hal.Contactless
		}
		c, err := New(p, iface)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		opening := []string{"00A4040008A00000033301010100", "80A800000B83099F7A010000000001230156"}
		if contactless {
			opening = opening[:1]
		}
		for _, s := range opening {
			if _, err := c.Transmit(ctx, mustHex(s)); err != nil {
				t.Fatal(err)
			}
		}
		for _, part := range bytes.SplitAfter(cmd, []byte{0xFF, 0xFF}) {
			resp, err := c.Transmit(ctx, part)
			if err != nil || len(resp) < 2 {
				t.Fatalf("%X: %X %v", part, resp, err)
			}
		}
	})
}

// FuzzReadFrame feeds the vpcd framing reader arbitrary bytes.
func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{"000104", "0003 00A404", "0000", "0005 0102", "00", ""} {
		f.Add(mustHex(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			m, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(m) == 0 || len(m) > 0xFFFF {
				t.Fatalf("frame of %d bytes", len(m))
			}
		}
	})
}

// FuzzServe feeds the vpcd server arbitrary reader traffic.
func FuzzServe(f *testing.F) {
	f.Add(mustHex("000101 000104 0014 00A404000E315041592E5359532E4444463031 0005 00C0000000"))
	f.Add(mustHex("000109"))
	p := load(f, "unionpay-debit")
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := New(p, hal.Contact)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.Serve(context.Background(), &pipeConn{r: bytes.NewReader(b)})
	})
}
