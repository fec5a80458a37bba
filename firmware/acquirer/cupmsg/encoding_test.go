package cupmsg

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/moov-io/iso8583/encoding"
)

func TestNibbleEncoders(t *testing.T) {
	tests := []struct {
		name    string
		enc     encoding.Encoder
		in      string
		wire    string
		wantErr bool
	}{
		{"even digits", bcdLeft, "1234", "1234", false},
		{"odd digits pad after", bcdLeft, "071", "0710", false},
		{"odd right pad before", bcdRight, "001", "0001", false},
		{"even right", bcdRight, "12", "12", false},
		{"letters refused in n", bcdLeft, "12A4", "", true},
		{"track separator", trackLeft, "6222=3012", "6222D30120", false},
		{"track hex", trackLeft, "6222D30", "6222D300", false},
		{"track junk", trackLeft, "62?2", "", true},
		{"empty", bcdLeft, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.enc.Encode([]byte(tt.in))
			if tt.wantErr {
				if !errors.Is(err, errNibble) {
					t.Fatalf("err %v, want errNibble", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w, _ := hex.DecodeString(tt.wire); !bytes.Equal(got, w) {
				t.Fatalf("encoded %X, want %s", got, tt.wire)
			}
			back, n, err := tt.enc.Decode(append(got, 0xEE), len(tt.in))
			if err != nil || n != len(got) {
				t.Fatalf("decode: %v, read %d of %d", err, n, len(got))
			}
			want := bytes.ReplaceAll([]byte(tt.in), []byte("="), []byte("D"))
			if !bytes.Equal(back, want) {
				t.Fatalf("decoded %q, want %q", back, want)
			}
		})
	}
	if _, _, err := bcdLeft.Decode([]byte{0x12}, 4); !errors.Is(err, errShort) {
		t.Fatalf("short decode: %v", err)
	}
	if _, _, err := bcdLeft.Decode([]byte{0x1A}, 2); !errors.Is(err, errNibble) {
		t.Fatalf("hex nibble in n field: %v", err)
	}
}
