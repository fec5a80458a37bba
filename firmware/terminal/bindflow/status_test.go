package bindflow

import (
	"errors"
	"fmt"
	"testing"

	"kpos/firmware/acquirer"
)

func TestHostAnswersThatRefuseTheTerminal(t *testing.T) {
	cases := []struct {
		code string
		want bool
	}{
		{"58", true}, {"97", true}, {"K2", true}, {"K3", true},
		{"00", false}, {"05", false}, {"51", false}, {"A0", false},
	}
	for _, c := range cases {
		if got := RefusesTerminal(c.code); got != c.want {
			t.Errorf("code %s: %t, want %t", c.code, got, c.want)
		}
		err := fmt.Errorf("sign-on: %w", &acquirer.CodeError{Op: "sign-on", Code: c.code})
		if got := Refused(err); got != c.want {
			t.Errorf("error with code %s: %t, want %t", c.code, got, c.want)
		}
	}
	if Refused(errors.New("timeout")) {
		t.Error("an error without a host answer refuses the terminal")
	}
}
