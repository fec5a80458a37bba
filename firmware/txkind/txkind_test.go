package txkind

import (
	"slices"
	"testing"
)

// The table is consistent: a menu place holds one kind; kinds that share a
// journal name agree on how the books and the rule book count them; a kind
// sent to the host has its message, and one host name means one message.
func TestTableIsConsistent(t *testing.T) {
	places := map[[2]int]string{}
	byName := map[string]*Kind{}
	byHost := map[string]Wire{}
	for _, k := range All() {
		if k.Menu.Menu != NoMenu {
			p := [2]int{int(k.Menu.Menu), k.Menu.At}
			if other, ok := places[p]; ok {
				t.Errorf("%s and %s share menu place %v", k.Title, other, p)
			}
			places[p] = k.Title
			if k.Title == "" || k.Menu.Label == "" {
				t.Errorf("menu kind %q without a title or label", k.Menu.Label)
			}
		}
		if k.Name != "" {
			if first, ok := byName[k.Name]; ok && (first.Books != k.Books || first.Rule != k.Rule) {
				t.Errorf("%s: books %d rule %s, but %s says books %d rule %s", k.Title, k.Books, k.Rule, first.Title, first.Books, first.Rule)
			} else if !ok {
				byName[k.Name] = k
			}
		}
		if (k.Host == "") != (k.Wire == Wire{}) {
			t.Errorf("%q: host name %q, wire %+v", k.Title, k.Host, k.Wire)
		}
		if k.Host != "" && k.Reversal == Local {
			t.Errorf("%s goes to the host but is marked local", k.Host)
		}
		if w, ok := byHost[k.Host]; ok && w != k.Wire {
			t.Errorf("host kind %q has two messages", k.Host)
		}
		byHost[k.Host] = k.Wire
	}
}

// A record is found as the kind its name and method say.
func TestJournaled(t *testing.T) {
	for _, c := range []struct {
		name, method string
		want         *Kind
	}{
		{"sale", "chip", Sale}, {"sale", "stripe", Sale}, {"sale", "qr", QRSale}, {"sale", "cash", Cash},
		{"cash", "cash", CashRecord}, {"void", "qr", Void}, {"refund", "contactless", Refund},
		{Completion.Name, "chip", Completion}, {CompletionVoid.Name, "chip", CompletionVoid}, {"nonsense", "chip", nil},
	} {
		if got := Journaled(c.name, c.method); got != c.want {
			t.Errorf("%s/%s: %v, want %v", c.name, c.method, got, c.want)
		}
	}
}

// The host summary lists the host's names in the order declared, each once.
func TestHostNames(t *testing.T) {
	want := []string{"sale", "void", "refund", "QR sale", "balance", "pre-authorization",
		"pre-authorization completion", "pre-authorization void", "pre-authorization completion void",
		"QR result query", "offline sale advice"}
	if got := HostNames(); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
