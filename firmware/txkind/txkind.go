// Package txkind is the one table of transaction kinds: each kind the
// terminal knows (sale, void, refund, balance inquiry, pre-authorization,
// its completion and their voids, the QR sales, cash, the host's own
// messages for QR results and offline advices) is declared once, in
// kinds.go, with everything about it: the name the journal keeps it under,
// its ISO 8583 message (MTI, processing code, field 60.1 message type,
// field 25 condition code: docs/acquirer.md), its EMV transaction type,
// its titles on the screen and the slip, its menu entry, what the rule
// book (firmware/txrules) calls it, whether the binding's limits apply,
// how it counts in the books and how it is undone when its answer is lost.
//
// The journal, the acquirer, the terminal, settlement, receipts and the
// command's summaries derive their lists from this table, so adding a kind
// is one declaration here plus the terminal's handler for it.
//
// It is plain data: it must not import the packages that read it (journal,
// acquirer, terminal, receipt, settle), and knows nothing of how a message
// is packed or a record stored.
package txkind

import (
	"sort"

	"kpos/firmware/txrules"
)

// Kind is one kind of transaction. The table's values are compared by
// identity: a *Kind is the kind.
type Kind struct {
	// Name is what the journal records it under (journal.Kind); it is
	// stored on disk and must never change. Several kinds may share a
	// name (a sale by card, by QR code or in cash): Method tells them
	// apart. "" when it is never journaled under its own name.
	Name string
	// Method is the journal method (journal.Method) that tells it from
	// other kinds of the same name: "" any card, "qr", "cash".
	Method string

	// Host is how the host and its records name it (acquirer.Kind's
	// String); "" when it never goes to the host.
	Host string
	// Wire is its request on the wire; zero when it is never sent.
	Wire Wire
	// EMV is the EMV transaction type (tag 9C, EMV Book 3 Annex A5) of a
	// kind that reads the card.
	EMV byte

	Title   string // the screens' title
	Receipt Title  // the slip's title
	Menu    Entry  // where the merchant menu offers it

	Rule     txrules.Kind // what the rule book calls it
	Limited  bool         // the binding's per-sale and daily limits apply: money taken from the customer
	NoAmount bool         // it has no amount (a balance inquiry)
	Books    Books        // how it counts in the batch totals and the day's spending
	Reversal Reversal     // what is done when its answer is lost
	// Cancels: once approved it marks its original voided (a void, a
	// completion void).
	Cancels bool
	// Polls: the host may answer that the customer has yet to pay (39 =
	// 09), and is asked again until the payment ends.
	Polls bool
}

// Wire is a request on the wire (docs/acquirer.md, the message table).
type Wire struct {
	MTI     string // message type indicator
	Proc    string // field 3, processing code
	MsgType string // field 60.1, message type code
	Cond    string // field 25, point of service condition code
}

// Title is a slip's title: English as printed after the Chinese.
type Title struct {
	EN string // "PREAUTH COMPLETE"; also receipt.Receipt.Kind
	ZH string // "预授权完成"
}

// Menu is one of the merchant's menus.
type Menu int

// The menus that offer kinds.
const (
	NoMenu      Menu = iota // not offered by a menu
	MainMenu                // MENU on the idle screen
	PreAuthMenu             // 余额/预授权 Balance & pre-auth
)

// Entry is a kind's place in a menu. At is its number on the screen
// counted from 0: scripts and merchants press it, so it never moves.
type Entry struct {
	Menu     Menu
	At       int
	Label    string
	Password bool // the merchant's password is asked first
}

// Books is how a kind counts in a batch's totals and the day's spending.
type Books int

// The ways of counting.
const (
	Nothing Books = iota // an inquiry, a hold, or the void message itself
	Debit                // a sale of its method; counts toward the daily limit
	Credit               // a refund
)

// Reversal is what is done about a request whose answer was lost.
type Reversal int

// The ways.
const (
	Reverse    Reversal = iota // money may have moved: reversed (0400) before anything else
	NoReversal                 // it moves no money: it simply failed
	Repeat                     // an advice: sent again until answered
	Local                      // it never goes to the host
)

var all []*Kind

// declare adds k to the table, in declaration order.
func declare(k *Kind) *Kind {
	all = append(all, k)
	return k
}

// Booked is the kind k is in the books: the first declared of its journal
// name (a QR or cash sale is a sale); k itself when it has no name.
func (k *Kind) Booked() *Kind {
	if b := Named(k.Name); b != nil {
		return b
	}
	return k
}

// All lists every kind, in the order declared.
func All() []*Kind { return append([]*Kind(nil), all...) }

// Named is the kind journaled under name (the first declared of the
// kinds sharing it); nil when none is.
func Named(name string) *Kind {
	if name == "" {
		return nil
	}
	for _, k := range all {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// Journaled is the kind of a record of that name paid by that method: the
// kind of that name and method, else the one of that name for any method.
func Journaled(name, method string) *Kind {
	for _, k := range all {
		if k.Name == name && k.Method == method && method != "" {
			return k
		}
	}
	for _, k := range all {
		if k.Name == name && k.Method == "" {
			return k
		}
	}
	return Named(name)
}

// BooksOf is how a record of that journal name counts (Nothing for a name
// the table does not know).
func BooksOf(name string) Books {
	if k := Named(name); k != nil {
		return k.Books
	}
	return Nothing
}

// RuleOf is what the rule book calls a record of that journal name (""
// for a name the table does not know, which the rule book refuses).
func RuleOf(name string) txrules.Kind {
	if k := Named(name); k != nil {
		return k.Rule
	}
	return ""
}

// InMenu lists the kinds menu m offers, by their number on the screen.
func InMenu(m Menu) []*Kind {
	var ks []*Kind
	for _, k := range all {
		if k.Menu.Menu == m && m != NoMenu {
			ks = append(ks, k)
		}
	}
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].Menu.At < ks[j].Menu.At })
	return ks
}

// HostNames lists the names the host knows the kinds by, each once, in
// the order declared.
func HostNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, k := range all {
		if k.Host != "" && !seen[k.Host] {
			seen[k.Host] = true
			names = append(names, k.Host)
		}
	}
	return names
}
