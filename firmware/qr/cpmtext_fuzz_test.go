package qr

import (
	"encoding/base64"
	"testing"
)

// FuzzParseCPMText: the consumer's payment code is scanned text. No text
// may panic; a code that parses starts with the payload format indicator.
func FuzzParseCPMText(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString([]byte("\x85\x05CPV01\x61\x0b\x4f\x08\xa0\x00\x00\x03\x33\x01\x01\x02")))
	f.Add("hQVDUFYwMQ==")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, text string) {
		if _, err := ParseCPMText(text); err != nil {
			return
		}
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			raw, err = base64.RawStdEncoding.DecodeString(text)
		}
		if err != nil || len(raw) < 2 || raw[0] != 0x85 {
			t.Fatalf("accepted %q", text)
		}
	})
}
