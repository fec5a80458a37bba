package risk

import (
	"fmt"
	"testing"

	"kpos/firmware/emv/emvconfig"
	"kpos/firmware/emv/genac"
	"kpos/firmware/emv/status"
)

func TestSelectionPercent(t *testing.T) {
	aid := &emvconfig.AIDConfig{RandomThreshold: 1000, RandomTarget: 20, RandomMax: 60}
	cases := []struct {
		amount, floor int64
		want          int
	}{
		{500, 5000, 20},
		{1000, 5000, 20},
		{3000, 5000, 40},
		{4999, 5000, 59},
		{3000, 1000, 20}, // floor at the threshold: no interpolation
	}
	for _, c := range cases {
		if got := SelectionPercent(aid, c.amount, c.floor); got != c.want {
			t.Errorf("amount %d floor %d: %d%%, want %d%%", c.amount, c.floor, got, c.want)
		}
	}
}

func TestVelocity(t *testing.T) {
	lower, upper, newCard := status.TVRLowerConsecutiveOfflineLimitExceeded, status.TVRUpperConsecutiveOfflineLimitExceeded, status.TVRNewCard
	cases := []struct {
		name       string
		atc, last  []byte
		lcol, ucol byte
		want       []status.Bit
	}{
		{"within limits", []byte{0, 5}, []byte{0, 3}, 2, 4, nil},
		{"over the lower", []byte{0, 6}, []byte{0, 3}, 2, 4, []status.Bit{lower}},
		{"over both", []byte{0, 9}, []byte{0, 3}, 2, 4, []status.Bit{lower, upper}},
		{"new card", []byte{0, 1}, []byte{0, 0}, 2, 4, []status.Bit{newCard}},
		{"ATC below the last online", []byte{0, 1}, []byte{0, 3}, 2, 4, []status.Bit{lower, upper}},
		{"register refused", []byte{0, 1}, nil, 2, 4, []status.Bit{lower, upper}},
	}
	for _, c := range cases {
		if got := Velocity(c.atc, c.last, c.lcol, c.ucol); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAction(t *testing.T) {
	aid := &emvconfig.AIDConfig{TACDenial: [5]byte{0x00, 0x10}, TACOnline: [5]byte{0, 0, 0, 0x80}, TACDefault: [5]byte{0, 0, 0, 0x80}}
	zero := []byte{0, 0, 0, 0, 0}
	clean := IACs{Denial: zero, Online: zero, Default: zero}
	cases := []struct {
		name              string
		tvr               [5]byte
		iac               IACs
		online, goOnline  bool
		want, wantDefault byte
	}{
		{"clean", [5]byte{}, clean, true, false, genac.TC, genac.TC},
		{"TAC denial", [5]byte{0, 0x10}, clean, true, false, genac.AAC, genac.TC},
		{"IAC denial", [5]byte{0, 0, 0x40}, IACs{Denial: []byte{0, 0, 0x40, 0, 0}, Online: zero, Default: zero}, true, false, genac.AAC, genac.TC},
		{"TAC online", [5]byte{0, 0, 0, 0x80}, clean, true, false, genac.ARQC, genac.AAC},
		{"absent IACs: any bit online", [5]byte{0, 0, 0, 0, 1}, IACs{}, true, false, genac.ARQC, genac.AAC},
		{"must go online", [5]byte{}, clean, true, true, genac.ARQC, genac.TC},
		{"offline only: default", [5]byte{0, 0, 0, 0x80}, clean, false, true, genac.AAC, genac.AAC},
		{"offline only: clean", [5]byte{}, clean, false, true, genac.TC, genac.TC},
	}
	for _, c := range cases {
		if got := Action(c.tvr, aid, c.iac, c.online, c.goOnline); got != c.want {
			t.Errorf("%s: %02X, want %02X", c.name, got, c.want)
		}
		if got := DefaultAction(c.tvr, aid, c.iac); got != c.wantDefault {
			t.Errorf("%s: default %02X, want %02X", c.name, got, c.wantDefault)
		}
	}
}
