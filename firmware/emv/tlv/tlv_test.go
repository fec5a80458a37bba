package tlv

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		check   func(t *testing.T, objs []TLV)
	}{
		{name: "primitive", in: "5A 08 6222021234567890", check: func(t *testing.T, objs []TLV) {
			if len(objs) != 1 || objs[0].Tag != 0x5A || len(objs[0].Value) != 8 {
				t.Fatalf("got %+v", objs)
			}
		}},
		{name: "two-byte tag and nested FCI", in: "6F 1A 84 0E 315041592E5359532E4444463031 A5 08 88 01 01 5F2D 02 7A68", check: func(t *testing.T, objs []TLV) {
			sfi, ok := Find(objs, 0x88)
			if !ok || !bytes.Equal(sfi.Value, []byte{1}) {
				t.Fatalf("88 not found: %+v", objs)
			}
			lang, ok := Find(objs, 0x5F2D)
			if !ok || string(lang.Value) != "zh" {
				t.Fatalf("5F2D: %+v", lang)
			}
		}},
		{name: "81 length", in: "90 81 80 " + strings.Repeat("AB", 0x80), check: func(t *testing.T, objs []TLV) {
			if len(objs[0].Value) != 0x80 {
				t.Fatalf("len %d", len(objs[0].Value))
			}
		}},
		{name: "82 length", in: "90 82 0100 " + strings.Repeat("AB", 0x100), check: func(t *testing.T, objs []TLV) {
			if len(objs[0].Value) != 0x100 {
				t.Fatalf("len %d", len(objs[0].Value))
			}
		}},
		{name: "zero padding skipped", in: "00 9F36 02 0001 00 00", check: func(t *testing.T, objs []TLV) {
			if len(objs) != 1 || objs[0].Tag != 0x9F36 {
				t.Fatalf("got %+v", objs)
			}
		}},
		{name: "three-byte tag", in: "DF8101 01 07", check: func(t *testing.T, objs []TLV) {
			if objs[0].Tag != 0xDF8101 {
				t.Fatalf("tag %v", objs[0].Tag)
			}
		}},
		{name: "empty value", in: "92 00", check: func(t *testing.T, objs []TLV) {
			if len(objs[0].Value) != 0 {
				t.Fatal("value not empty")
			}
		}},
		{name: "value truncated", in: "5A 08 622202", wantErr: ErrTruncated},
		{name: "length missing", in: "5A", wantErr: ErrTruncated},
		{name: "tag truncated", in: "9F", wantErr: ErrTruncated},
		{name: "long length truncated", in: "90 82 01", wantErr: ErrTruncated},
		{name: "indefinite length", in: "70 80 5A 01 00 00 00", wantErr: ErrMalformed},
		{name: "four length bytes", in: "90 84 00000001 AB", wantErr: ErrTooLong},
		{name: "three length bytes", in: "90 83 000001 AB", wantErr: ErrTooLong},
		{name: "four-byte tag", in: "DF818181 01 00", wantErr: ErrMalformed},
		{name: "non-minimal tag", in: "1F00 01 00", wantErr: ErrMalformed},
		{name: "child overruns template", in: "70 03 5A 05 01", wantErr: ErrTruncated},
		{name: "nesting too deep", in: strings.Repeat("70", 0) + deep(MaxDepth+1), wantErr: ErrTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Parse(h(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, objs)
		})
	}
}

// deep returns hex for n nested 70 templates around a one-byte 5F34.
func deep(n int) string {
	inner := h("5F340101")
	for i := 0; i < n; i++ {
		inner = Encode(0x70, inner)
	}
	return hex.EncodeToString(inner)
}

func TestDepthLimitAllowsMaxMinusOne(t *testing.T) {
	if _, err := Parse(h(deep(MaxDepth - 1))); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth-1, err)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	for _, l := range []int{0, 1, 0x7F, 0x80, 0xFF, 0x100, 0x1234} {
		v := bytes.Repeat([]byte{0x5A}, l)
		for _, tag := range []Tag{0x5A, 0x9F26, 0xDF8101, 0x70} {
			enc := Encode(tag, v)
			if tag.Constructed() {
				// A constructed value must itself be TLV; use a valid one.
				enc = Encode(tag, Encode(0x5A, v))
			}
			obj, err := ParseOne(enc)
			if err != nil {
				t.Fatalf("tag %v len %d: %v", tag, l, err)
			}
			if obj.Tag != tag {
				t.Fatalf("tag %v came back as %v", tag, obj.Tag)
			}
		}
	}
}

