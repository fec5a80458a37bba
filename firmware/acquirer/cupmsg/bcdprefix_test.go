package cupmsg

import (
	"bytes"
	"testing"

	"github.com/moov-io/iso8583/prefix"
)

// TestBCDLengthMatchesMoov proves the dialect's own length prefix means
// exactly what moov-io's BCD.LL and BCD.LLL mean: the same bytes for every
// length, and the same length (or a refusal) for every possible prefix.
func TestBCDLengthMatchesMoov(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ours, moov prefix.Prefixer
		max        int
	}{
		{"LL", bcdLL, prefix.BCD.LL, 99},
		{"LLL", bcdLLL, prefix.BCD.LLL, 999},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, want := tc.ours.Inspect(), tc.moov.Inspect(); got != want {
				t.Errorf("Inspect = %q, want %q", got, want)
			}
			for _, max := range []int{tc.max, tc.max / 2} {
				for n := -1; n <= tc.max+2; n++ {
					got, err1 := tc.ours.EncodeLength(max, n)
					want, err2 := tc.moov.EncodeLength(max, n)
					if (err1 == nil) != (err2 == nil) || !bytes.Equal(got, want) {
						t.Fatalf("EncodeLength(%d, %d) = % X, %v; moov-io % X, %v", max, n, got, err1, want, err2)
					}
				}
			}
			size := 1
			if tc.max > 99 {
				size = 2
			}
			for v := 0; v < 1<<(8*size); v++ {
				data := []byte{byte(v), 0xAA}
				if size == 2 {
					data = []byte{byte(v >> 8), byte(v), 0xAA}
				}
				for _, max := range []int{tc.max, 37} {
					n1, r1, err1 := tc.ours.DecodeLength(max, data)
					n2, r2, err2 := tc.moov.DecodeLength(max, data)
					if (err1 == nil) != (err2 == nil) || n1 != n2 || r1 != r2 {
						t.Fatalf("DecodeLength(%d, % X) = %d, %d, %v; moov-io %d, %d, %v", max, data, n1, r1, err1, n2, r2, err2)
					}
				}
			}
			if _, _, err := tc.ours.DecodeLength(tc.max, nil); err == nil {
				t.Error("DecodeLength of no data succeeded")
			}
		})
	}
}
