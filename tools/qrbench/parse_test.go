package main

import (
	"reflect"
	"testing"
)

func TestParseReferenceOutput(t *testing.T) {
	zbar := []byte(`<barcodes xmlns='http://zbar.sourceforge.net/2008/barcode'>
<source href='/tmp/x/clean-000.pgm'>
<index num='0'>
<symbol type='QR-Code' quality='1' orientation='UP'><data><![CDATA[0002010102]]></data></symbol>
</index>
</source>
<source href='/tmp/x/blur-001.pgm'>
<index num='0'>
</index>
</source>
</barcodes>`)
	if got, want := parseZbarXML(zbar), map[string][]string{"/tmp/x/clean-000.pgm": {"0002010102"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("zbar: %v", got)
	}
	zx := []byte("/tmp/x/clean-000.pgm QRCode \"6249006009185572497\"\n/tmp/x/blur 1.pgm QRCode \"a b\"\n/tmp/x/n.pgm: No barcode found\n")
	want := map[string][]string{"/tmp/x/clean-000.pgm": {"6249006009185572497"}, "/tmp/x/blur 1.pgm": {"a b"}}
	if got := parseZXing(zx); !reflect.DeepEqual(got, want) {
		t.Errorf("zxing: %v", got)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	tests := []struct{ p, want float64 }{{0, 1}, {50, 3}, {95, 5}, {100, 5}}
	for _, tc := range tests {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("p%.0f = %v, want %v", tc.p, got, tc.want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("empty")
	}
}

// FuzzParseReferenceOutput: the parsers of the reference tools' output take
// any bytes without panicking.
func FuzzParseReferenceOutput(f *testing.F) {
	f.Add([]byte("<source href='a'><data><![CDATA[x]]></data>"))
	f.Add([]byte("f QRCode \"x\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		parseZbarXML(b)
		parseZXing(b)
	})
}