func TestDOL(t *testing.T) {
	dol, err := ParseDOL(h("9F66 04 9F02 06 9F03 06 9F1A 02 95 05 5F2A 02 9A 03 9C 01 9F37 04 5A 0A 70 02"))
	if err != nil {
		t.Fatal(err)
	}
	if dol.Len() != 4+6+6+2+5+2+3+1+4+10+2 {
		t.Fatalf("len %d", dol.Len())
	}
	vals := map[Tag][]byte{
		0x9F66: h("36000080"),
		0x9F02: h("000000001234"),
		0x9F1A: h("0156"),
		0x9F37: h("1122334455"), // one too long: binary truncates on the right
		0x5A:   h("6222021234567890128F"),
		0x9A:   h("0201"), // numeric too short: leading zeros
		0x70:   h("5A00"), // constructed: zeros
	}
	got := dol.Build(func(t Tag) ([]byte, bool) { v, ok := vals[t]; return v, ok })
	want := h("36000080 000000001234 000000000000 0156 0000000000 0000 000201 00 11223344 6222021234567890128F 0000")
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %X\nwant %X", got, want)
	}
	if !dol.Has(0x9F37) || dol.Has(0x9F36) {
		t.Fatal("Has is wrong")
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		tag  Tag
		in   string
		l    int
		want string
	}{
		{0x9F02, "0000001234", 6, "000000001234"},
		{0x9F02, "00000000001234", 6, "000000001234"},
		{0x5A, "62220212", 6, "62220212FFFF"},
		{0x9F1E, "4B504F53", 6, "4B504F530000"},
		{0x9F37, "11223344", 2, "1122"},
	}
	for _, tc := range tests {
		if got := Fit(tc.tag, h(tc.in), tc.l); !bytes.Equal(got, h(tc.want)) {
			t.Errorf("Fit(%v, %s, %d) = %X, want %s", tc.tag, tc.in, tc.l, got, tc.want)
		}
	}
}

func TestParseDOLErrors(t *testing.T) {
	for _, in := range []string{"9F", "9F37", "9F37 80", strings.Repeat("95 05", MaxDOLEntries+1)} {
		if _, err := ParseDOL(h(in)); err == nil {
			t.Errorf("ParseDOL(%s) accepted", in)
		}
	}
}

func TestDumpMasksSensitive(t *testing.T) {
	in := h("70 2A 57 0C 6222021234567890128D3012 5A 0A 6222021234567890128F 5F20 04 5A48414E 9F6B 02 1234 5F34 01 01")
	d := DumpBytes(in)
	for _, secret := range []string{"622202", "5A48414E", "1234"} {
		if strings.Contains(d, secret) {
			t.Errorf("dump shows %s:\n%s", secret, d)
		}
	}
	if !strings.Contains(d, "PAN Sequence Number: 01") {
		t.Errorf("dump lost non-sensitive data:\n%s", d)
	}
	if s := DumpBytes(h("5A 0A 62220212")); strings.Contains(s, "622202") {
		t.Errorf("error dump shows data: %s", s)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(h("6F 1A 84 0E 315041592E5359532E4444463031 A5 08 88 01 01 5F2D 02 7A68"))
	f.Add(h("70 81 03 5A 01 00"))
	f.Add(h("DF8101 82 0001 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		objs, err := Parse(b)
		if err != nil {
			return
		}
		// Re-encoding what parsed must parse to the same structure.
		var enc []byte
		for _, o := range objs {
			enc = Append(enc, o.Tag, o.Value)
		}
		again, err := Parse(enc)
		if err != nil || len(again) != len(objs) {
			t.Fatalf("re-encoded data did not parse: %v", err)
		}
		_ = Dump(objs)
	})
}

func FuzzParseDOL(f *testing.F) {
	f.Add(h("9F66 04 9F02 06 9F37 04"))
	f.Add(h("9F"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dol, err := ParseDOL(b)
		if err != nil {
			return
		}
		out := dol.Build(func(t Tag) ([]byte, bool) { return []byte{1, 2, 3}, true })
		if len(out) != dol.Len() {
			t.Fatalf("built %d bytes for a DOL of %d", len(out), dol.Len())
		}
	})
}
