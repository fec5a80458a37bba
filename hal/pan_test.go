package hal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPANNeverPrintsItsDigits(t *testing.T) {
	p := MustPAN("6222021234567890128")
	forms := []string{
		p.String(), fmt.Sprint(p), fmt.Sprintf("%v %s %q %+v %#v %d %x", p, p, p, p, p, p, p),
		fmt.Sprintf("%v", struct{ P PAN }{p}), fmt.Sprintf("%+v", []PAN{p}),
	}
	raw, _ := json.Marshal(struct{ PAN PAN }{p})
	forms = append(forms, string(raw))
	for _, f := range forms {
		if strings.Contains(f, "1234567890") || strings.Contains(f, p.Digits()) {
			t.Errorf("leaks the PAN: %s", f)
		}
		if !strings.Contains(f, "622202*********0128") {
			t.Errorf("not the masked form: %s", f)
		}
	}
}

func TestParsePAN(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"6222021234567890128", true}, {"476173900101", true}, {"4761739001010119123", true},
		{"47617390010", false}, {"47617390010101191234", false}, {"4761 7390 0101 0119", false}, {"", false},
	}
	for _, c := range cases {
		_, err := ParsePAN(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParsePAN(%q) = %v", c.in, err)
		}
		if err != nil && (!errors.Is(err, ErrBadPAN) || strings.Contains(err.Error(), c.in) && c.in != "") {
			t.Errorf("error %v", err)
		}
	}
}

func TestMasking(t *testing.T) {
	cases := map[string]string{"476173900101": "476173**0101", "4761739001010119": "476173******0119"}
	for in, want := range cases {
		if got := MustPAN(in).Masked(); got != want {
			t.Errorf("%s → %s want %s", in, got, want)
		}
	}
	if (PAN{}).Masked() != "" || !(PAN{}).IsZero() {
		t.Error("zero PAN")
	}
}

func TestTrackNeverPrintsItsContents(t *testing.T) {
	tr := &Track{Track2: []byte("6222021234567890128=3012")}
	for _, f := range []string{fmt.Sprint(tr), fmt.Sprintf("%v %+v %#v", tr, tr, tr)} {
		if strings.Contains(f, "622202") {
			t.Errorf("leaks track data: %s", f)
		}
	}
}

func TestLuhnValid(t *testing.T) {
	for _, c := range []struct {
		d    string
		want bool
	}{
		{"79927398713", true}, // the ISO/IEC 7812 worked example
		{"79927398710", false},
		{"6212345678901232", true},
		{"6212345678901233", false},
		{"0", true},
		{"", false},
		{"7992739871x", false},
		{"4111 1111 1111 1111", false},
	} {
		if got := LuhnValid(c.d); got != c.want {
			t.Errorf("LuhnValid(%q) = %v", c.d, got)
		}
	}
}
