package menu

import (
	"slices"
	"testing"

	"kpos/firmware/txkind"
)

// The menus are the table of kinds' entries and the others, numbered as
// merchants and scripts know them: a kind added takes a new place and never
// moves one.
func TestMenusAreNumberedAsBefore(t *testing.T) {
	for _, c := range []struct {
		name string
		got  []item
		want []string
	}{
		{"main", entries(txkind.MainMenu, mainOthers), []string{
			"消费 Card sale",
			"扫码收款 QR sale: scan the customer's code",
			"二维码收款 QR collect: show my code",
			"现金 Cash sale",
			"设置 Settings",
			"撤销 Void",
			"退货 Refund",
			"余额/预授权 Balance & pre-auth",
			"结算/重打印 Settlement & reprint",
		}},
		{"pre-auth", entries(txkind.PreAuthMenu, nil), []string{
			"余额查询 Balance inquiry",
			"预授权 Pre-authorization",
			"预授权完成 Completion",
			"预授权撤销 Pre-authorization void",
			"预授权完成撤销 Completion void",
		}},
	} {
		var labels []string
		for _, it := range c.got {
			labels = append(labels, it.label)
		}
		if len(labels) < len(c.want) || !slices.Equal(labels[:len(c.want)], c.want) {
			t.Errorf("%s menu:\n got %q\nwant %q first", c.name, labels, c.want)
		}
	}
}

// Every entry of a menu is something to do: a kind or other work, and the
// places of the kinds do not collide with the others.
func TestEveryEntryDoesSomething(t *testing.T) {
	for _, k := range txkind.InMenu(txkind.MainMenu) {
		if _, taken := mainOthers[k.Menu.At]; taken {
			t.Errorf("%s takes place %d of the main menu", k.Title, k.Menu.At)
		}
	}
	for _, it := range append(entries(txkind.MainMenu, mainOthers), settleEntries...) {
		if (it.kind == nil) == (it.do == nil) {
			t.Errorf("%q: a kind %v, work %v", it.label, it.kind != nil, it.do != nil)
		}
	}
}
