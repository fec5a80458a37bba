package command

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"   ", nil, false},
		{"status", []string{"status"}, false},
		{"  param   set  host.port 5000 ", []string{"param", "set", "host.port", "5000"}, false},
		{`modem at "AT+CSQ"`, []string{"modem", "at", "AT+CSQ"}, false},
		{`param set merchant.name "KPOS Test Shop"`, []string{"param", "set", "merchant.name", "KPOS Test Shop"}, false},
		{`echo 'a "b" c'`, []string{"echo", `a "b" c`}, false},
		{`x "say \"hi\" \\ \n"`, []string{"x", `say "hi" \ \n`}, false},
		{`a\ b c`, []string{"a b", "c"}, false},
		{`ab"c d"e`, []string{"abc de"}, false},
		{`'' ""`, []string{"", ""}, false},
		{"status # comment", []string{"status"}, false},
		{"a#b", []string{"a#b"}, false},
		{"tab\tsep", []string{"tab", "sep"}, false},
		{`"unterminated`, nil, true},
		{`'unterminated`, nil, true},
		{`trailing\`, nil, true},
		{`"ends with backslash\"`, nil, true},
		{"测试 商户", []string{"测试", "商户"}, false},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in)
		if tt.err {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("%q: err %v, want ErrSyntax", tt.in, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %q %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"status -json", `modem at "AT+CPIN?"`, `a 'b c' "d \" e"`, `x\ y#z # c`, `"`, `'`, `\`, "测试"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words, err := ParseLine(line)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error without ErrSyntax: %v", err)
			}
			return
		}
		// Quoting every word and parsing again gives the same words.
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = Quote(w)
		}
		again, err := ParseLine(strings.Join(quoted, " "))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", quoted, err)
		}
		if len(words) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(again, words) {
			t.Fatalf("round trip: %q -> %q -> %q", line, words, again)
		}
	})
}
