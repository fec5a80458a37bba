package qr

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
)

func hexs(b []byte) string { return hex.EncodeToString(b) }

// tl builds one BER-TLV object in hex (short length form).
func tl(tag, valueHex string) string {
	return tag + fmt.Sprintf("%02X", len(valueHex)/2) + valueHex
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCPM(t *testing.T) {
	pfi := tl("85", hex.EncodeToString([]byte("CPV01")))
	aid := tl("4F", "A0000003330101")
	tests := []struct {
		name    string
		hex     string
		account string
		err     error
	}{
		{"track 2 equivalent", pfi + tl("61", aid+tl("57", "6212345678901234567D3012201000000F")), "621234*********4567", nil},
		{"PAN in application", pfi + tl("61", aid+tl("5A", "6212345678901234567F")), "621234*********4567", nil},
		{"token last four", pfi + tl("61", aid+tl("9F25", "4567")+tl("50", hex.EncodeToString([]byte("UP")))), "****4567", nil},
		{"no app template", pfi + tl("62", tl("5A", "6212345678901234567F")), "", ErrMalformed},
		{"wrong format indicator", tl("85", hex.EncodeToString([]byte("CPV02"))) + tl("61", aid), "", ErrMalformed},
		{"indicator not first", tl("61", aid) + pfi, "", ErrMalformed},
		{"indicator twice", pfi + tl("61", aid) + pfi, "", ErrMalformed},
		{"truncated", (pfi + tl("61", aid))[:30], "", ErrMalformed},
		{"bad PAN", pfi + tl("61", aid+tl("5A", "AB")), "", ErrMalformed},
		{"short AID", pfi + tl("61", tl("4F", "A000")), "", ErrMalformed},
		{"track 2 without separator", pfi + tl("61", aid+tl("57", "62123456789012345670")), "", ErrMalformed},
		{"length form", pfi + "6184", "", ErrMalformed},
		{"zero padding between objects", "00" + pfi + "0000" + tl("61", aid+"00"+tl("5A", "6212345678901234567F")) + "00", "621234*********4567", nil},
		{"four templates deep", pfi + tl("61", aid+tl("70", tl("71", tl("72", tl("5A", "6212345678901234567F"))))), "", nil},
		{"five templates deep", pfi + tl("61", aid+tl("70", tl("71", tl("72", tl("73", ""))))), "", ErrMalformed},
		{"too deep", pfi + tl("61", tl("61", tl("61", tl("61", tl("61", tl("61", aid)))))), "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCPM(mustHex(t, tt.hex))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && c.Account() != tt.account {
				t.Errorf("Account() = %q, want %q", c.Account(), tt.account)
			}
		})
	}
}

func TestParseCPMTextRejectsNonBase64(t *testing.T) {
	if _, err := ParseCPMText("not base64!"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v", err)
	}
	raw := mustHex(t, tl("85", hex.EncodeToString([]byte("CPV01")))+tl("61", tl("4F", "A0000003330101")))
	if _, err := ParseCPMText(base64.RawStdEncoding.EncodeToString(raw)); err != nil {
		t.Fatalf("unpadded base64: %v", err)
	}
}
