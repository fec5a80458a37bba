package main

import (
	"reflect"
	"testing"
)

func TestParseHarness(t *testing.T) {
	out := []byte("0 1500000 3632\n1 250000 -\n2 3000000 61,6263\n")
	got, err := parseHarness(out, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []harnessLine{{ms: 1.5, texts: []string{"62"}}, {ms: 0.25}, {ms: 3, texts: []string{"a", "bc"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"0 1 zz\n", "1 5 -\n", "0 -5 -\n", "0 5\n", "0 5 - x\n"} {
		if _, err := parseHarness([]byte(bad), 1); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := parseHarness(out, 4); err == nil {
		t.Error("a missing frame went unnoticed")
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

// FuzzParseHarness: the parser of the harnesses' output takes any bytes
// without panicking.
func FuzzParseHarness(f *testing.F) {
	f.Add([]byte("0 1 3632\n"))
	f.Add([]byte("0 1 -\n1 2 61,62\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseHarness(b, 2)
	})
}
