package restrict

import (
	"fmt"
	"testing"

	"kpos/firmware/emv/status"
)

func TestDate(t *testing.T) {
	cases := []struct {
		in   []byte
		want int
		ok   bool
	}{
		{[]byte{0x26, 0x12, 0x03}, 20261203, true},
		{[]byte{0x49, 0x12, 0x31}, 20491231, true},
		{[]byte{0x50, 0x01, 0x01}, 19500101, true},
		{[]byte{0x26, 0x1A, 0x03}, 0, false},
		{[]byte{0x26, 0x12}, 0, false},
	}
	for _, c := range cases {
		if got, ok := Date(c.in); got != c.want || ok != c.ok {
			t.Errorf("Date(%X) = %d, %t", c.in, got, ok)
		}
	}
}

func TestCheck(t *testing.T) {
	cny := []byte{0x01, 0x56}
	term := Terminal{Versions: [][2]byte{{0x00, 0x30}}, Country: cny, Today: []byte{0x26, 0x12, 0x03}}
	sale := Txn{Goods: true}
	good := Card{Version: []byte{0x00, 0x30}, AUC: []byte{0xFF, 0x00}, IssuerCountry: cny,
		Effective: []byte{0x20, 0x01, 0x01}, Expiry: []byte{0x30, 0x12, 0x31}}
	with := func(f func(*Card)) Card { c := good; f(&c); return c }
	cases := []struct {
		name string
		card Card
		term Terminal
		txn  Txn
		want []status.Bit
	}{
		{"all well", good, term, sale, nil},
		{"nothing sent", Card{}, term, sale, nil},
		{"other version", with(func(c *Card) { c.Version = []byte{0x00, 0x20} }), term, sale, []status.Bit{status.TVRDifferentApplicationVersions}},
		{"empty version", with(func(c *Card) { c.Version = []byte{} }), term, sale, []status.Bit{status.TVRDifferentApplicationVersions}},
		{"not yet effective", with(func(c *Card) { c.Effective = []byte{0x27, 0x01, 0x01} }), term, sale, []status.Bit{status.TVRApplicationNotYetEffective}},
		{"expired", with(func(c *Card) { c.Expiry = []byte{0x26, 0x12, 0x02} }), term, sale, []status.Bit{status.TVRExpiredApplication}},
		{"not at an ATM", with(func(c *Card) { c.AUC = []byte{0xFD, 0x00} }), Terminal{Versions: term.Versions, Country: cny, Today: term.Today, ATM: true}, Txn{Cash: true}, []status.Bit{status.TVRServiceNotAllowed}},
		{"domestic goods refused", with(func(c *Card) { c.AUC = []byte{0xD7, 0x00} }), term, sale, []status.Bit{status.TVRServiceNotAllowed}},
		{"international goods allowed", with(func(c *Card) { c.AUC = []byte{0xD7, 0x00}; c.IssuerCountry = []byte{0x08, 0x40} }), term, sale, nil},
		{"cashback refused", good, term, Txn{Goods: true, Cashback: true}, []status.Bit{status.TVRServiceNotAllowed}},
		{"domestic cash refused", with(func(c *Card) { c.AUC = []byte{0x7F, 0x00} }), term, Txn{Cash: true}, []status.Bit{status.TVRServiceNotAllowed}},
	}
	for _, c := range cases {
		if got := Check(c.card, c.term, c.txn); fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
